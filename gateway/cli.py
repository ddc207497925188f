"""`hamta-gateway` (also `python -m gateway`): run, smsc, phone, demo, registry, bench, conformance,
admin, audit, config."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from gateway import event_loop
from gateway.admin.commands import add_commands
from gateway.errors import SettingsError, StartupFailed
from gateway.logging_setup import configure_logging
from gateway.settings import Settings, load_settings

log = logging.getLogger("gateway.cli")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"hamta-gateway: {exc}", file=sys.stderr)
        return 2
    _logging(settings, args.log_level or settings.logging.level)
    try:
        return int(args.command(settings, args) or 0)
    except SettingsError as exc:
        print(f"hamta-gateway: {exc}", file=sys.stderr)
        return 2
    except StartupFailed as exc:
        print(f"hamta-gateway: {exc}; everything opened before it was closed again", file=sys.stderr)
        return 1


def _logging(settings: Settings, level: str) -> None:
    configure_logging(level, fmt=settings.logging.format, smpp_trace=settings.logging.smpp_trace)
    logging.getLogger("transitions").setLevel(logging.WARNING)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hamta-gateway", description=__doc__)
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the gateway")
    run.add_argument("--processes", type=int, default=1,
                     help="gateway processes on this host, one core each (gateway/processes.py)")
    run.set_defaults(command=_run)
    commands.add_parser("smsc", help="run the built-in SMSC simulator").set_defaults(command=_smsc)
    phone = commands.add_parser("phone", help="be a subscriber against a simulator")
    phone.add_argument("--number", default="09361110003")
    phone.add_argument("--ussd", action="store_true", help="dial the USSD code instead of texting")
    phone.set_defaults(command=_phone)
    demo = commands.add_parser(
        "demo", help="everything locally, with the demo registry",
        description="A private redis-server (HAMTA_REDIS__URL is ignored), the SMSC simulator, a "
                    "gateway with the demo registry and a phone console, all in this process.")
    demo.add_argument("--script", type=Path, help="play this conversation and print it")
    demo.add_argument("--ussd", action="store_true", help="dial the USSD code instead of texting")
    demo.add_argument("--redis-url", metavar="URL",
                      help="use this Redis instead of a private one; refused (exit 2) when it holds "
                           "a registry or any key under redis.prefix")
    demo.add_argument("--force", action="store_true",
                      help="with --redis-url: use it even if not empty (its registry is replaced)")
    demo.set_defaults(command=_demo)
    registry = commands.add_parser("registry", help="load or show the registry")
    actions = registry.add_subparsers(required=True, metavar="ACTION")
    load = actions.add_parser("load", help="replace the registry with a fixture file")
    load.add_argument("file", type=Path)
    load.set_defaults(command=_registry_load)
    show = actions.add_parser("show", help="print one record as JSON")
    show.add_argument("kind", choices=["imei", "msisdn", "national-id"])
    show.add_argument("value")
    show.set_defaults(command=_registry_show)
    serve = actions.add_parser(
        "serve", help="serve the embedded registry over the HTTP registry API",
        description="The embedded registry on redis.url behind docs/registry-api.yaml, requiring "
                    "registry.token (HAMTA_REGISTRY__TOKEN) as a bearer token, until SIGINT/SIGTERM.")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8090)
    serve.set_defaults(command=_registry_serve)
    bench = commands.add_parser("bench", help="measure turns/s against a bare ESME")
    bench.add_argument("--dialogs", type=int, default=2000, help="restore dialogs per run")
    bench.add_argument("--subscribers", type=int, default=50, help="subscribers in a dialog at a time")
    bench.add_argument("--processes", default="1,2", help="gateway process counts to measure")
    bench.add_argument("--loads", type=int, default=1, help="load generator processes")
    bench.add_argument("--ussd", type=int, default=100, help="USSD dialogues at once (0: none)")
    bench.add_argument("--profile", type=Path, default=None,
                       help="directory for py-spy profiles of the gateway processes (raw format)")
    bench.add_argument("--verbose", action="store_true",
                       help="log the simulator's and the gateway's INFO lines (default: results only)")
    bench.add_argument("--registry", choices=["redis", "http"], default="redis",
                       help="http: the same dialogs also through `registry serve` (the HTTP "
                            "registry API), printed beside the embedded backend's (default: redis)")
    bench.set_defaults(command=_bench)
    _conformance_parser(commands)
    add_commands(commands)  # admin …, audit …, config check
    return parser


def _conformance_parser(commands: Any) -> None:
    conformance = commands.add_parser(
        "conformance", help="play scenarios through the simulator against a running gateway",
        description="Start the SMSC simulator on smpp.host:smpp.port, wait for a gateway to bind, "
                    "play the scenarios (docs/conformance.md), print a table, write JUnit XML. "
                    "Exit 0: all passed; 1: a scenario failed; 2: the scenarios file is invalid.")
    conformance.add_argument("--scenarios", type=Path, required=True, metavar="FILE")
    conformance.add_argument("--junit", type=Path, default=Path("conformance-results.xml"),
                             metavar="PATH", help="JUnit XML out (default: %(default)s)")
    conformance.add_argument("--timeout", type=_seconds, default=10.0, metavar="S",
                             help="how long an expectation waits without `within` (default: %(default)s)")
    conformance.add_argument("--bind-timeout", type=_seconds, default=30.0, metavar="S",
                             help="how long to wait for the gateway to bind (default: %(default)s)")
    conformance.add_argument("--registry", action=argparse.BooleanOptionalAction, default=True,
                             help="check expect_registry steps in the embedded registry on redis.url; "
                                  "--no-registry skips them (a gateway with another registry)")
    conformance.set_defaults(command=_conformance)


def _until_signal(main_coro: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await main_coro(stop)

    event_loop.run(runner())


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if args.processes > 1:
        from gateway.processes import supervise

        codes: list[int] = []

        async def children(stop: asyncio.Event) -> None:
            codes.append(await supervise(args.processes, settings.http.port, stop))

        _until_signal(children)
        return codes[0] if codes else 0
    from gateway.app import Gateway

    gateway = Gateway(settings)
    _until_signal(gateway.run_until)
    return 0


def _smsc(settings: Settings, args: argparse.Namespace) -> int:
    from smpp.sim import run_simulator

    password = _required_password(settings)
    run_simulator(settings.smpp.host, settings.smpp.port, settings.smpp.system_id, password,
                  ussd_dialect=settings.ussd.selected_dialect())
    return 0


def _phone(settings: Settings, args: argparse.Namespace) -> int:
    from devtools.phone import console_for, run_interactive
    from smpp.sim import SmscSimulator

    password = _required_password(settings)

    async def session() -> None:
        async with SmscSimulator(settings.smpp.host, settings.smpp.port, settings.smpp.system_id,
                                 password, ussd_dialect=settings.ussd.selected_dialect()) as sim:
            print(f"SMSC simulator on {settings.smpp.host}:{sim.port}; start `hamta-gateway run`"
                  " against it, then type.")
            await run_interactive(console_for(sim, settings, args.number, args.ussd))

    asyncio.run(session())
    return 0


def _demo(settings: Settings, args: argparse.Namespace) -> int:
    from devtools.demo import DemoRefused, demo

    if args.force and args.redis_url is None:
        print("hamta-gateway: --force needs --redis-url (the private Redis is always empty)",
              file=sys.stderr)
        return 2
    if args.log_level is None:
        _logging(settings, "WARNING")
    try:
        asyncio.run(demo(args.script, sys.stdout, ussd=args.ussd, redis_url=args.redis_url,
                         force=args.force))
    except DemoRefused as exc:
        print(f"hamta-gateway: demo refused, nothing changed: {exc}", file=sys.stderr)
        return 2
    return 0


def _seconds(text: str) -> float:
    seconds = float(text)
    if not 0 < seconds <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r}: seconds between 0 and 3600")
    return seconds


def _conformance(settings: Settings, args: argparse.Namespace) -> int:
    from devtools.conformance.command import ConformanceOptions, conformance

    if args.log_level is None:  # the table is the output; the simulator's INFO lines are noise
        _logging(settings, "WARNING")
    options = ConformanceOptions(args.scenarios, args.junit, args.timeout, args.bind_timeout,
                                 args.registry)
    return conformance(settings, _required_password(settings), options, sys.stdout)


def _registry_load(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.errors import FixtureError
    from gateway.store.fixtures import load_fixture_file

    try:
        fixture = load_fixture_file(args.file)
    except FixtureError as exc:
        print(f"hamta-gateway: registry not changed: {exc}", file=sys.stderr)
        return 1

    async def load() -> None:
        from gateway.app import embedded_registry

        async with embedded_registry(settings) as registry:
            await registry.load(fixture)

    asyncio.run(load())
    print(f"loaded {len(fixture.people)} people, {len(fixture.sims)} SIMs, "
          f"{len(fixture.devices)} devices")
    return 0


def _registry_show(settings: Settings, args: argparse.Namespace) -> int:
    from flows.normalize import parse_imei, parse_msisdn, to_ascii_digits

    def national_id(text: str) -> str:
        return to_ascii_digits(text).strip()

    parsers: dict[str, Callable[[str], str | None]] = {
        "imei": parse_imei, "msisdn": parse_msisdn, "national-id": national_id}
    parse = parsers[args.kind]
    value = parse(args.value)
    if not value:
        print(f"hamta-gateway: {args.value!r} is not a valid {args.kind}", file=sys.stderr)
        return 1

    async def show() -> dict[str, Any] | None:
        from gateway.app import embedded_registry

        async with embedded_registry(settings) as registry:
            return await registry.show(args.kind, value)

    record = asyncio.run(show())
    if record is None:
        print(f"hamta-gateway: no {args.kind} {args.value}", file=sys.stderr)
        return 1
    print(json.dumps(record, ensure_ascii=False, indent=2))
    return 0


def _bench(settings: Settings, args: argparse.Namespace) -> int:
    from devtools.bench import bench

    # The results are the output: every MO and MT logged at INFO would bury them.
    level = args.log_level or ("INFO" if args.verbose else "WARNING")
    _logging(settings, level)
    processes = tuple(int(n) for n in args.processes.split(","))
    bench(sys.stdout, dialogs=args.dialogs, concurrency=args.subscribers, processes=processes,
          loads=args.loads, ussd=args.ussd, profile=args.profile, log_level=level,
          registries=("redis", "http") if args.registry == "http" else ("redis",))
    return 0


def _registry_serve(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.registry_http.serving import serve

    _until_signal(lambda stop: serve(settings, args.host, args.port, stop))
    return 0


def _required_password(settings: Settings) -> str:
    if settings.smpp.password is None:
        raise SettingsError("setting smpp.password (HAMTA_SMPP__PASSWORD): required, no default")
    return settings.smpp.password.get_secret_value()
