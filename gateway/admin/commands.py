"""`hamta-gateway admin …`, `hamta-gateway audit …` and `hamta-gateway config check`: the admin
API's actions on Redis directly (the same `AdminOperations`), so they work with no gateway
running; JSON out by default (DESIGN §4), `--format table` for people. Exit 0 done, 1 not
found or refused, 2 a bad argument or setting."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

import yaml

from gateway.admin.operations import AdminError, AdminOperations, operations_for
from gateway.admin.queries import parse_audit_query, parse_entry_id, parse_number
from gateway.errors import FOREIGN_RETRYABLE
from gateway.settings import Settings, effective_settings

Action = Callable[[AdminOperations, argparse.Namespace], Awaitable[dict[str, Any]]]


def add_commands(commands: Any) -> None:
    """Add `admin`, `audit` and `config` to the CLI's subcommands."""
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--format", choices=["json", "table"], default="json",
                        help="JSON (default) or a table")
    admin = commands.add_parser("admin", help="operator actions on Redis (no gateway needed)")
    actions = admin.add_subparsers(required=True, metavar="ACTION")
    for name, help_text, action in (
        ("subscriber", "one number's session, lockout and limits (masked)", _subscriber),
        ("reset-session", "end one number's conversation", _reset_session),
        ("reset-lockout", "clear one number's strikes and lockout", _reset_lockout),
    ):
        parser = actions.add_parser(name, help=help_text, parents=[output])
        parser.add_argument("msisdn", metavar="MSISDN")
        parser.set_defaults(command=_admin_command(action))
    letters = actions.add_parser("dead-letters", parents=[output],
                                 help="list, replay, delete or purge dead letters")
    letters.add_argument("action", nargs="?", default="list", choices=["list", "replay", "delete", "purge"])
    letters.add_argument("ids", nargs="*", metavar="ID",
                         help="replay/delete: one id; purge: ids, or none for all")
    letters.add_argument("--limit", type=int, default=100)
    letters.set_defaults(command=_admin_command(_dead_letters))
    for name, help_text, action in (("queues", "backlog per partition", _queues),
                                    ("partitions", "partition holders and members", _partitions)):
        actions.add_parser(name, help=help_text, parents=[output]).set_defaults(
            command=_admin_command(action))
    audit = commands.add_parser("audit", parents=[output], help="audit records (masked), newest first")
    audit.add_argument("--imei")
    audit.add_argument("--msisdn")
    audit.add_argument("--national-id")
    audit.add_argument("--since", metavar="T", help="ISO-8601 or epoch seconds")
    audit.add_argument("--until", metavar="T", help="ISO-8601 or epoch seconds")
    audit.add_argument("--limit", default="100")
    audit.set_defaults(command=_admin_command(_audit))
    config = commands.add_parser("config", help="the settings")
    checks = config.add_subparsers(required=True, metavar="ACTION")
    check = checks.add_parser("check", help="validate and print the effective settings, secrets hidden")
    check.add_argument("--format", choices=["yaml", "json"], default="yaml")
    check.set_defaults(command=_config_check)


def _admin_command(action: Action) -> Callable[[Settings, argparse.Namespace], int]:
    def command(settings: Settings, args: argparse.Namespace) -> int:
        from gateway.app import connect_redis

        async def run() -> dict[str, Any]:
            redis = connect_redis(settings, max_connections=8)
            try:
                return await action(operations_for(settings, redis), args)
            finally:
                await redis.aclose()

        try:
            result = asyncio.run(run())
        except AdminError as exc:
            print(f"hamta-gateway: {exc}", file=sys.stderr)
            return 2 if exc.status == 400 else 1
        except FOREIGN_RETRYABLE as exc:
            print(f"hamta-gateway: Redis unavailable ({type(exc).__name__}: {exc})",
                  file=sys.stderr)
            return 1
        print_result(result, args.format, sys.stdout)
        return 0

    return command


async def _subscriber(ops: AdminOperations, args: argparse.Namespace) -> dict[str, Any]:
    return await ops.subscriber(parse_number(args.msisdn))


