"""Request bodies of the aggregator callbacks, read strictly: whatever arrives, the answer is a
set of fields or a `BadRequest` (HTTP 400, or the status its subclass names), never a crash.

    media type  application/x-www-form-urlencoded (both callbacks), application/json
                (/sms/inbound only); anything else, or none                    -> 415
    encoding    a Content-Encoding other than identity (the server does not
                decompress: `auto_decompress=False`, no gzip bombs)           -> 415
    charset     utf-8 (the default), us-ascii, iso-8859-1; any other, or an
                unknown name                                                   -> 400
    size        more than http.max_body_bytes (aiohttp's client_max_size)      -> 413
    bytes       not valid in the charset, percent-escapes included            -> 400
    form        more than MAX_FIELDS fields                                    -> 400; a repeated
                field counts once, its first value wins
    JSON        not JSON, nested deeper than Python's recursion limit, an integer of more
                than MAX_INT_DIGITS digits, not an object                      -> 400
    strings     that cannot be written as UTF-8 (a lone surrogate from JSON)   -> 400 (by the
                field checks in http_callbacks)
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Collection, Mapping
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web

from gateway.errors import BadRequest, BodyTooLarge, UnsupportedMediaType

FORM: Final = "application/x-www-form-urlencoded"
JSON: Final = "application/json"
CHARSETS: Final = frozenset({"utf-8", "ascii", "iso8859-1"})  # codecs' names for them
MAX_FIELDS: Final = 32
MAX_INT_DIGITS: Final = 32


async def read_fields(request: web.Request, media_types: Collection[str]) -> Mapping[str, object]:
    """The request's fields (a JSON object's members or the form's fields); `BadRequest` else."""
    media_type = request.content_type
    if media_type not in media_types:
        raise UnsupportedMediaType(f"unsupported content type, send {' or '.join(media_types)}")
    if request.headers.get("Content-Encoding", "identity").strip().lower() not in ("", "identity"):
        raise UnsupportedMediaType("unsupported content encoding, send the body uncompressed")
    charset = _charset(request.charset)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise BodyTooLarge(f"body larger than {request.client_max_size} bytes") from exc
    except web.RequestPayloadError as exc:
        raise BadRequest("body could not be read") from exc
    try:
        text = body.decode(charset)
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid {charset}") from exc
    return _json_object(text) if media_type == JSON else _form(text, charset)


def _charset(declared: str | None) -> str:
    if declared is None:
        return "utf-8"
    try:
        name = codecs.lookup(declared).name
    except (LookupError, ValueError) as exc:  # ValueError: a name with a NUL in it
        raise BadRequest("unsupported charset, send utf-8") from exc
    if name not in CHARSETS:
        raise BadRequest("unsupported charset, send utf-8")
    return name


def _form(text: str, charset: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict",
                          max_num_fields=MAX_FIELDS)  # fmt: skip
    except UnicodeDecodeError as exc:
        raise BadRequest(f"form field is not valid {charset}") from exc
    except ValueError as exc:  # too many fields
        raise BadRequest(f"more than {MAX_FIELDS} form fields") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def _json_object(text: str) -> dict[str, object]:
    try:
        body = json.loads(text, parse_int=_bounded_int)
    except RecursionError as exc:
        raise BadRequest("body is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, or an integer too long (_bounded_int)
        raise BadRequest("body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _bounded_int(digits: str) -> int:
    """An integer no longer than MAX_INT_DIGITS (Python's own limit, 4300, is a ValueError
    too, but only after the work)."""
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError("integer too long")
    return int(digits)
