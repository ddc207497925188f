"""The admin API: an aiohttp app on its own port (`admin.host:admin.port`, loopback by default),
every route behind `Authorization: Bearer <admin.token>` (compared in constant time), JSON in and
out, errors as RFC 9457 problem details that also carry `error` (the message). The web console
calls it from the browser, so it answers CORS for `admin.cors_origins` (default: the HTTP
server's own origins), preflight included.

    GET    /v1/subscribers/{msisdn}                 state of one number, masked
    POST   /v1/subscribers/{msisdn}/reset-session   {ok: true}
    POST   /v1/subscribers/{msisdn}/reset-lockout   {ok: true}
    GET    /v1/audit?imei=&msisdn=&national_id=&since=&until=&limit=   {records: [...]}
    GET    /v1/dead-letters?limit=                  {dead_letters: [...]}
    POST   /v1/dead-letters/{id}/replay             {ok: true, queued_on, entry_id, number}
    DELETE /v1/dead-letters/{id}                    {ok: true}
    POST   /v1/dead-letters/purge                   body {ids: [...]} or none (all): {ok, purged}
    GET    /v1/queues                               {partitions: [...], totals: {...}}
    GET    /v1/partitions                           {partitions, members, standby, unheld}

The actions are `AdminOperations` (gateway/admin/operations.py), the same the CLI runs.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Collection
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.admin.operations import AdminError, AdminOperations
from gateway.admin.queries import (
    AuditQuery,
    parse_audit_query,
    parse_entry_id,
    parse_limit,
    parse_number,
)
from gateway.errors import FOREIGN_RETRYABLE

log = logging.getLogger("gateway.admin.http_api")

OPERATIONS: web.AppKey[AdminOperations] = web.AppKey("admin_operations")
ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
ALLOWED_HEADERS = "Authorization, Content-Type"
PROBLEM = "application/problem+json"


def problem(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status,
            "detail": message, "error": message}
    return web.Response(status=status, text=json.dumps(body), content_type=PROBLEM, headers=headers)


def build_admin_app(
    operations: AdminOperations, token: str, origins: Callable[[], Collection[str]]
) -> web.Application:
    """`origins()`: the browser origins allowed now (the HTTP port may be chosen at start)."""
    app = web.Application(middlewares=[_cors(origins), _errors, _auth(token)], client_max_size=64 * 1024)
    app[OPERATIONS] = operations
    app.router.add_get("/v1/subscribers/{msisdn}", subscriber)
    app.router.add_post("/v1/subscribers/{msisdn}/reset-session", reset_session)
    app.router.add_post("/v1/subscribers/{msisdn}/reset-lockout", reset_lockout)
    app.router.add_get("/v1/audit", audit)
    app.router.add_get("/v1/dead-letters", dead_letters)
    app.router.add_post("/v1/dead-letters/purge", purge_dead_letters)
    app.router.add_post("/v1/dead-letters/{id}/replay", replay_dead_letter)
    app.router.add_delete("/v1/dead-letters/{id}", delete_dead_letter)
    app.router.add_get("/v1/queues", queues)
    app.router.add_get("/v1/partitions", partitions)
    return app


# -- middlewares (outermost first) ---------------------------------------------------------------

def _cors(origins: Callable[[], Collection[str]]) -> Any:
    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        allowed = origin is not None and origin in origins()
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not allowed:
                return problem(403, f"origin {origin!r} is not in admin.cors_origins")
            response: web.StreamResponse = web.Response(status=204)
            response.headers.update({"Access-Control-Allow-Methods": ALLOWED_METHODS,
                                     "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                                     "Access-Control-Max-Age": "600"})
        else:
            response = await handler(request)
        if allowed and origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Vary"] = "Origin"
        return response

    return cors


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except AdminError as exc:
        return problem(exc.status, str(exc))
    except web.HTTPException as exc:  # aiohttp's own 404 / 405
        return problem(exc.status, exc.reason)
    except FOREIGN_RETRYABLE as exc:
        log.warning("admin API: Redis unavailable (%s)", type(exc).__name__)
        return problem(503, f"Redis unavailable: {type(exc).__name__}", {"Retry-After": "1"})


def _auth(token: str) -> Any:
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, expected):
            return problem(401, "missing or wrong Authorization: Bearer token",
                           {"WWW-Authenticate": 'Bearer realm="hamta-admin"'})
        return await handler(request)

    return auth


# -- routes --------------------------------------------------------------------------------------

def _ops(request: web.Request) -> AdminOperations:
    return request.app[OPERATIONS]


async def subscriber(request: web.Request) -> web.Response:
    return web.json_response(await _ops(request).subscriber(parse_number(request.match_info["msisdn"])))


async def reset_session(request: web.Request) -> web.Response:
    return web.json_response(await _ops(request).reset_session(parse_number(request.match_info["msisdn"])))


async def reset_lockout(request: web.Request) -> web.Response:
    return web.json_response(await _ops(request).reset_lockout(parse_number(request.match_info["msisdn"])))


async def audit(request: web.Request) -> web.Response:
    query: AuditQuery = parse_audit_query(request.query)
    records = await _ops(request).audit.query(**query)
    return web.json_response({"records": records})


async def dead_letters(request: web.Request) -> web.Response:
    limit = parse_limit(request.query.get("limit"))
    return web.json_response({"dead_letters": await _ops(request).dead_letters.recent(limit)})


async def replay_dead_letter(request: web.Request) -> web.Response:
    return web.json_response(await _ops(request).replay_dead_letter(parse_entry_id(request.match_info["id"])))


async def delete_dead_letter(request: web.Request) -> web.Response:
    return web.json_response(await _ops(request).delete_dead_letter(parse_entry_id(request.match_info["id"])))


async def purge_dead_letters(request: web.Request) -> web.Response:
    ids: list[str] | None = None
    if request.can_read_body:
        try:
            body = await request.json()
        except ValueError as exc:
            raise AdminError("the body must be JSON: {\"ids\": [...]} or empty (all)") from exc
        if body is not None:
            if not isinstance(body, dict) or not isinstance(body.get("ids", []), list) or not all(
                    isinstance(item, str) for item in body.get("ids", [])):
                raise AdminError("the body must be {\"ids\": [\"<id>\", ...]} or empty (all)")
            ids = [parse_entry_id(item) for item in body.get("ids", [])] or None
    return web.json_response(await _ops(request).purge_dead_letters(ids))


async def queues(request: web.Request) -> web.Response:
    return web.json_response(await _ops(request).queues())


async def partitions(request: web.Request) -> web.Response:
    return web.json_response(await _ops(request).partitions())
