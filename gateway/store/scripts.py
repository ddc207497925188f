"""The gateway's Lua scripts: loaded from the package by name, and queued on a pipeline on a
single Redis or a Redis Cluster.

On a single node a script goes as EVALSHA, the pipeline loading it first when the server lacks
it. A Redis Cluster pipeline refuses EVALSHA (it cannot load a script on each node first), so
there the script goes whole, as EVAL: each node compiles it once and caches it by its hash, and
a node that restarted or took over from a failed one needs nothing loaded beforehand. Either
way the pipeline stays one round trip per node; all the keys of one script share a hash tag.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from typing import Any, TypeAlias

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterPipeline
from redis.commands.core import AsyncScript

# What a script's ARGV may carry (redis-py encodes each to a bulk string).
ScriptArg: TypeAlias = str | int | float | bytes


def load_script(redis: Redis, name: str) -> AsyncScript:
    """`gateway/store/lua/<name>`, registered on `redis` (sent as EVALSHA, loaded when missing)."""
    return redis.register_script(files("gateway.store").joinpath("lua", name).read_text(encoding="utf-8"))


async def queue_script(
    script: AsyncScript, pipe: Any, keys: Sequence[str], args: Sequence[ScriptArg]
) -> None:
    """Queue one call of `script` on `pipe`; its result comes with the pipeline's."""
    if isinstance(pipe, ClusterPipeline):
        source = script.script
        text = source if isinstance(source, str) else bytes(source).decode("utf-8")
        pipe.eval(text, len(keys), *keys, *args)
    else:
        await script(keys=keys, args=args, client=pipe)
