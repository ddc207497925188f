"""The cyclic garbage collector, set for a long-running gateway process.

Almost everything a turn allocates is freed by reference counting; the cyclic collector only
finds the few cycles (an exception's traceback, a finished task). With CPython's default
thresholds it runs every 700 net allocations, and every tenth run of the oldest generation
scans every object the process holds (pydantic's schemas, the catalog, the modules): in the
profile of a loaded gateway (`hamta-gateway bench --profile`) the time shows at whatever line
allocated, and one such line, a future's creation, held 4% of the samples. After start-up,
`settle` moves what start-up made out of the collector's sight (`gc.freeze`) and lets the
young generation grow larger before a collection, so cycles are still collected, in fewer and
cheaper passes.
"""

from __future__ import annotations

import gc

# Young objects allocated (net) before a collection; how many young collections before a
# middle one, and middle ones before a full one. CPython's defaults are 700, 10, 10.
THRESHOLDS = (50_000, 20, 100)


def settle() -> None:
    """Freeze what exists now (start-up's objects) and set `THRESHOLDS`."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
