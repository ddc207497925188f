"""The gateway's Lua scripts: loaded from the package by name, and queued on a pipeline on a
single Redis or a Redis Cluster.

On a single node a script goes as EVALSHA, the pipeline loading it first when the server lacks
it. A Redis Cluster pipeline refuses EVALSHA (it cannot load a script on each node first), so
there the script goes whole, as EVAL: each node compiles it once and caches it by its hash, and
a node that restarted or took over from a failed one needs nothing loaded beforehand. Either
way the pipeline stays one round trip per node; all the keys of one script share a hash tag.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from importlib.resources import files
from typing import Any, TypeAlias, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterPipeline
from redis.exceptions import NoScriptError

# What a script's ARGV may carry (redis-py encodes each to a bulk string).
ScriptArg: TypeAlias = str | int | float | bytes


class Script:
    """A script of the package: called as EVALSHA (loaded when Redis lacks it), and queued on a
    pipeline by `queue_script`."""

    def __init__(self, redis: Redis, name: str) -> None:
        self.text = files("gateway.store").joinpath("lua", name).read_text(encoding="utf-8")
        self._redis = redis
        self._script = redis.register_script(self.text)
        self.loaded = False  # by our own SCRIPT LOAD, since the last NOSCRIPT seen

    @property
    def sha(self) -> str:
        return self._script.sha

    async def __call__(self, keys: Sequence[str], args: Sequence[ScriptArg]) -> Any:
        """EVALSHA; on NOSCRIPT (a Redis that lost its scripts) loaded and sent again, as
        redis-py's Script does (its call is a coroutine and copies of the arguments more)."""
        try:
            return await self._redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            await self._redis.script_load(self.text)
            return await self._redis.evalsha(self.sha, len(keys), *keys, *args)

    async def queue_loaded(self, pipe: Any, keys: Sequence[str], args: Sequence[ScriptArg]) -> None:
        """Queue as a bare EVALSHA, the script loaded once beforehand: no SCRIPT EXISTS per
        pipeline. A caller that finds a NoScriptError in the results (Redis lost its scripts:
        a restart) calls `forget`, and the next call loads it again."""
        if isinstance(pipe, ClusterPipeline):
            pipe.eval(self.text, len(keys), *keys, *args)
            return
        if not self.loaded:
            await self._redis.script_load(self.text)
            self.loaded = True
        pipe.evalsha(self.sha, len(keys), *keys, *args)

    def forget(self, results: Sequence[Any]) -> None:
        if any(isinstance(result, NoScriptError) for result in results):
            self.loaded = False

    def queue(self, pipe: Any, keys: Sequence[str], args: Sequence[ScriptArg]) -> Awaitable[Any]:
        """Queue with redis-py's own check (SCRIPT EXISTS before the pipeline, loading what is
        missing): for pipelines whose errors raise, sent seldom (the leases' renewals)."""
        if isinstance(pipe, ClusterPipeline):
            pipe.eval(self.text, len(keys), *keys, *args)
            return _done()
        return cast(Awaitable[Any], self._script(keys=keys, args=args, client=pipe))


async def _done() -> None:
    return None


def load_script(redis: Redis, name: str) -> Script:
    """`gateway/store/lua/<name>`, for `redis`."""
    return Script(redis, name)


async def queue_script(script: Script, pipe: Any, keys: Sequence[str], args: Sequence[ScriptArg]) -> None:
    """Queue one call of `script` on `pipe`; its result comes with the pipeline's."""
    await script.queue(pipe, keys, args)
