"""The web console under `/console/` on the gateway's HTTP port: a live dashboard (from
`/metrics`), the demo's phone emulator, and forms for the admin API. Static assets live in
`static/` in this package (no CDN, no build step); the page is vanilla JS.

    routes.py   the page, config.json, the recent (masked) audit records; `add_console_routes`
    phone.py    the `PhoneDriver` seam the demo hands over, and the phone's JSON routes
    recent.py   audit records shown without personal data
    options.py  `console_options`: the console's options from the gateway's settings
"""

from gateway.console.options import console_options
from gateway.console.phone import DemoNumber, PhoneDriver, PhoneEvent
from gateway.console.routes import AdminAddress, ConsoleOptions, add_console_routes

__all__ = [
    "AdminAddress",
    "ConsoleOptions",
    "DemoNumber",
    "PhoneDriver",
    "PhoneEvent",
    "add_console_routes",
    "console_options",
]