async def _reset_session(ops: AdminOperations, args: argparse.Namespace) -> dict[str, Any]:
    return await ops.reset_session(parse_number(args.msisdn))


async def _reset_lockout(ops: AdminOperations, args: argparse.Namespace) -> dict[str, Any]:
    return await ops.reset_lockout(parse_number(args.msisdn))


async def _dead_letters(ops: AdminOperations, args: argparse.Namespace) -> dict[str, Any]:
    ids = [parse_entry_id(item) for item in args.ids]
    if args.action == "list":
        return {"dead_letters": await ops.dead_letters.recent(args.limit)}
    if args.action == "purge":
        return await ops.purge_dead_letters(ids or None)
    if len(ids) != 1:
        raise AdminError(f"dead-letters {args.action} takes one ID")
    if args.action == "replay":
        return await ops.replay_dead_letter(ids[0])
    return await ops.delete_dead_letter(ids[0])


async def _queues(ops: AdminOperations, args: argparse.Namespace) -> dict[str, Any]:
    return await ops.queues()


async def _partitions(ops: AdminOperations, args: argparse.Namespace) -> dict[str, Any]:
    return await ops.partitions()


async def _audit(ops: AdminOperations, args: argparse.Namespace) -> dict[str, Any]:
    given = {"imei": args.imei, "msisdn": args.msisdn, "national_id": args.national_id,
             "since": args.since, "until": args.until, "limit": args.limit}
    query = parse_audit_query({name: value for name, value in given.items() if value})
    return {"records": await ops.audit.query(**query)}


def _config_check(settings: Settings, args: argparse.Namespace) -> int:
    """Reached only when the settings are valid (`main` exits 2 naming the key otherwise)."""
    shown = effective_settings(settings)
    if args.format == "json":
        print(json.dumps(shown, indent=2, ensure_ascii=False))
    else:
        print(yaml.safe_dump(shown, sort_keys=False, allow_unicode=True), end="")
    missing = [name for name, value in (("smpp.password (HAMTA_SMPP__PASSWORD)", settings.smpp.password),
                                        ("service.secret_key (HAMTA_SERVICE__SECRET_KEY)",
                                         settings.service.secret_key)) if value is None]
    for name in missing:
        print(f"note: {name} is not set; `run` needs it", file=sys.stderr)
    if settings.admin.token is None:
        print("note: admin.token (HAMTA_ADMIN__TOKEN) is not set; the admin API will not start",
              file=sys.stderr)
    return 0


# -- output --------------------------------------------------------------------------------------

def print_result(result: dict[str, Any], form: str, out: TextIO) -> None:
    if form == "json":
        print(json.dumps(result, indent=2, ensure_ascii=False), file=out)
        return
    if result and all(isinstance(value, list) and not value for value in result.values()):
        print("(none)", file=out)
        return
    lists = {name: value for name, value in result.items()
             if isinstance(value, list) and value and all(isinstance(item, dict) for item in value)}
    scalars = {name: value for name, value in result.items() if name not in lists}
    if scalars:
        _table([{"field": name, "value": value} for name, value in _flat(scalars)], out)
    for name, rows in lists.items():
        if scalars or len(lists) > 1:
            print(f"\n{name}:", file=out)
        _table([dict(_flat(row)) for row in rows], out)


def _flat(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for name, value in mapping.items():
        if isinstance(value, dict) and value:
            rows += _flat(value, f"{prefix}{name}.")
        else:
            rows.append((f"{prefix}{name}", "" if value is None else value))
    return rows


def _table(rows: list[dict[str, Any]], out: TextIO) -> None:
    if not rows:
        return
    columns: list[str] = []
    for row in rows:
        columns += [name for name in row if name not in columns]
    cells = [[_cell(row.get(name, "")) for name in columns] for row in rows]
    widths = [max(len(name), *(len(line[i]) for line in cells)) for i, name in enumerate(columns)]
    for line in [columns, *cells]:
        padded = (cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        print("  ".join(padded).rstrip(), file=out)


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
