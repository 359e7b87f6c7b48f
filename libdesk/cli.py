"""The ``libdesk`` command line: every desk action as a subcommand, each with ``--json``.

The CLI only parses, calls the engine and formats (sqlite-utils' habit): no workflow logic
lives here. stdout carries the result (one JSON object with ``--json``); a user error is one
line on stderr and exit code 1, with nothing changed; a usage error exits 2 (argparse).
Textual is imported only by the bare ``libdesk`` command that opens the app.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Any

from libdesk.errors import ConfigError, LibdeskError


class Exit(IntEnum):
    OK = 0
    USER_ERROR = 1
    USAGE = 2
    INTERNAL = 70


# -- plumbing --------------------------------------------------------------------------------

def _global_options() -> argparse.ArgumentParser:
    """Options accepted before or after the subcommand (``libdesk --json scan ...`` and
    ``libdesk scan ... --json``). SUPPRESS keeps a subparser from resetting them."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, metavar="PATH",
                        help="database file or URL (else LIBDESK_DATABASE_URL, else the user data dir)")
    common.add_argument("--operator", default=argparse.SUPPRESS, metavar="ID",
                        help="who acts (else the settings file, else admin)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the result as JSON")
    return common


class Runtime:
    """What a command needs: the options, the settings, the database (opened on demand)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from libdesk import config

        self.args = args
        self.json = bool(getattr(args, "json", False))
        self.settings = config.load_settings()
        self.claimed: str = getattr(args, "operator", None) or self.settings.operator or "admin"
        """Who the command says acts (--operator, else the settings file)."""
        self._standing: Any = None
        self._db: Any = None

    @property
    def operator(self) -> str:
        """Who acts: with sign-in required, the signed-in operator (LIBDESK_SECRET or this
        workstation's ``libdesk login`` session), else the operator claimed."""
        return str(self.standing.operator)

    @property
    def standing(self) -> Any:
        """How the operator came to act (:class:`libdesk.operators.Standing`); a long run
        (``listen``) checks it again with :func:`libdesk.operators.recheck`."""
        if self._standing is None:
            from libdesk import config, operators

            self._standing = operators.standing(
                self.db, self.claimed, explicit=getattr(self.args, "operator", None) is not None,
                session_path=config.session_path(), secret=os.environ.get(operators.SECRET_ENV))
        return self._standing

    def db_target(self) -> tuple[str, bool]:
        """The database to use and whether it is the default one (created on first use)."""
        from libdesk import config

        explicit = getattr(self.args, "db", None) or os.environ.get("LIBDESK_DATABASE_URL") or self.settings.database_url
        if explicit:
            return explicit, False
        return str(config.default_db_path()), True

    @property
    def db(self) -> Any:
        if self._db is None:
            from libdesk.db import open_database

            target, is_default = self.db_target()
            if is_default and not Path(target).exists():
                self._db = _first_run(target)
            else:
                self._db = open_database(target)
            if getattr(self.args, "operator", None) is None and self.claimed not in self._db.institution.operators:
                from libdesk import config

                known = ", ".join(self._db.institution.operators)
                raise ConfigError(f"{config.settings_path()}: operator: unknown operator {self.claimed!r} "
                                  f"(known: {known})")
        return self._db

    def place(self, given: str | None) -> str | None:
        return given if given is not None else self.settings.currently_at

    def emit(self, data: Any, human: Callable[[], str] | str | None = None) -> None:
        if self.json:
            print(json.dumps(data, ensure_ascii=False, default=str))
        else:
            text = human() if callable(human) else human
            if text is None:
                text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
            print(text)


def _first_run(target: str) -> Any:
    """First use on this workstation: the demo institution with demo items."""
    from libdesk import demo, institution
    from libdesk.db import create_database, mark_complete

    db = create_database(target, institution.load_file(institution.demo_path()), incomplete="demo")
    demo.load_demo(db)
    mark_complete(db)
    print(f"libdesk: first run: created a demo database at {target}", file=sys.stderr)
    return db


def _need_place(rt: Runtime, given: str | None, what: str = "--at") -> str:
    place = rt.place(given)
    if place is None:
        raise LibdeskError(f"Where are you? Give {what} PLACE (or set Currently At: libdesk settings --at PLACE)")
    return place


def _result(rt: Runtime, result: Any) -> None:
    rt.emit(result.to_dict(), result.message)


# -- commands ----------------------------------------------------------------------------------

def cmd_app(rt: Runtime) -> int:
    """Bare ``libdesk``: open the app when it is installed, else show the desk overview."""
    try:
        from screens.app import run_app  # noqa: F401  (Textual loads only here)
    except ImportError:
        return cmd_overview(rt)
    from libdesk import operators

    # --operator opens the app as that operator (it becomes this workstation's operator).
    # With sign-in required and no session nor LIBDESK_SECRET, the app opens on its sign-in
    # screen instead (the operator claimed is offered there).
    try:
        held: Any = rt.standing
    except operators.NotSignedIn:
        if not rt.db.institution.sign_in.required:
            raise  # sign_in = false: a disabled operator is refused, as by every command
        held = None
    op = rt.db.institution.operators.get(held.operator if held else rt.claimed)
    if op is not None:
        rt.settings.operator = op.id
        if rt.settings.currently_at is not None and not op.may_act_at(rt.settings.currently_at):
            rt.settings.currently_at, rt.settings.status, rt.settings.done = None, None, False
    signed_in = held if rt.db.institution.sign_in.required else None
    return int(run_app(rt.db, rt.settings, signed_in_as=signed_in) or 0)


def cmd_overview(rt: Runtime) -> int:
    from libdesk import queries

    data = queries.overview(rt.db)
    def human() -> str:
        lines = [f"libdesk — {data['institution']} — database {data['database']}", "",
                 f"{data['items']} items:"]
        for key, count in data["by_process"].items():
            lines.append(f"  {count:>7}  {key}")
        lines.append(f"{data['active_requests']} active requests")
        lines.append("")
        lines.append("Try:")
        for example in data["try"]:
            lines.append(f"  {example}")
        return "\n".join(lines)
    rt.emit(data, human)
    return 0


def cmd_init(rt: Runtime) -> int:
    from libdesk import demo, institution
    from libdesk.db import create_database, mark_complete

    inst = institution.load_file(rt.args.institution or institution.demo_path())
    target, _ = rt.db_target()
    # The demo is many engine actions (many transactions): the database says it is incomplete
    # until the last one, so a set-up stopped half-way is never taken for a whole one.
    db = create_database(target, inst, incomplete="demo" if rt.args.demo else None)
    loaded = {"items": 0}
    if rt.args.demo:
        loaded = demo.load_demo(db)
        mark_complete(db)
    data = {"database": db.description, "institution": inst.name, "demo_items": loaded["items"]}
    rt.emit(data, f"Created {db.description} for {inst.name}" + (f" with {loaded['items']} demo items" if rt.args.demo else ""))
    return 0


def cmd_import(rt: Runtime) -> int:
    from libdesk import importing

    if rt.args.kind == "items":
        progress = _progress_for(rt.args.file) if not rt.json and sys.stderr.isatty() else None
        result = importing.import_items(rt.db, rt.args.file, operator=rt.operator, progress=progress)
    elif rt.args.kind == "loans":
        result = importing.import_loans(rt.db, rt.args.file, operator=rt.operator)
    else:
        result = importing.import_patrons(rt.db, rt.args.file, operator=rt.operator)
    rt.emit(result, f"Imported {result['imported']} {rt.args.kind} from {result['file']}")
    return 0


def _progress_for(path: str) -> Callable[[int], None] | None:
    try:
        with open(path, "rb") as fh:
            total = max(sum(1 for _ in fh) - 1, 0)
    except OSError:
        return None
    return _progress(total, "Importing")


def cmd_item_show(rt: Runtime) -> int:
    from libdesk import queries

    item = queries.item_show(rt.db, rt.args.barcode)
    rt.emit(item, lambda: format_item(item))
    return 0


def cmd_item_history(rt: Runtime) -> int:
    from libdesk import queries

    events = queries.item_history(rt.db, rt.args.barcode)
    def human() -> str:
        lines = []
        for ev in events:
            change = ""
            if ev["after"]:
                parts = []
                for key, after in ev["after"].items():
                    before = (ev["before"] or {}).get(key)
                    parts.append(f"{key}: {before} → {after}" if ev["before"] is not None else f"{key}: {after}")
                change = "; ".join(parts)
            req = f" request {ev['request_id']}" if ev["request_id"] else ""
            lines.append(f"{ev['at']}  {ev['operator']:<8} {ev['place'] or '-':<9} {ev['action']}{req}  {change}")
        return "\n".join(lines) or "No history"
    rt.emit({"barcode": rt.args.barcode, "events": events}, human)
    return 0


def cmd_search(rt: Runtime) -> int:
    from libdesk import queries

    rows = queries.search(rt.db, " ".join(rt.args.query), limit=rt.args.limit)
    def human() -> str:
        if not rows:
            return "No items found"
        lines = [f"{r['barcode']}  {r['title'][:44]:<44}  {r['call_number']:<20} {r['library']:<4} {r['process']}"
                 for r in rows]
        if len(rows) == rt.args.limit:
            lines.append(f"(the first {rt.args.limit} matches: add words, or --limit N for more)")
        return "\n".join(lines)
    rt.emit({"query": " ".join(rt.args.query), "results": rows}, human)
    return 0


def cmd_public(rt: Runtime) -> int:
    from libdesk import queries

    view = queries.public_view(rt.db, rt.args.barcode)
    rt.emit(view, f"{view['title']} — {view['library']} — {view['availability']}"
                  + (f" ({view['detail']})" if view["detail"] else ""))
    return 0


def cmd_loan(rt: Runtime) -> int:
    from libdesk import circulation

    _result(rt, circulation.loan(rt.db, rt.args.barcode, rt.args.patron, at=_need_place(rt, rt.args.at),
                                 operator=rt.operator, override=rt.args.override))
    return 0


def cmd_renew(rt: Runtime) -> int:
    from libdesk import circulation

    _result(rt, circulation.renew(rt.db, rt.args.barcode, at=_need_place(rt, rt.args.at), operator=rt.operator))
    return 0


def cmd_return(rt: Runtime) -> int:
    from libdesk import circulation

    _result(rt, circulation.return_item(rt.db, rt.args.barcode, at=_need_place(rt, rt.args.at), operator=rt.operator))
    return 0


def cmd_scan(rt: Runtime) -> int:
    """Scan In Items. Several barcodes: each is its own transaction; the exit code is 1 if
    any failed (each failure is one line on stderr)."""
    from libdesk import scan

    at = _need_place(rt, rt.args.at)
    status, done = rt.args.status, rt.args.done
    if at == rt.settings.currently_at:  # the sticky settings go with the sticky place (S1)
        status = rt.settings.status if status is None and not done else status
        done = rt.settings.done if done is None else done
    failed = 0
    results = []
    for barcode in rt.args.barcodes:
        try:
            result = scan.scan_in(rt.db, barcode, at=at, operator=rt.operator, status=status, done=bool(done))
        except LibdeskError as exc:
            if len(rt.args.barcodes) == 1:
                raise
            failed += 1
            print(f"libdesk: {barcode}: {exc.message}", file=sys.stderr)
            results.append({"barcode": barcode, "error": exc.message, "kind": exc.kind})
            continue
        results.append(result.to_dict())
        if not rt.json:
            print(f"{result.barcode}: {result.message}")
    if rt.json:
        print(json.dumps(results[0] if len(results) == 1 else {"results": results}, ensure_ascii=False, default=str))
    return Exit.USER_ERROR if failed else Exit.OK


def cmd_workorder(rt: Runtime) -> int:
    """One item: its result. Several (or --from-file): each in its own transaction, the
    destinations grouped and the failures listed; exit 1 if any failed."""
    from libdesk import scan, workorders

    barcodes = list(rt.args.barcodes)
    if rt.args.from_file:
        barcodes += [b for b in scan.read_barcode_file(rt.args.from_file) if b not in barcodes]
    if not barcodes:
        raise LibdeskError("Which items? Give barcodes, or --from-file FILE (one barcode a line, or a CSV "
                           "with a barcode column)")
    common = {"operator": rt.operator, "note": rt.args.note or "", "in_hand": rt.args.in_hand,
              "at": rt.place(rt.args.at)}
    if len(barcodes) == 1 and not rt.args.from_file:
        _result(rt, workorders.place_work_order(rt.db, barcodes[0], rt.args.type, rt.args.department, **common))
        return 0
    progress = _progress(len(barcodes), "Work orders") if not rt.json and sys.stderr.isatty() else None
    result = workorders.place_work_orders(rt.db, barcodes, rt.args.type, rt.args.department, progress=progress,
                                          **common)
    for code, why in result.failures:
        print(f"libdesk: {code}: {why}", file=sys.stderr)
    rt.emit(result.to_dict(), result.message)
    return Exit.USER_ERROR if result.failures else Exit.OK


def cmd_edit(rt: Runtime) -> int:
    from libdesk import workorders

    _result(rt, workorders.edit_item(rt.db, rt.args.barcode, rt.args.type, rt.args.department, operator=rt.operator,
                                     at=rt.place(rt.args.at)))
    return 0


def cmd_receive(rt: Runtime) -> int:
    from libdesk import receiving

    if rt.args.status is not None and not rt.args.keep_in_department:
        raise LibdeskError("--status goes with --keep-in-department")
    _result(rt, receiving.receive(rt.db, rt.args.barcode, at=_need_place(rt, rt.args.at), operator=rt.operator,
                                  keep_in_department=rt.args.keep_in_department, status=rt.args.status))
    return 0


def cmd_receiving(rt: Runtime) -> int:
    from libdesk import receiving

    rows = receiving.awaiting(rt.db, _need_place(rt, rt.args.at))
    rt.emit({"items": rows}, lambda: "\n".join(f"{r['barcode']}  {r['title']}" for r in rows) or "Nothing to receive")
    return 0


def cmd_request(rt: Runtime) -> int:
    from libdesk import requests

    sub = rt.args.request_command
    at = rt.place(getattr(rt.args, "at", None))
    if sub == "place":
        result = requests.place_request(rt.db, rt.args.barcode, rt.args.patron, rt.args.pickup, operator=rt.operator,
                                        at=at)
    elif sub == "list":
        queue = requests.list_requests(rt.db, rt.args.barcode)
        rt.emit({"barcode": rt.args.barcode, "requests": queue}, lambda: format_queue(queue))
        return 0
    elif sub == "activate":
        result = requests.activate(rt.db, rt.args.id, operator=rt.operator, at=at)
    elif sub == "cancel":
        result = requests.cancel(rt.db, rt.args.id, operator=rt.operator, at=at, confirm=rt.args.confirm)
    elif sub == "expiry":
        result = requests.set_expiry(rt.db, rt.args.id, rt.args.date, operator=rt.operator, at=at)
    else:
        result = requests.edit(rt.db, rt.args.id, operator=rt.operator, at=at, note=rt.args.note,
                               department=rt.args.department)
    _result(rt, result)
    return 0


def cmd_picklist(rt: Runtime) -> int:
    from libdesk import circulation

    data = circulation.picklist(rt.db, rt.args.library)
    def human() -> str:
        lines = []
        for heading, key in ((f"Pick from shelf — {data['library']}", "pick_from_shelf"),
                             ("Waiting for Remote Storage", "waiting_for_remote_storage")):
            lines.append(heading)
            lines.extend(f"  {r['call_number']:<24} {r['barcode']}  {r['title'][:40]:<40} → {r['destination']}"
                         for r in data[key])
        return "\n".join(lines)
    rt.emit(data, human)
    return 0


def cmd_holdshelf(rt: Runtime) -> int:
    from libdesk import circulation

    at = _need_place(rt, rt.args.at)
    if getattr(rt.args, "holdshelf_command", None) == "clear":
        _result(rt, circulation.clear_hold_shelf(rt.db, rt.args.barcode, at=at, operator=rt.operator))
        return 0
    rows = circulation.hold_shelf(rt.db, at)

    def line(r: dict[str, Any]) -> str:
        note = f"  (borrowed from {r['borrowed_from']})" if r["borrowing_id"] is not None else ""
        since = (r["since"] or "")[:10] or "?"
        if r["cancelled"]:
            note += f"  CANCELLED: {r['clear_name']} (libdesk holdshelf clear {r['barcode']})"
        elif r["expired"]:
            note += f"  EXPIRED: {r['clear_name']} (libdesk holdshelf clear {r['barcode']})"
        return f"{r['patron'] or '':<10} {r['barcode']:<14}  {since} → {r['until'] or '?'}  {r['title']}{note}"

    rt.emit({"items": rows}, lambda: "\n".join(line(r) for r in rows) or "The hold shelf is empty")
    return 0


def cmd_inhouse(rt: Runtime) -> int:
    from libdesk import circulation

    _result(rt, circulation.register_in_house_use(rt.db, rt.args.barcode, at=_need_place(rt, rt.args.at),
                                                  operator=rt.operator))
    return 0


def cmd_correct(rt: Runtime) -> int:
    from libdesk import circulation

    _result(rt, circulation.correct_status(rt.db, rt.args.barcode, at=_need_place(rt, rt.args.at),
                                           operator=rt.operator))
    return 0


def cmd_missing(rt: Runtime) -> int:
    from libdesk import circulation

    _result(rt, circulation.mark_missing(rt.db, rt.args.barcode, operator=rt.operator, at=rt.place(rt.args.at),
                                         lost=rt.args.lost))
    return 0


def cmd_slip(rt: Runtime) -> int:
    """The slip of an item (work order, transit or hold): shown, or printed / saved with --print / -o."""
    from libdesk import slips

    text = slips.slip_for(rt.db, rt.args.barcode)
    where = None
    if rt.args.print or rt.args.output:
        where = slips.print_slip(text, rt.args.barcode, printer=rt.args.printer,
                                 to_file=Path(rt.args.output) if rt.args.output else None)
    rt.emit({"barcode": rt.args.barcode, "slip": text, "printed": where},
            lambda: text + (f"\n({where})" if where else ""))
    return 0


def cmd_settings(rt: Runtime) -> int:
    """Show or change this workstation's sticky settings (S1)."""
    from libdesk import config

    settings = rt.settings
    inst = rt.db.institution
    changed = False
    notes: list[str] = []
    if rt.args.set_operator is not None:
        if inst.sign_in.required:
            raise LibdeskError(f"Operators sign in here: libdesk login --operator {rt.args.set_operator}")
        inst.operator(rt.args.set_operator)
        settings.operator, changed = rt.args.set_operator, True
    operator = inst.operator(rt.args.set_operator or rt.operator)
    if rt.args.at is not None:
        place = inst.place(rt.args.at)
        if not operator.may_act_at(place.code):
            raise LibdeskError(f"Operator {operator.id} may not act at {place.name} ({place.code})")
        settings.currently_at, changed = place.code, True
        # Set Status To is remembered per department: coming back brings it back.
        settings.status = settings.statuses.get(place.code) if place.is_department else None
        if place.is_desk:
            settings.done = False
    elif settings.currently_at is not None and not operator.may_act_at(settings.currently_at):
        notes.append(f"{operator.id} may not act at {settings.currently_at}: Currently At cleared")
        settings.currently_at, settings.status, settings.done, changed = None, None, False, True
    if rt.args.status is not None:
        if rt.args.status:
            if settings.currently_at is None:
                raise LibdeskError("Set Currently At (--at) before a status")
            place = inst.place(settings.currently_at)
            if not place.is_department:
                raise LibdeskError(f"{place.name} is a circulation desk: it sets no work-order status")
            statuses = inst.work_order_types[place.work_order_type or ""].statuses
            if rt.args.status not in statuses:
                raise LibdeskError(f"{rt.args.status!r} is not a status at {place.code}: {', '.join(statuses)}")
        settings.status, changed = (rt.args.status or None), True
        if settings.currently_at is not None:
            if settings.status:
                settings.statuses[settings.currently_at] = settings.status
            else:
                settings.statuses.pop(settings.currently_at, None)
    if rt.args.done is not None:
        if rt.args.done == "yes" and not inst.place(settings.currently_at or "").is_department:
            raise LibdeskError("Done is set only at a department (Currently At)")
        settings.done, changed = rt.args.done == "yes", True
    if changed:
        config.save_settings(settings)
    data = {"operator": settings.operator, "currently_at": settings.currently_at, "status": settings.status,
            "done": settings.done, "settings_file": str(config.settings_path())}
    rt.emit({**data, "notes": notes}, lambda: "\n".join([*notes, *(f"{k}: {v}" for k, v in data.items())]))
    return 0


def _read_secret(rt: Runtime, prompt: str, confirm: bool = False) -> str:
    """A secret from the terminal without echo (getpass), or one line of stdin for scripts
    (``--secret-stdin``). It is never printed, logged or put on the command line."""
    import getpass

    if getattr(rt.args, "secret_stdin", False) or not sys.stdin.isatty():
        line = sys.stdin.readline()
        secret = line[:-1] if line.endswith("\n") else line
        if not secret:
            raise LibdeskError("No secret on stdin")
        return secret
    try:
        secret = getpass.getpass(prompt)
        if confirm and getpass.getpass("Again: ") != secret:
            raise LibdeskError("The two secrets differ; nothing changed")
    except EOFError:
        raise LibdeskError("No secret given") from None
    return secret


def _admin(rt: Runtime) -> str | None:
    """The administrator setting secrets: the signed-in operator, or None while the database
    has no secrets at all (its first administrator is being set up)."""
    from libdesk import operators

    try:
        return rt.operator
    except operators.NotSignedIn:
        if any(a["has_secret"] for a in operators.accounts(rt.db)):
            raise
        return None


def cmd_operator(rt: Runtime) -> int:
    """Operators' sign-in: add (a first secret), set-secret, disable, enable, list."""
    from libdesk import operators

    verb, db = rt.args.verb, rt.db
    if verb == "list":
        rows = operators.accounts(db)
        rt.emit({"sign_in": db.institution.sign_in.required, "operators": rows}, lambda: "\n".join(
            f"{r['operator']:<10} {'secret' if r['has_secret'] else 'no secret':<10} "
            f"{'disabled' if r['disabled'] else ''}{' locked until ' + r['locked_until'] if r['locked_until'] else ''}"
            for r in rows))
        return 0
    if rt.args.id is None:
        raise LibdeskError(f"libdesk operator {verb} needs an operator ID")
    target = db.institution.operator(rt.args.id).id
    if verb in ("add", "set-secret"):
        by = _admin(rt)
        secret = _read_secret(rt, f"New secret for {target}: ", confirm=True)
        message = operators.set_secret(db, target, secret, by=by, new=verb == "add")
    else:
        message = operators.set_disabled(db, target, verb == "disable", by=rt.operator)
    rt.emit({"operator": target, "message": message}, message)
    return 0


def cmd_login(rt: Runtime) -> int:
    """Sign in at this workstation: a signed, expiring session in the settings folder."""
    from libdesk import config, operators

    who = rt.db.institution.operator(rt.claimed).id
    secret = os.environ.get(operators.SECRET_ENV) or _read_secret(rt, f"Secret for {who}: ")
    data = operators.login(rt.db, who, secret, config.session_path())
    rt.emit(data, f"Signed in as {who} until {data['expires']}")
    return 0


def cmd_logout(rt: Runtime) -> int:
    from libdesk import config, operators

    gone = operators.logout(rt.db, config.session_path())
    rt.emit({"signed_out": gone}, "Signed out" if gone else "No session here for this database")
    return 0


def _inprocess_filter(rt: Runtime) -> Any:
    from libdesk.queries import InProcessFilter

    return InProcessFilter(department=_need_place(rt, rt.args.at), status=rt.args.status, library=rt.args.library,
                           requested=True if rt.args.requested else None, search=rt.args.search)


def cmd_inprocess(rt: Runtime) -> int:
    """Manage In Process Items: the list, or a bulk Change Status / Done."""
    from libdesk import queries, workorders

    sub = getattr(rt.args, "inprocess_command", None)
    if sub is None:
        flt = _inprocess_filter(rt)
        page = queries.inprocess_page(rt.db, flt, sort=rt.args.sort, limit=rt.args.limit)
        data = {"department": flt.department, "total": page.total, "rows": page.rows}
        def human() -> str:
            lines = [f"In process at {flt.department}: {page.total} item(s)"
                     + (f", first {len(page.rows)}" if page.total > len(page.rows) else "")]
            for r in page.rows:
                flag = " OVERDUE" if r["overdue"] else ""
                lines.append(f"  {r['barcode']}  {r['status']:<18} {r['days_in_department'] or 0:>4}d  "
                             f"exp {r['expiry'] or '-':<10}{flag}  req {r['requests']}  {r['title'][:40]}")
            return "\n".join(lines)
        rt.emit(data, human)
        return 0
    flt = _inprocess_filter(rt)
    if rt.args.all == bool(rt.args.barcodes):
        raise LibdeskError("Give the barcodes, or --all for everything matching the filters (not both)")
    barcodes = queries.inprocess_barcodes(rt.db, flt) if rt.args.all else rt.args.barcodes
    progress = _progress(len(barcodes), "Working") if not rt.json and sys.stderr.isatty() else None
    if sub == "change-status":
        if not rt.args.to:
            raise LibdeskError("Give the new status: --to STATUS")
        result = workorders.bulk_change_status(rt.db, flt.department, rt.args.to, barcodes, operator=rt.operator,
                                               progress=progress)
    else:
        result = workorders.bulk_done(rt.db, flt.department, barcodes, operator=rt.operator, progress=progress)
    rt.emit(result.to_dict(), result.message)
    return Exit.USER_ERROR if result.failures else Exit.OK


def _monitor_filters(rt: Runtime) -> dict[str, str | None]:
    return {"type": rt.args.type, "owner": rt.args.owner, "pickup": rt.args.pickup,
            "material_type": rt.args.material_type, "step": rt.args.step, "requested": rt.args.requested}


def _since(rt: Runtime) -> Any:
    from libdesk.requests import parse_date

    return parse_date(rt.args.since) if rt.args.since else None


def cmd_monitor(rt: Runtime) -> int:
    from libdesk import queries
    from libdesk.core import count_of

    data = queries.monitor(rt.db, _monitor_filters(rt), since=_since(rt), limit=rt.args.limit)
    def human() -> str:
        lines = [f"{count_of(data['total'], 'active request')}"]
        for facet, counts in data["facets"].items():
            lines.append(f"  {facet}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        for r in data["rows"]:
            lines.append(f"  #{r['id']:<6} {r['type']:<7} {r['barcode']}  {r['step']:<26} → {r['pickup']:<9} "
                         f"{r['placed']}  {r['title'][:32]}")
        return "\n".join(lines)
    rt.emit(data, human)
    return 0


def cmd_export(rt: Runtime) -> int:
    """Export a list exactly as shown (same filters, same columns)."""
    from libdesk import exporting, queries

    what = rt.args.list
    if what == "inprocess":
        rows: Any = queries.inprocess_all(rt.db, _inprocess_filter(rt), sort=rt.args.sort)
        columns = queries.INPROCESS_COLUMNS
    elif what == "monitor":
        rows = queries.monitor_all(rt.db, _monitor_filters(rt), since=_since(rt))
        columns = queries.MONITOR_COLUMNS
    else:
        if not rt.args.query:
            raise LibdeskError("Give the search: libdesk export search QUERY -o FILE")
        rows = queries.search_all(rt.db, " ".join(rt.args.query))
        columns = queries.SEARCH_COLUMNS
    result = exporting.export_rows(rt.args.output, columns, rows)
    rt.emit(result, f"Exported {result['rows']} row(s) to {result['path']}")
    return 0


def _progress(total: int, label: str) -> Callable[[int], None] | None:
    """A rich progress bar on stderr for long runs (rich loads only for this)."""
    if total < 2_000:
        return None
    from rich.progress import Progress

    bar = Progress(transient=True)
    task = bar.add_task(label, total=total)
    bar.start()

    def advance(n: int) -> None:
        bar.advance(task, n)
        if bar.tasks[0].completed >= total:
            bar.stop()
    return advance


def cmd_request_history(rt: Runtime) -> int:
    from libdesk import requests

    events = requests.audit_trail(rt.db, rt.args.id)
    rt.emit({"request": rt.args.id, "events": events},
            lambda: "\n".join(f"{e['at']}  {e['operator']:<8} {e['place'] or '-':<9} {e['action']}  {e['message']}"
                              for e in events))
    return 0


# -- formatting --------------------------------------------------------------------------------

def format_queue(queue: list[dict[str, Any]]) -> str:
    if not queue:
        return "No requests"
    lines = []
    for pos, r in enumerate(queue, 1):
        who = f"patron {r['patron']} → {r['pickup']}" if r["kind"] == "patron" else \
            f"{r['work_order_type']} work order → {r['department']}"
        forced = " FORCED" if r["forced"] else ""
        expiry = f" expires {r['expiry']}" if r["expiry"] else ""
        lines.append(f"{pos}. #{r['id']} {who} [{r['step_name']}]{forced} by {r['creator']}{expiry}"
                     + (f" — {r['note']}" if r["note"] else ""))
    return "\n".join(lines)


def format_item(item: dict[str, Any]) -> str:
    lines = [
        f"{item['barcode']}  {item['title']}",
        f"  {item['author']} — {item['call_number']} — {item['material_type']}",
        f"  {item['library']} / {item['location']} — "
        + ("In place" if item["base_status"] == "in_place" else f"Not in place: {item['process_name']}"),
    ]
    if item["department"]:
        lines.append(f"  Department: {item['department']}  Status: {item['status'] or '-'}")
    if item["loan"]:
        lines.append(f"  On loan to {item['loan']['patron']}, due {item['loan']['due']}")
    if item["hold_shelf"]:
        lines.append(f"  On the hold shelf at {item['hold_shelf']}")
    lines.append("  Requests:")
    lines.extend("    " + line for line in format_queue(item["requests"]).splitlines())
    return "\n".join(lines)


# -- parser ------------------------------------------------------------------------------------

def _count(text: str) -> int:
    """A --limit: a whole number from 1 to 100,000 (a larger one overflowed SQLite's integer)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"{text} is out of range (1 to 100000)")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _global_options()
    parser = argparse.ArgumentParser(
        prog="libdesk", parents=[common],
        description="Library desk workstation: Scan In, Return, work orders, requests. "
                    "With no command, opens the desk app.")
    from libdesk import __version__

    parser.add_argument("--version", action="version", version=f"libdesk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func: Callable[[Runtime], int], help_text: str, **kw: Any) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text, **kw)
        p.set_defaults(func=func)
        return p

    p = add("init", cmd_init, "create the database from an institution file (the demo by default)")
    p.add_argument("--institution", metavar="FILE", help="institution TOML file (default: the shipped demo)")
    p.add_argument("--demo", action="store_true", help="also load a few hundred demo items in every state")

    p = add("overview", cmd_overview, "counts of items by process and what to try")

    p = add("import", cmd_import, "bulk load items, patrons or loans from CSV (all or nothing)")
    p.add_argument("kind", choices=["items", "patrons", "loans"])
    p.add_argument("file", metavar="FILE.csv")

    p = add("item", lambda rt: 0, "show an item or its history")
    item_sub = p.add_subparsers(dest="item_command", metavar="show|history", required=True)
    q = item_sub.add_parser("show", parents=[common], help="the item with its request queue")
    q.add_argument("barcode")
    q.set_defaults(func=cmd_item_show)
    q = item_sub.add_parser("history", parents=[common], help="every change to the item, with operator")
    q.add_argument("barcode")
    q.set_defaults(func=cmd_item_history)

    p = add("search", cmd_search, "Physical Items search: barcode, barcode prefix (ending in *) or words")
    p.add_argument("query", nargs="+")
    p.add_argument("--limit", type=_count, default=50)

    p = add("public", cmd_public, "what the patron catalogue shows for an item")
    p.add_argument("barcode")

    p = add("loan", cmd_loan, "lend an item to a patron at a desk")
    p.add_argument("barcode")
    p.add_argument("--patron", required=True)
    p.add_argument("--at", metavar="DESK")
    p.add_argument("--override", action="store_true",
                   help="lend it although someone else requested it (logged; their request waits)")

    p = add("renew", cmd_renew, "renew a loan (not while a request waits; at most max_renewals times)")
    p.add_argument("barcode")
    p.add_argument("--at", metavar="DESK")

    p = add("return", cmd_return, "Return Items: discharge a loan at a desk and say the next step")
    p.add_argument("barcode")
    p.add_argument("--at", metavar="DESK")

    p = add("scan", cmd_scan, "Scan In Items at a desk or department")
    p.add_argument("barcodes", nargs="+", metavar="BARCODE")
    p.add_argument("--at", metavar="PLACE", help="Currently At (else the settings file)")
    p.add_argument("--status", help="Set Status To (departments)")
    p.add_argument("--done", action=argparse.BooleanOptionalAction, default=None,
                   help="Done = Yes / No (departments; default: the sticky setting at Currently At, else No)")

    p = add("workorder", cmd_workorder, "the row action Work Order: request a work order on items")
    p.add_argument("barcodes", nargs="*", metavar="BARCODE")
    p.add_argument("--from-file", metavar="FILE", help="barcodes from FILE: one a line, or a CSV with a barcode column")
    p.add_argument("--type", required=True, metavar="TYPE")
    p.add_argument("--department", required=True, metavar="DEPT")
    p.add_argument("--note")
    p.add_argument("--in-hand", action="store_true", help='"Do not pick from shelf": the item is in hand')
    p.add_argument("--at", metavar="PLACE", help="where you are (for the history)")

    p = add("edit", cmd_edit, "Physical Item Editor: set work-order type and department (no status, no transit)")
    p.add_argument("barcode")
    p.add_argument("--type", required=True, metavar="TYPE")
    p.add_argument("--department", required=True, metavar="DEPT")
    p.add_argument("--at", metavar="PLACE")

    p = add("receive", cmd_receive, "Receiving: receive an acquisition item at a department")
    p.add_argument("barcode")
    p.add_argument("--at", metavar="DEPT")
    p.add_argument("--keep-in-department", action="store_true")
    p.add_argument("--status")

    p = add("receiving", cmd_receiving, "the items awaiting receipt at a department")
    p.add_argument("--at", metavar="DEPT")

    p = add("request", lambda rt: 0, "request queues: place, list, activate, cancel, expiry, history, edit")
    req_sub = p.add_subparsers(dest="request_command", metavar="place|list|activate|cancel|expiry|history|edit",
                               required=True)
    q = req_sub.add_parser("place", parents=[common], help="a patron request for pickup at a desk")
    q.add_argument("barcode")
    q.add_argument("--patron", required=True)
    q.add_argument("--pickup", required=True, metavar="DESK")
    q = req_sub.add_parser("list", parents=[common], help="the item's queue in order")
    q.add_argument("barcode")
    q = req_sub.add_parser("activate", parents=[common], help="force a request first in the queue")
    q.add_argument("id", type=int)
    q = req_sub.add_parser("cancel", parents=[common], help="cancel a request (rules by workflow step)")
    q.add_argument("id", type=int)
    q.add_argument("--confirm", action="store_true", help="cancel a Transit Item request anyway (request only)")
    q = req_sub.add_parser("expiry", parents=[common], help="update a request's expiry date")
    q.add_argument("id", type=int)
    q.add_argument("date", metavar="YYYY-MM-DD")
    q = req_sub.add_parser("history", parents=[common], help="the request's audit trail")
    q.add_argument("id", type=int)
    q = req_sub.add_parser("edit", parents=[common], help="change a request's note or department (same type)")
    q.add_argument("id", type=int)
    q.add_argument("--note")
    q.add_argument("--department", metavar="DEPT")
    for name, q in req_sub.choices.items():
        q.add_argument("--at", metavar="PLACE", help="where you are (for the history)")
        q.set_defaults(func=cmd_request_history if name == "history" else cmd_request)

    p = add("picklist", cmd_picklist, "the pick list of a library, in shelf order")
    p.add_argument("--library", required=True, metavar="LIB")

    p = add("holdshelf", cmd_holdshelf, "the hold shelf of a desk: who each item waits for, since and until when")
    p.add_argument("--at", metavar="DESK")
    hs_sub = p.add_subparsers(dest="holdshelf_command", metavar="clear")
    q = hs_sub.add_parser("clear", parents=[common], help="take an expired (or cancelled) item off the hold shelf: "
                                                          "next request, reshelve, send home or back to the lender")
    q.add_argument("barcode")
    # SUPPRESS: `holdshelf --at D clear B` keeps D (a default here would overwrite it with None).
    q.add_argument("--at", metavar="DESK", default=argparse.SUPPRESS)
    q.set_defaults(func=cmd_holdshelf)

    p = add("inhouse", cmd_inhouse, "register an in-house use of an item at a desk (counted, nothing else changes)")
    p.add_argument("barcode")
    p.add_argument("--at", metavar="DESK")

    p = add("missing", cmd_missing, "mark an item Missing (or --lost)")
    p.add_argument("barcode")
    p.add_argument("--lost", action="store_true")
    p.add_argument("--at", metavar="PLACE")

    def inprocess_filters(q: argparse.ArgumentParser) -> None:
        q.add_argument("--at", metavar="DEPT", help="the department (else Currently At)")
        q.add_argument("--status", help="only this status")
        q.add_argument("--library", metavar="LIB", help="only items owned by this library")
        q.add_argument("--requested", action="store_true", help="only items with requests waiting")
        q.add_argument("--search", metavar="Q", help="barcode, prefix* or words")
        q.add_argument("--sort", default="barcode", choices=["barcode", "title", "call_number", "status", "since"])

    p = add("inprocess", cmd_inprocess, "Manage In Process Items: the department's list, bulk Change Status and Done")
    inprocess_filters(p)
    p.add_argument("--limit", type=_count, default=200)
    ip_sub = p.add_subparsers(dest="inprocess_command", metavar="change-status|done")
    for name, help_text in (("change-status", "change the status of the given items (or --all matching)"),
                            ("done", "mark the given items (or --all matching) Done")):
        q = ip_sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        inprocess_filters(q)
        q.add_argument("barcodes", nargs="*", metavar="BARCODE")
        q.add_argument("--all", action="store_true", help="every item matching the filters")
        if name == "change-status":
            q.add_argument("--to", metavar="STATUS", help="the new status")
        q.set_defaults(func=cmd_inprocess)

    def monitor_filters(q: argparse.ArgumentParser) -> None:
        q.add_argument("--type", help="request/process type: patron or a work-order type code")
        q.add_argument("--owner", metavar="LIB")
        q.add_argument("--pickup", metavar="PLACE", help="pickup desk or department")
        q.add_argument("--material-type", metavar="TYPE")
        q.add_argument("--step", help="workflow step code, e.g. pickup_from_shelf")
        q.add_argument("--requested", choices=["today", "last 7 days", "last 30 days", "older"])
        q.add_argument("--since", metavar="YYYY-MM-DD", help="requests placed on or after")

    p = add("monitor", cmd_monitor, "Monitor Requests & Item Processes, with facet counts")
    monitor_filters(p)
    p.add_argument("--limit", type=_count, default=200)

    p = add("export", lambda rt: 0, "export a list (inprocess, monitor, search) to CSV or XLSX, exactly as shown")
    ex_sub = p.add_subparsers(dest="list", metavar="inprocess|monitor|search", required=True)
    q = ex_sub.add_parser("inprocess", parents=[common], help="the in-process list of a department")
    inprocess_filters(q)
    q = ex_sub.add_parser("monitor", parents=[common], help="the monitor list")
    monitor_filters(q)
    q = ex_sub.add_parser("search", parents=[common], help="Physical Items search results")
    q.add_argument("query", nargs="+")
    for q in ex_sub.choices.values():
        q.add_argument("-o", "--output", required=True, metavar="FILE", help="FILE.csv or FILE.xlsx")
        q.set_defaults(func=cmd_export)

    from libdesk.cli_borrowing import register as register_borrowing
    register_borrowing(sub, common)

    p = add("slip", cmd_slip, "the slip of an item: work order, transit or hold (show, print or save)")
    p.add_argument("barcode")
    p.add_argument("--print", action="store_true", help="send it to the printer (lp), else save it as a file")
    p.add_argument("--printer", help="the lp destination")
    p.add_argument("-o", "--output", metavar="FILE", help="save the slip to FILE")

    p = add("correct", cmd_correct, "remote-storage status correction: an item that never left remote storage "
                                    "back to In place (its desk only)")
    p.add_argument("barcode")
    p.add_argument("--at", metavar="DESK", help="the remote-storage desk (else Currently At)")

    p = add("operator", cmd_operator, "operators' sign-in: add a secret, set-secret, disable, enable, list")
    p.add_argument("verb", choices=["add", "set-secret", "disable", "enable", "list"])
    p.add_argument("id", nargs="?", metavar="ID", help="the operator (from the institution file)")
    p.add_argument("--secret-stdin", action="store_true", help="read the secret as one line of stdin")

    p = add("login", cmd_login, "sign in at this workstation (--operator ID; the secret is asked, never echoed)")
    p.add_argument("--secret-stdin", action="store_true", help="read the secret as one line of stdin")
    add("logout", cmd_logout, "end this workstation's session for this database")

    p = add("settings", cmd_settings, "show or set this workstation's operator and sticky Scan In settings")
    p.add_argument("--set-operator", metavar="ID")
    p.add_argument("--at", metavar="PLACE", help="Currently At")
    p.add_argument("--status", help="Set Status To ('' clears it)")
    p.add_argument("--done", choices=["yes", "no"])

    from libdesk.cli_db import register as register_db

    register_db(sub, common)

    from libdesk.cli_scanners import register as register_scanners

    register_scanners(sub, common)
    return parser


OPEN_COMMANDS = frozenset({
    "cmd_init", "cmd_login", "cmd_logout",  # before anyone can sign in, and signing in itself
    "cmd_settings", "cmd_scanners",  # this workstation's own file and ports (--set-operator signs in itself)
    "cmd_operator",  # checks its own: the first secret while no account has one, else an administrator
    "cmd_public",  # what the patron catalogue shows anyone
    "cmd_listen",  # signs in at start and re-checks before every scan (operators.recheck)
    "cmd_current", "cmd_upgrade", "cmd_copy",  # libdesk db: whoever holds the file has it all anyway
})
"""Commands that run without a signed-in operator when the institution requires sign-in; every
other command, reads included, needs one (issue 14 item 1: a queue names patrons)."""


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    for arg in raw:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:  # a byte that is not UTF-8 arrives as a lone surrogate
            shown = _shown_argument(arg)
            print(f"libdesk: argument '{shown}' is not UTF-8 text", file=sys.stderr)
            return Exit.USER_ERROR
    parser = build_parser()
    args = parser.parse_args(raw)
    func = getattr(args, "func", None)
    try:
        rt = Runtime(args)
        if func is None:
            from libdesk.cli_scanners import wait_for_database

            wait_for_database(rt)  # the desk app too waits for a server that is not up yet
            return cmd_app(rt)
        if func.__name__ not in OPEN_COMMANDS and rt.db.institution.sign_in.required:
            rt.standing  # noqa: B018 - refuses in one line when nobody is signed in
        return int(func(rt))
    except LibdeskError as exc:
        print(f"libdesk: {exc.message}", file=sys.stderr)
        if getattr(args, "json", False):  # scripts get the error as data as well
            print(json.dumps({"error": exc.message, "kind": exc.kind}, ensure_ascii=False))
        return Exit.USER_ERROR
    except KeyboardInterrupt:
        print("libdesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return Exit.OK
    except Exception as exc:  # a bug: one line for the person, the traceback in a log file
        return _internal_error(exc)


def _shown_argument(arg: str, limit: int = 60) -> str:
    """An argument that is not UTF-8, on one printable line: a byte that is not UTF-8 (as
    Python's surrogateescape hands it over) as ``\\xff``, a control character escaped, at
    most ``limit`` characters of it."""
    def one(c: str) -> str:
        if "\udc80" <= c <= "\udcff":
            return f"\\x{ord(c) - 0xDC00:02x}"
        return c if c.isprintable() else repr(c)[1:-1]

    shown = "".join(one(c) for c in arg[:limit])
    return shown + ("…" if len(arg) > limit else "")


def _internal_error(exc: BaseException) -> int:
    from libdesk import config

    log = None
    try:
        log = config.data_dir() / "libdesk-error.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc)))
    except OSError:
        log = None
    if os.environ.get("LIBDESK_DEBUG"):
        traceback.print_exception(exc)
    where = f" (details in {log})" if log else ""
    print(f"libdesk: internal error: {type(exc).__name__}: {exc}{where}", file=sys.stderr)
    return Exit.INTERNAL


def entry_point() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry_point()
