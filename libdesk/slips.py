"""Slips: the paper that travels with an item. Work-order slips (Manage In Process Items' row
action "Print slip"); transit slips and hold slips (Scan In and Return Items offer them on
one key when an item goes In Transit or onto the hold shelf).

A slip says what the item is, which work order it is in (type, department, status, since,
expiry, who started it and why) and where it goes when Done (its first waiting request, else
home), so a person picking it up off a truck knows what to do with it. Printing goes to the
system's ``lp`` when there is one, else the slip is saved as a text file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path

from libdesk import clock, config
from libdesk.core import count_of
from libdesk.db import Database
from libdesk.errors import ConfigError, WrongState
from libdesk.queries import item_show

WIDTH = 48


def work_order_slip(db: Database, barcode: str) -> str:
    """The slip of an item in a work order, as plain text.

    Raises:
        NotFound: unknown barcode. WrongState: the item is not in a work order.
    """
    item = item_show(db, barcode)
    if item["process_type"] != "work_order":
        raise WrongState(f"Item {barcode} is not in a work order: there is no slip to print")
    inst = db.institution
    wo = inst.work_order_types.get(item["work_order_type"] or "")
    current = next((r for r in item["requests"] if r["step"] == "in_process"), None)
    waiting = [r for r in item["requests"] if r["step"] != "in_process"]
    if waiting:
        head = waiting[0]
        then = (f"hold for patron {head['patron']} at {inst.place_name(head['pickup'])}" if head["kind"] == "patron"
                else f"{inst.work_order_types[head['work_order_type']].name} at {inst.place_name(head['department'])}")
    else:
        then = f"home: {inst.place_name(item['home'])}"
    lines = [
        "=" * WIDTH,
        f"{(wo.name if wo else item['work_order_type'])} work order".upper()[:WIDTH],
        "=" * WIDTH,
        f"Barcode     {item['barcode']}",
        f"Title       {item['title'][:WIDTH - 12]}",
        f"Call number {item['call_number']}",
        f"Owner       {inst.libraries[item['library']].name if item['library'] in inst.libraries else item['library']}",
        "-" * WIDTH,
        f"Department  {inst.place_name(item['department'])}",
        f"Status      {item['status'] or '(none)'}",
        f"Since       {(item['in_department_since'] or '')[:10]}",
    ]
    if current is not None:
        lines += [f"Expiry      {current['expiry'] or '-'}", f"Started by  {current['creator']}"]
        if current["note"]:
            lines.append(f"Note        {current['note'][:WIDTH - 12]}")
    lines += ["-" * WIDTH, "When Done, goes to:", f"  {then}"[:WIDTH],
              f"({count_of(len(waiting), 'request')} waiting)" if waiting else "", "=" * WIDTH,
              f"Printed {clock.now().isoformat(sep=' ', timespec='minutes')}"]
    return "\n".join(line for line in lines if line != "") + "\n"


def _big(text: str) -> list[str]:
    """A destination printed big on a text slip: framed, upper case, letters spaced out (read
    from across the sorting table), wrapped by words inside the frame."""
    inner = WIDTH - 4
    rows = textwrap.wrap(text.upper(), (inner + 1) // 2, break_long_words=True) or [""]
    return ["#" * WIDTH, *(f"# {' '.join(row).center(inner)} #" for row in rows), "#" * WIDTH]


def _destination_name(db: Database, code: str | None) -> str:
    if code and code.startswith("partner:"):
        from libdesk import borrowing  # lazy: only a slip back to a lender needs it

        return f"Lender: {borrowing.partner_label(db.institution, code.removeprefix('partner:'))}"
    return db.institution.place_name(code) if code else "?"


def routing_slip(db: Database, barcode: str) -> str:
    """The transit slip (an item In Transit: where to, for which request) or the hold slip (an
    item on a hold shelf: the patron it waits for, until when) of an item, as plain text; the
    destination big, then barcode and title.

    Raises:
        NotFound: unknown barcode. WrongState: neither in transit nor on a hold shelf.
    """
    item = item_show(db, barcode)
    inst = db.institution
    process = item["process_type"]
    lines: list[str]
    if process == "transit":
        dest = item["transit_to"]
        lines = ["IN TRANSIT TO", *_big(_destination_name(db, dest)), f"({dest})"]
        serving = next((r for r in item["requests"] if r["step"] == "transit_item"), None)
        if serving is not None and serving["kind"] == "patron":
            lines.append(f"For patron  {serving['patron']} (request {serving['id']})")
        elif serving is not None:
            kind = inst.work_order_types.get(serving["work_order_type"])  # a type since removed: its code
            lines.append(f"For         {kind.name if kind else serving['work_order_type']} work order "
                         f"(request {serving['id']})")
        elif dest == item["home"]:
            lines.append("Going home")
    elif item["hold_shelf"] and process in ("hold_shelf", "resource_sharing"):
        from libdesk.circulation import hold_shelf  # lazy: circulation imports much of the engine

        row = next((r for r in hold_shelf(db, item["hold_shelf"]) if r["barcode"] == barcode), None)
        lines = ["HOLD SHELF", *_big(f"Patron {row['patron']}" if row else "Hold shelf"),
                 f"at {inst.place_name(item['hold_shelf'])}"]
        if row is not None:
            lines.append(f"Pick up by  {row['until'] or '-'}")
            if row["borrowed_from"]:
                lines.append(f"Borrowed    {row['borrowed_from'][:WIDTH - 12]}")
    else:
        raise WrongState(f"Item {barcode} is neither in transit nor on a hold shelf: there is no transit or "
                         "hold slip to print")
    lines += ["-" * WIDTH, f"Barcode     {item['barcode']}", f"Title       {item['title'][:WIDTH - 12]}",
              f"Call number {item['call_number']}", "=" * WIDTH,
              f"Printed {clock.now().isoformat(sep=' ', timespec='minutes')}"]
    return "\n".join(lines) + "\n"


def slip_for(db: Database, barcode: str) -> str:
    """The slip an item needs now: its work-order slip in a work order, else its transit or
    hold slip.

    Raises:
        NotFound. WrongState: the item needs no slip (in place, on loan...).
    """
    if item_show(db, barcode)["process_type"] == "work_order":
        return work_order_slip(db, barcode)
    return routing_slip(db, barcode)


def print_slip(text: str, barcode: str, *, printer: str | None = None, to_file: Path | None = None) -> str:
    """Send a slip to the printer (``lp``), or save it; returns where it went, in words.

    Raises:
        ConfigError: the printer refused it, or the file cannot be written.
    """
    if to_file is None and shutil.which("lp"):
        cmd = ["lp", *(["-d", printer] if printer else []), "-t", f"slip {barcode}"]
        proc = subprocess.run(cmd, input=text, text=True, capture_output=True, timeout=30)
        if proc.returncode != 0:
            raise ConfigError(f"The printer refused the slip: {proc.stderr.strip() or proc.returncode}")
        return f"sent to the printer{f' {printer}' if printer else ''}"
    path = to_file or config.data_dir() / "slips" / f"{safe_file_name(barcode)}-{clock.now():%Y%m%d-%H%M%S}.txt"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot save the slip: {exc.strerror}") from None
    return f"saved to {path}"


def safe_file_name(text: str) -> str:
    """A file name made from data (a barcode): only letters, digits, ``.``, ``_`` and ``-``,
    no leading dot and at most 64 characters, so it can never name a folder or leave the
    slips folder (``../../x`` becomes ``.._.._x`` then ``_.._x``)."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", text)[:64].lstrip(".")
    return name or "slip"
