"""``libdesk borrowing …``: resource-sharing borrowing requests (SPEC section B) from the shell.

Registered into ``libdesk.cli``'s subcommands by :func:`register`. Like the rest of the CLI it
only parses, calls :mod:`libdesk.borrowing` and formats: with ``--json`` one JSON object on
stdout (an action's result carries the request as ``borrowing``); a user error is one line on
stderr and exit code 1 (``libdesk.cli.main`` maps it).

Partner-side subcommands (``partner-ship``, ``partner-reject``, ``partner-expire``,
``partner-message``, ``partner-checkin``) record what a lender did; the history marks them
as the partner's action, recorded by the operator.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from libdesk.errors import LibdeskError

Runtime = Any
"""``libdesk.cli.Runtime`` (not imported: cli imports this module while building its parser)."""

SUBCOMMANDS = (
    "new", "show", "history", "list", "locate", "send", "partner-ship", "partner-reject", "partner-expire",
    "partner-message", "note", "dismiss", "receive", "loan", "return", "partner-checkin", "cancel", "complete",
    "check", "report", "tick",
)


# -- helpers ---------------------------------------------------------------------------------------

def _partners(text: str | None) -> list[str] | None:
    """``--partners YALE,BROWN``; absent: the institution's partners; ``''``: none (no partner
    holds it, so the locate finds none)."""
    if text is None:
        return None
    return [code.strip() for code in text.split(",") if code.strip()]


def _desk(rt: Runtime, given: str | None) -> str:
    place = rt.place(given)
    if place is None:
        raise LibdeskError("Which desk? Give --at DESK (or set Currently At: libdesk settings --at DESK)")
    return str(place)


def _emit_result(rt: Runtime, result: Any) -> int:
    rt.emit(result.to_dict(), result.message)
    return 0


def format_request(b: dict[str, Any]) -> str:
    """``borrowing show`` for a person."""
    rota = " → ".join(f"[{c}]" if c == b["current_partner"] else c for c in b["rota"]) or "(none yet)"
    if b.get("next_partner"):
        rota += f" (to be sent to {b['next_partner']})"
    lines = [
        f"Borrowing request {b['id']} — {b['status_name']} (since {b['status_at']})",
        f"  {b['title']}" + (f" / {b['author']}" if b["author"] else "")
        + (f" [{b['identifier']}]" if b["identifier"] else ""),
        f"  Patron {b['patron']}, pickup {b['pickup']}; created by {b['creator']} on {b['created_at']}",
        f"  Rota: {rota}",
    ]
    if b["item"]:
        lines.append(f"  Item {b['item']['barcode']}: {b['item']['process_name']}")
    elif b["item_barcode"]:
        lines.append(f"  Item {b['item_barcode']}" + (" (removed from the catalogue)" if b["item_removed"] else ""))
    for m in b["messages"]:
        who = f"from {m['partner']}" if m["kind"] == "message" else f"note by {m['recorded_by']}"
        state = "ACTIVE" if m["active"] else f"dismissed by {m['dismissed_by']}"
        lines.append(f"  [{m['id']}] {who} {m['at']} ({state}): {m['text']}")
    lines.append(f"  Next: {', '.join(b['allowed']) or 'nothing (final)'}")
    return "\n".join(lines)


# -- commands --------------------------------------------------------------------------------------

def cmd_borrowing(rt: Runtime) -> int:
    """Every ``borrowing`` action subcommand: parse → one engine call → result."""
    from libdesk import borrowing

    a = rt.args
    sub = a.borrowing_command
    db, op = rt.db, rt.operator
    given_at = getattr(a, "at", None)
    at = rt.place(given_at)  # where the action happens, for the history (Currently At by default)
    calls: dict[str, Callable[[], Any]] = {
        "new": lambda: borrowing.new_request(
            db, a.patron, a.title, pickup=a.pickup, operator=op, author=a.author or "", identifier=a.identifier or "",
            partners=_partners(a.partners), note=a.note or "", locate_now=not a.no_locate, at=at),
        "locate": lambda: borrowing.locate(db, a.id, operator=op, at=at),
        "send": lambda: borrowing.send(db, a.id, operator=op, at=at),
        "partner-ship": lambda: borrowing.partner_ship(db, a.id, operator=op, barcode=a.barcode, at=at),
        "partner-reject": lambda: borrowing.partner_reject(db, a.id, operator=op, reason=a.reason or "", at=at),
        "partner-expire": lambda: borrowing.partner_expire(db, a.id, operator=op, at=at),
        "partner-message": lambda: borrowing.partner_message(db, a.id, " ".join(a.text), operator=op, at=at),
        "note": lambda: borrowing.add_note(db, a.id, " ".join(a.text), operator=op, at=at),
        "dismiss": lambda: borrowing.dismiss(db, a.id, a.message_id, operator=op, at=at),
        "receive": lambda: borrowing.receive(db, a.id, at=_desk(rt, at), operator=op, barcode=a.barcode),
        "loan": lambda: borrowing.loan(db, a.id, operator=op, at=given_at),
        "return": lambda: borrowing.return_item(db, a.id, at=_desk(rt, at), operator=op),
        "partner-checkin": lambda: borrowing.partner_checkin(db, a.id, operator=op, at=at),
        "cancel": lambda: borrowing.cancel(db, a.id, by=a.by, operator=op, at=at),
        "complete": lambda: borrowing.complete(db, a.id, operator=op, at=at),
    }
    return _emit_result(rt, calls[sub]())


def cmd_show(rt: Runtime) -> int:
    from libdesk import borrowing

    view = borrowing.show(rt.db, rt.args.id)
    rt.emit(view, lambda: format_request(view))
    return 0


def cmd_history(rt: Runtime) -> int:
    from libdesk import borrowing

    events = borrowing.borrowing_history(rt.db, rt.args.id)
    rt.emit({"borrowing": rt.args.id, "events": events},
            lambda: "\n".join(f"{e['at']}  {e['operator']:<8} {e['place'] or '-':<9} {e['action']:<22} "
                              f"{e['barcode'] or '':<10} {e['message']}" for e in events) or "No history")
    return 0


def cmd_tick(rt: Runtime) -> int:
    """The timed work (partners' timeouts): for cron on a server, or a desk without the app."""
    from libdesk import borrowing

    done = borrowing.tick(rt.db)
    rt.emit(done, lambda: "\n".join(step["message"] for step in done["steps"])
            or f"Nothing due ({done['checked']} requests waiting on a partner)")
    return 0


def cmd_list(rt: Runtime) -> int:
    from libdesk import borrowing

    rows = borrowing.list_requests(rt.db, rt.args.status, limit=rt.args.limit, with_messages=rt.args.with_messages)
    def human() -> str:
        if not rows:
            return "No borrowing requests"
        return "\n".join(f"#{r['id']:<5} {r['status_name']:<31} {r['patron']:<8} {r['partner'] or '-':<9} "
                         f"{r['days']:>4}d  {r['title'][:40]}" + (f"  ({r['active_messages']} msg)"
                                                                 if r["active_messages"] else "")
                         for r in rows)
    rt.emit({"status": rt.args.status, "with_messages": rt.args.with_messages, "requests": rows}, human)
    return 0


def cmd_check(rt: Runtime) -> int:
    from libdesk import borrowing

    data = borrowing.checks(rt.db, rt.args.period, limit=rt.args.limit)
    def human() -> str:
        lines = [f"{data['period'].capitalize()} check — {data['task_count']} active general message(s) (tasks)"]
        for s in data["sections"]:
            todo = f"  → {s['action']}: {s['hint']}" if s["count"] else ""
            lines.append(f"  {s['label']:<34} {s['count']:>5}{todo}")
            for r in s["rows"]:
                if "message_id" in r:
                    lines.append(f"      #{r['id']:<5} [{r['message_id']}] {r['partner'] or r['patron']:<9} "
                                 f"{r['days']:>4}d  {r['text'][:60]}")
                elif "process" in r:
                    lines.append(f"      #{r['id']:<5} {r['process']:<25} {r['barcode'] or '-':<12} {r['where']}")
                else:
                    lines.append(f"      #{r['id']:<5} {r['patron']:<8} {r['partner'] or '-':<9} {r['days']:>4}d  "
                                 f"{r['title'][:44]}")
        return "\n".join(lines)
    rt.emit(data, human)
    return 0


def cmd_report(rt: Runtime) -> int:
    """B8: completed requests not returned properly, by process type; ``-o`` exports them."""
    from libdesk import borrowing, exporting

    data = borrowing.stuck_report(rt.db)
    if rt.args.output:
        written = exporting.export_rows(rt.args.output, *borrowing.export_table("report", data))
        data = {**data, "export": written}
    def human() -> str:
        lines = [f"Completed borrowing requests not returned properly: {data['total']}"]
        for group, rows in data["groups"].items():
            lines.append(f"  {group}: {len(rows)}")
            for r in rows:
                lines.append(f"      #{r['id']:<5} {r['barcode'] or '-':<12} {r['where']:<44} {r['cleanup']}")
        if "export" in data:
            lines.append(f"Exported {data['export']['rows']} row(s) to {data['export']['path']}")
        return "\n".join(lines)
    rt.emit(data, human)
    return 0


# -- parser ----------------------------------------------------------------------------------------

def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``borrowing`` and its subcommands to the ``libdesk`` subparsers ``sub``."""
    from libdesk.cli import _count  # --limit: 1 to 100000, as for every list (cli is loaded by now)

    help_text = "resource-sharing borrowing requests: statuses, partner actions, checks, report"
    p = sub.add_parser("borrowing", parents=[common], help=help_text, description=help_text)
    p.set_defaults(func=lambda rt: 0)
    bsub = p.add_subparsers(dest="borrowing_command", metavar="|".join(SUBCOMMANDS), required=True)

    def add(name: str, func: Callable[[Runtime], int], text: str, *, ident: bool = True,
            at: str | None = "where you are, for the history (else Currently At)",
            at_metavar: str = "PLACE") -> argparse.ArgumentParser:
        q = bsub.add_parser(name, parents=[common], help=text, description=text)
        if ident:
            q.add_argument("id", type=int, metavar="ID", help="the borrowing request")
        if at is not None:
            q.add_argument("--at", metavar=at_metavar, help=at)
        q.set_defaults(func=func)
        return q

    q = add("new", cmd_borrowing, "a new borrowing request: Locate in Process, then the locate forms the rota",
            ident=False)
    q.add_argument("--patron", required=True)
    q.add_argument("--title", required=True)
    q.add_argument("--author")
    q.add_argument("--identifier", help="ISBN, OCLC number …")
    q.add_argument("--partners", metavar="CODE,CODE",
                   help="partners to ask, in order (default: the institution's partners; '' = none holds it)")
    q.add_argument("--pickup", required=True, metavar="DESK")
    q.add_argument("--note", help="a staff note (an Active Note until dismissed)")
    q.add_argument("--no-locate", action="store_true", help="leave it in Locate in Process (a locate that hung)")
    add("show", cmd_show, "one request: status, rota, current partner, messages, item", at=None)
    add("history", cmd_history, "the request's audit trail (its item's loans and transits too)", at=None)
    q = add("list", cmd_list, "borrowing requests, newest first", ident=False, at=None)
    q.add_argument("--status", help="only this status (code or name, e.g. ready_to_be_sent)")
    q.add_argument("--with-messages", action="store_true",
                   help="only requests with an active general message from a lender (to read and dismiss)")
    q.add_argument("--limit", type=_count, default=500)
    add("tick", cmd_tick, "the timed work: requests a partner did not answer in time go to the next partner "
                          "(recorded as the system's; the app does it at start and hourly)", ident=False, at=None)
    add("locate", cmd_borrowing, "run the locate again for a request in Locate in Process")
    add("send", cmd_borrowing, "send a Ready to be Sent request to the first partner of its rota")
    q = add("partner-ship", cmd_borrowing, "record: the partner shipped the item (Shipped Physically)")
    q.add_argument("--barcode", help="the lender's barcode, when known (receive uses it)")
    q = add("partner-reject", cmd_borrowing, "record: the partner rejected (next partner, or Rejected by Partner)")
    q.add_argument("--reason")
    add("partner-expire", cmd_borrowing, "record: the request expired at the partner (next partner, or Expired)")
    q = add("partner-message", cmd_borrowing, "record a general message from the partner (B6)")
    q.add_argument("text", nargs="+", metavar="TEXT")
    q = add("note", cmd_borrowing, "add a staff note (an Active Note until dismissed)")
    q.add_argument("text", nargs="+", metavar="TEXT")
    q = add("dismiss", cmd_borrowing, "dismiss a message or note (default: every active general message)")
    q.add_argument("message_id", type=int, nargs="?", metavar="MESSAGE_ID")
    q = add("receive", cmd_borrowing, "receive the lender's item: a temporary item on the pickup hold shelf",
            at="the receiving desk (else Currently At)", at_metavar="DESK")
    q.add_argument("--barcode", help="the temporary item's barcode (default: the lender's, else RS + id)")
    add("loan", cmd_borrowing, "lend the received item to the request's patron",
        at="the desk (default: the pickup desk)", at_metavar="DESK")
    add("return", cmd_borrowing, "return the item: to the lender, or via the resource-sharing desk",
        at="the desk where it is returned (else Currently At)", at_metavar="DESK")
    add("partner-checkin", cmd_borrowing, "record: the lender checked the item in (Request Completed)")
    q = add("cancel", cmd_borrowing, "cancel the request (patron from their account, or staff)")
    q.add_argument("--by", choices=["patron", "staff"], default="patron")
    add("complete", cmd_borrowing, "route a Locate Failed / Locate in Process request to Request Completed")
    q = add("check", cmd_check, "the daily, weekly or monthly check (the seed's states, oldest first)",
            ident=False, at=None)
    q.add_argument("period", choices=["daily", "weekly", "monthly"])
    q.add_argument("--limit", type=_count, default=200, help="rows per state (counts are always complete)")
    q = add("report", cmd_report, "completed requests not returned properly, by process type (monthly)",
            ident=False, at=None)
    q.add_argument("-o", "--output", metavar="FILE", help="export to FILE.csv or FILE.xlsx")
