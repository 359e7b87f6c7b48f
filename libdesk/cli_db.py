"""``libdesk db …``: the database itself: which schema it is at, upgrading it, copying it.

Registered into ``libdesk.cli``'s subcommands by :func:`register`; like the rest of the CLI it
only parses, calls the engine (:mod:`libdesk.migrations`, :mod:`libdesk.transfer`) and prints.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

Runtime = Any
"""``libdesk.cli.Runtime`` (not imported: cli imports this module while building its parser)."""


def _open(rt: Runtime, *, upgrade: bool) -> Any:
    from libdesk.db import open_database

    target, _ = rt.db_target()
    return open_database(target, upgrade=upgrade)


def cmd_current(rt: Runtime) -> int:
    from libdesk import migrations

    db = _open(rt, upgrade=False)
    try:
        with db.engine.connect() as conn:
            revision = migrations.current(conn)
            current = migrations.up_to_date(conn)
        data = {"database": db.description, "engine": db.engine.dialect.name, "revision": revision,
                "head": migrations.HEAD, "up_to_date": current}
    finally:
        db.close()
    state = "up to date" if data["up_to_date"] else "behind: `libdesk db upgrade` (or any command) upgrades it"
    rt.emit(data, f"{data['database']} ({data['engine']}): schema {revision}, this libdesk's is "
                  f"{migrations.HEAD}: {state}")
    return 0


def cmd_upgrade(rt: Runtime) -> int:
    from libdesk import migrations

    db = _open(rt, upgrade=False)
    try:
        # Any desk opening the database upgrades it the same way, signed in or not: the
        # history names who asked (claimed; sign-in guards desk actions, not the schema).
        before, after = migrations.upgrade(db.engine, db.description, operator=rt.claimed)
    finally:
        db.close()
    data = {"database": db.description, "from": before, "to": after, "upgraded": before != after}
    rt.emit(data, f"{db.description}: upgraded schema {before} → {after}" if before != after
            else f"{db.description}: at schema {after}, this libdesk's newest; nothing to change")
    return 0


def cmd_copy(rt: Runtime) -> int:
    from libdesk import transfer

    shown: dict[str, int] = {}

    def progress(table: str, rows: int) -> None:
        shown[table] = shown.get(table, 0) + rows
        print(f"\rcopying {table}: {shown[table]} rows", end="", file=sys.stderr, flush=True)

    quiet = rt.json or not sys.stderr.isatty()
    # Whoever can read the source can copy it (README, "Security model"): the history names
    # the operator claimed.
    result = transfer.copy_database(rt.db, rt.args.to, operator=rt.claimed, progress=None if quiet else progress)
    if not quiet:
        print(file=sys.stderr)
    rows = ", ".join(f"{n} {table}" for table, n in result["rows"].items())
    rt.emit(result, f"Copied {result['source']} to {result['target']}: {rows}; counts and history verified")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``db`` and its subcommands to the ``libdesk`` subparsers ``sub``."""
    help_text = "the database: its schema revision, upgrading it, copying it to another (e.g. PostgreSQL)"
    p = sub.add_parser("db", parents=[common], help=help_text, description=help_text)
    p.set_defaults(func=lambda rt: 0)
    dsub = p.add_subparsers(dest="db_command", metavar="current|upgrade|copy", required=True)
    q = dsub.add_parser("current", parents=[common], help="the schema revision of the database (changes nothing)")
    q.set_defaults(func=cmd_current)
    q = dsub.add_parser("upgrade", parents=[common],
                        help="bring the schema up to date (opening a database does this too)")
    q.set_defaults(func=cmd_upgrade)
    q = dsub.add_parser("copy", parents=[common],
                        help="copy every row and history event into a new, empty database, and verify")
    q.add_argument("--to", required=True, metavar="URL",
                   help="the new database: postgresql+psycopg://user@host/db, or a file path")
    q.set_defaults(func=cmd_copy)
