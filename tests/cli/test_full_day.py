"""A desk day driven through the ``libdesk`` command line, one subprocess per action.

Each story starts from a copy of one database made once by ``libdesk init`` and
``libdesk import items`` (a small CSV written here) and runs every action with ``--json``
under a frozen clock (``LIBDESK_FROZEN_TIME``, advanced step by step). After every step the
action's result item and ``libdesk item show BARCODE --json`` (run on a snapshot of the
database taken right after the step) must show the fields SPEC section 1 names;
``libdesk item history --json`` must then show each step with its time, operator and place.

Stories:
- the acquisition day: Receiving with Keep in Department at ITS625 (W13), status moves (W1),
  a patron request from a circulation desk (Q4), Done routes to its pickup desk (W4, W5),
  hold shelf, loan, return at another library's desk, In Transit home, reshelve (W6, W10);
- a work-order request on a loaned item, Activated (Q2, Q3, W9, W11, W15, W16);
- the seed's Collections Care story from Return Items (W10, W11, W1, W4, W5, W17).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

LIBDESK = [sys.executable, "-m", "libdesk.cli"]
DAY = "2026-03-02"
DUE = "2026-03-30"  # DAY + loan_days (28)
RECALLED_DUE = "2026-03-09"  # DAY + recall_days (7)
TS_EXPIRY = "2026-03-16"  # arrival + 14 Days in Department (ITS625)
PRES_EXPIRY = "2026-04-01"  # arrival + 30 Days in Department (CCWID)

ITEMS_CSV = """\
barcode,title,author,call_number,material_type,library,location,process_type
ACQ-0001,A New Acquisition,Author A,QA 100 .A1,BOOK,WID,WID-STACKS,acquisition
WID-0001,A Widener Book,Author B,QA 200 .B2,BOOK,WID,WID-STACKS,
WID-0002,A Damaged Book,Author C,QA 300 .C3,BOOK,WID,WID-STACKS,
LAW-0001,A Law Book,Author D,KF 100 .D4,BOOK,LAW,LAW-STACKS,
"""

ITEM_FIELDS = ("process_type", "work_order_type", "department", "status", "transit_to", "base_status", "loan")
REQUEST_FIELDS = ("kind", "forced", "step", "pickup", "department", "creator", "expiry")


# -- running libdesk ---------------------------------------------------------------------------

def libdesk_env(home: Path, when: str) -> dict[str, str]:
    """The environment of one run: no LIBDESK_* from outside, a private home, a frozen clock."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")}
    env["LIBDESK_HOME"] = str(home)
    env["LIBDESK_FROZEN_TIME"] = when
    return env


def run_libdesk(args: Iterable[str], home: Path, when: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LIBDESK, *args], check=False, env=libdesk_env(home, when), capture_output=True, text=True,
                          timeout=60)


def copy_db(source: Path, target: Path) -> Path:
    """Copy a SQLite database with any WAL/SHM sidecars, so the copy sees every commit."""
    shutil.copy(source, target)
    for suffix in ("-wal", "-shm"):
        side = Path(str(source) + suffix)
        if side.exists():
            shutil.copy(side, str(target) + suffix)
    return target


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database for the whole module: ``libdesk init`` + ``libdesk import items``."""
    root = tmp_path_factory.mktemp("day-base")
    home = root / "home"
    db = root / "base.db"
    csv_file = root / "items.csv"
    csv_file.write_text(ITEMS_CSV, encoding="utf-8")
    when = f"{DAY}T08:00:00"
    for args in (["--db", str(db), "init", "--json"], ["--db", str(db), "import", "items", str(csv_file), "--json"]):
        proc = run_libdesk(args, home, when)
        assert proc.returncode == 0, f"libdesk {' '.join(args)} failed: {proc.stderr}"
        json.loads(proc.stdout)
    return db


# Reads (``item show`` after every step, ``item history``, ``public``, ``request list``): the
# same command lines, each run on a snapshot of the database taken right after the step it
# checks, all of a story's reads in one interpreter (the CLI's main() called once per
# command line, as the console script calls it). This saves a Python start-up (about half a
# second of importing SQLAlchemy) per read; every action is still its own process.
READ_MANY = r"""
import contextlib, io, json, sys
from libdesk.cli import main
results = []
for argv in json.loads(sys.stdin.read()):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    results.append({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
json.dump(results, sys.__stdout__)
"""


class Desk:
    """One workstation on one database copy; every action is one ``libdesk`` subprocess."""

    def __init__(self, db: Path, home: Path) -> None:
        self.db = db
        self.home = home
        self.actions = 0
        self.reads: list[tuple[list[str], str, Callable[[dict[str, Any]], None]]] = []

    def run(self, *args: str, at: str, operator: str | None = None) -> dict[str, Any]:
        """Run ``libdesk --db DB [--operator OP] ARGS --json`` at the time ``at`` (HH:MM) of
        the day; it must succeed, print one JSON document and nothing on stderr."""
        argv = ["--db", str(self.db)]
        if operator is not None:
            argv += ["--operator", operator]
        argv += [*args, "--json"]
        self.actions += 1
        proc = run_libdesk(argv, self.home, f"{DAY}T{at}:00")
        where = f"libdesk {' '.join(argv[2:])}"
        assert proc.returncode == 0, f"{where}: exit {proc.returncode}, stderr: {proc.stderr.strip()}"
        assert proc.stderr == "", f"{where}: unexpected stderr: {proc.stderr!r}"
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{where}: --json output does not parse ({exc}): {proc.stdout!r}") from None

    def read_later(self, args: list[str], label: str, check: Callable[[dict[str, Any]], None]) -> None:
        """Run ``libdesk ARGS --json`` on the database as it is now, at :meth:`verify`."""
        snapshot = self.db.with_name(f"after-action-{self.actions:02d}.db")
        if not snapshot.exists():  # the last action's process has exited: the file is complete
            copy_db(self.db, snapshot)
        self.reads.append((["--db", str(snapshot), *args, "--json"], label, check))

    def show_later(self, barcode: str, step: str, expected: dict[str, Any],
                   result_item: dict[str, Any] | None) -> None:
        def check(item: dict[str, Any]) -> None:
            where = f"after {step}: libdesk item show {barcode} --json"
            assert item["barcode"] == barcode, where
            assert picked(item, expected) == expected, where
            if result_item is not None:
                assert result_item == item, f"{where}: differs from the item in the step's result"
        self.read_later(["item", "show", barcode], f"item show after {step}", check)

    def verify(self) -> None:
        """Run the reads and their checks, in order."""
        reads, self.reads = self.reads, []
        if not reads:
            return
        proc = subprocess.run([sys.executable, "-c", READ_MANY], check=False,
                              input=json.dumps([argv for argv, *_ in reads]),
                              env=libdesk_env(self.home, f"{DAY}T23:00:00"), capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr
        for (argv, label, check), run in zip(reads, json.loads(proc.stdout), strict=True):
            where = f"{label}: libdesk {' '.join(argv[2:])}"
            assert run["code"] == 0 and run["stderr"] == "", f"{where}: exit {run['code']}: {run['stderr']}"
            try:
                data = json.loads(run["stdout"])
            except json.JSONDecodeError as exc:
                raise AssertionError(f"{where}: --json output does not parse ({exc}): {run['stdout']!r}") from None
            check(data)

    def history_later(self, barcode: str, expected: list[tuple[str, Event]],
                      also: Callable[[list[dict[str, Any]]], None] | None = None) -> None:
        def check(data: dict[str, Any]) -> None:
            assert data["barcode"] == barcode
            assert_history(data["events"], expected)
            if also is not None:
                also(data["events"])
        self.read_later(["item", "history", barcode], "history", check)


@pytest.fixture
def desk(base_db: Path, tmp_path: Path) -> Desk:
    return Desk(copy_db(base_db, tmp_path / "desk.db"), tmp_path / "home")


# The stories are independent (each on its own database copy) and each is a string of
# subprocesses, so they run side by side, two at a time; each test waits for its story and
# re-raises whatever the story's checks raised.
STORIES: dict[str, Callable[[Desk], None]] = {}


def story(func: Callable[[Desk], None]) -> Callable[[Desk], None]:
    STORIES[func.__name__] = func
    return func


@pytest.fixture(scope="module")
def stories(base_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[None]]]:
    root = tmp_path_factory.mktemp("stories")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {}
        for name, func in STORIES.items():
            (root / name).mkdir()
            desk = Desk(copy_db(base_db, root / name / "desk.db"), root / name / "home")
            futures[name] = pool.submit(func, desk)
        yield futures


# -- expected states ---------------------------------------------------------------------------

def req(kind: str, step: str, *, creator: str, forced: bool = False, pickup: str | None = None,
        department: str | None = None, expiry: str | None = None, **more: Any) -> dict[str, Any]:
    """An expected request in the queue (``more``: further fields, e.g. patron, note)."""
    return {"kind": kind, "forced": forced, "step": step, "pickup": pickup, "department": department,
            "creator": creator, "expiry": expiry, **more}


def state(process_type: str | None = None, *, work_order_type: str | None = None, department: str | None = None,
          status: str | None = None, transit_to: str | None = None, loan: dict[str, str] | None = None,
          requests: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "process_type": process_type, "work_order_type": work_order_type, "department": department,
        "status": status, "transit_to": transit_to,
        "base_status": "in_place" if process_type is None else "not_in_place",
        "loan": loan, "requests": requests or [],
    }


def picked(item: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The part of ``item`` that ``expected`` speaks about (requests: their named fields)."""
    out = {k: item.get(k, "<missing>") for k in ITEM_FIELDS}
    out["requests"] = [
        {k: r.get(k, "<missing>") for k in want}
        for r, want in zip(item.get("requests", []), expected["requests"], strict=False)
    ]
    if len(item.get("requests", [])) != len(expected["requests"]):
        out["requests"].append(f"<{len(item.get('requests', []))} requests in the queue>")
    return out


def check(desk: Desk, barcode: str, step: str, expected: dict[str, Any],
          result: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The action's result item must match ``expected`` now; ``item show`` is compared too
    (see :meth:`Desk.verify`). Returns the result's item."""
    item = None
    if result is not None:
        assert result["barcode"] == barcode, f"after {step}: result barcode"
        item = result["item"]
        assert picked(item, expected) == expected, f"after {step}: the result's item"
    desk.show_later(barcode, step, expected, item)
    return item


def request_id(item: dict[str, Any], **match: Any) -> int:
    found = [r["id"] for r in item["requests"] if all(r.get(k) == v for k, v in match.items())]
    assert len(found) == 1, f"one request matching {match} in {item['requests']}"
    return found[0]


Event = Callable[[dict[str, Any]], bool]


def ev(at: str, operator: str, place: str | None, **after: Any) -> tuple[str, Event]:
    """An expected history event: time, operator, place, and what it set (a subset of ``after``)."""
    def matches(e: dict[str, Any]) -> bool:
        got = e.get("after") or {}
        return (e.get("at") == f"{DAY}T{at}:00" and e.get("operator") == operator and e.get("place") == place
                and all(k in got and got[k] == v for k, v in after.items()))
    return f"{at} {operator}@{place} {after}", matches


def assert_history(events: list[dict[str, Any]], expected: list[tuple[str, Event]]) -> None:
    """Each expected event appears, in this order (other events may come between)."""
    position = 0
    for label, matches in expected:
        while position < len(events) and not matches(events[position]):
            position += 1
        if position == len(events):
            shown = "\n".join(f"  {e.get('at')} {e.get('operator')}@{e.get('place')} {e.get('action')} {e.get('after')}"
                              for e in events)
            raise AssertionError(f"history lacks (in order) the event {label}; history:\n{shown}")
        position += 1
    for e in events:
        assert e["operator"] in {"admin", "its", "circ", "cc"}, f"event without a known operator: {e}"


# -- the stories -------------------------------------------------------------------------------

@story
def acquisition_day_receive_to_reshelve(desk: Desk) -> None:
    bc = "ACQ-0001"
    check(desk, bc, "import", state("acquisition"))

    r = desk.run("receive", bc, "--at", "ITS625", "--keep-in-department", "--status", "Cataloging",
                 operator="its", at="09:00")
    assert r["destination"] == "ITS625"
    wo = req("work_order", "in_process", creator="its", department="ITS625", expiry=TS_EXPIRY, work_order_type="TS")
    ts = {"work_order_type": "TS", "department": "ITS625"}
    check(desk, bc, "receive, keep in department", state("work_order", **ts, status="Cataloging", requests=[wo]), r)

    r = desk.run("scan", bc, "--at", "ITS625", "--status", "Processing", operator="its", at="09:30")
    check(desk, bc, "scan Processing", state("work_order", **ts, status="Processing", requests=[wo]), r)
    r = desk.run("scan", bc, "--at", "ITS625", "--status", "Shelf Prep", operator="its", at="10:00")
    check(desk, bc, "scan Shelf Prep", state("work_order", **ts, status="Shelf Prep", requests=[wo]), r)

    # Q4: a patron asks for the item while it is in process; placed at a circulation desk.
    r = desk.run("request", "place", bc, "--patron", "P0003", "--pickup", "LAW-CIRC", "--at", "WID-CIRC",
                 operator="circ", at="10:15")
    patron_req = req("patron", "waiting", creator="circ", pickup="LAW-CIRC", patron="P0003")
    check(desk, bc, "request place", state("work_order", **ts, status="Shelf Prep", requests=[wo, patron_req]), r)

    # W4/W5: Done sends it to fill the patron request at its pickup desk.
    r = desk.run("scan", bc, "--at", "ITS625", "--done", operator="its", at="11:00")
    assert r["destination"] == "LAW-CIRC", r["message"]
    on_way = req("patron", "transit_item", creator="circ", pickup="LAW-CIRC", patron="P0003")
    check(desk, bc, "Done", state("transit", transit_to="LAW-CIRC", requests=[on_way]), r)

    r = desk.run("scan", bc, "--at", "LAW-CIRC", operator="circ", at="13:00")
    assert r["destination"] == "LAW-CIRC", r["message"]
    waiting = req("patron", "on_hold_shelf", creator="circ", pickup="LAW-CIRC", patron="P0003")
    check(desk, bc, "scan in at LAW-CIRC", state("hold_shelf", requests=[waiting]), r)

    r = desk.run("loan", bc, "--patron", "P0003", "--at", "LAW-CIRC", operator="circ", at="13:05")
    check(desk, bc, "loan", state("loan", loan={"patron": "P0003", "due": DUE}), r)

    # W10: returned at another library's desk → In Transit home.
    r = desk.run("return", bc, "--at", "LAW-CIRC", operator="circ", at="15:00")
    assert r["destination"] == "WID-CIRC", r["message"]
    check(desk, bc, "return at LAW-CIRC", state("transit", transit_to="WID-CIRC"), r)

    # W6: arriving home → In place (reshelve).
    r = desk.run("scan", bc, "--at", "WID-CIRC", operator="circ", at="16:00")
    assert r["destination"] is None, r["message"]
    assert "reshelve" in r["message"].lower()
    check(desk, bc, "scan in at WID-CIRC", state(None), r)

    desk.history_later(bc, [
        ev("09:00", "its", "ITS625", process_type="work_order", department="ITS625", status="Cataloging"),
        ev("09:30", "its", "ITS625", status="Processing"),
        ev("10:00", "its", "ITS625", status="Shelf Prep"),
        ev("10:15", "circ", "WID-CIRC", kind="patron", patron="P0003", pickup="LAW-CIRC"),
        ev("11:00", "its", "ITS625", process_type="transit", transit_to="LAW-CIRC"),
        ev("13:00", "circ", "LAW-CIRC", process_type="hold_shelf"),
        ev("13:05", "circ", "LAW-CIRC", process_type="loan", loan_patron="P0003"),
        ev("15:00", "circ", "LAW-CIRC", loan_patron=None),
        ev("15:00", "circ", "LAW-CIRC", process_type="transit", transit_to="WID-CIRC"),
        ev("16:00", "circ", "WID-CIRC", process_type=None),
    ])
    desk.verify()


@story
def activated_work_order_request_on_a_loaned_item(desk: Desk) -> None:
    bc = "WID-0001"
    r = desk.run("loan", bc, "--patron", "P0001", "--at", "WID-CIRC", operator="circ", at="09:10")
    check(desk, bc, "loan", state("loan", loan={"patron": "P0001", "due": DUE}), r)

    # Q3: a patron request recalls the loan.
    r = desk.run("request", "place", bc, "--patron", "P0002", "--pickup", "WID-CIRC", "--at", "WID-CIRC",
                 operator="circ", at="09:20")
    recalled = {"patron": "P0001", "due": RECALLED_DUE}
    patron_req = req("patron", "waiting", creator="circ", pickup="WID-CIRC", patron="P0002")
    check(desk, bc, "request place", state("loan", loan=recalled, requests=[patron_req]), r)

    # W11 / Q3: a work-order request on a loaned item waits and recalls nothing.
    r = desk.run("workorder", bc, "--type", "PRES", "--department", "CCWID", "--note", "loose spine",
                 "--at", "WID-CIRC", operator="circ", at="09:40")
    wo_req = req("work_order", "waiting", creator="circ", department="CCWID", work_order_type="PRES",
                 note="loose spine")
    item = check(desk, bc, "workorder", state("loan", loan=recalled, requests=[patron_req, wo_req]), r)

    # Q2: Activate makes it Forced and first; the loan is not recalled again.
    assert item is not None
    wo_id = request_id(item, kind="work_order")
    r = desk.run("request", "activate", str(wo_id), "--at", "CCWID", operator="cc", at="10:30")
    forced = {**wo_req, "forced": True}
    check(desk, bc, "request activate", state("loan", loan=recalled, requests=[forced, patron_req]), r)

    def forced_first(data: dict[str, Any]) -> None:
        assert [r["id"] for r in data["requests"]][:1] == [wo_id], data
    desk.read_later(["request", "list", bc], "request list after activate", forced_first)

    # Returned: the forced work order goes first (W5), the patron request waits (W9).
    r = desk.run("return", bc, "--at", "WID-CIRC", operator="circ", at="11:30")
    assert r["destination"] == "CCWID", r["message"]
    check(desk, bc, "return", state("transit", transit_to="CCWID",
                                    requests=[{**forced, "step": "transit_item"}, patron_req]), r)

    # Arrival at the department: In Process, expiry = arrival + Days in Department (W16);
    # the creator is still circ (W15).
    r = desk.run("scan", bc, "--at", "CCWID", "--status", "Assessment", operator="cc", at="12:00")
    in_process = {**forced, "step": "in_process", "expiry": PRES_EXPIRY}
    pres = {"work_order_type": "PRES", "department": "CCWID"}
    check(desk, bc, "scan in at CCWID", state("work_order", **pres, status="Assessment",
                                              requests=[in_process, patron_req]), r)

    r = desk.run("scan", bc, "--at", "CCWID", "--done", operator="cc", at="14:00")
    assert r["destination"] == "WID-CIRC", r["message"]
    check(desk, bc, "Done", state("transit", transit_to="WID-CIRC",
                                  requests=[{**patron_req, "step": "transit_item"}]), r)

    r = desk.run("scan", bc, "--at", "WID-CIRC", operator="circ", at="15:30")
    assert r["destination"] == "WID-CIRC", r["message"]
    check(desk, bc, "scan in at WID-CIRC", state("hold_shelf", requests=[{**patron_req, "step": "on_hold_shelf"}]), r)

    def only_the_patron_request_recalls(events: list[dict[str, Any]]) -> None:
        # Q3: only the patron request changed the due date; the work order and Activate did not.
        due_set = [e["at"][11:16] for e in events if (e.get("after") or {}).get("loan_due") is not None]
        assert due_set == ["09:10", "09:20"], events

    desk.history_later(bc, [
        ev("09:10", "circ", "WID-CIRC", process_type="loan", loan_patron="P0001"),
        ev("09:20", "circ", "WID-CIRC", kind="patron", patron="P0002"),
        ev("09:20", "circ", "WID-CIRC", loan_due=RECALLED_DUE),
        ev("09:40", "circ", "WID-CIRC", kind="work_order", department="CCWID", note="loose spine"),
        ev("10:30", "cc", "CCWID", forced=True),
        ev("11:30", "circ", "WID-CIRC", loan_patron=None),
        ev("11:30", "circ", "WID-CIRC", process_type="transit", transit_to="CCWID"),
        ev("12:00", "cc", "CCWID", process_type="work_order", department="CCWID", status="Assessment"),
        ev("14:00", "cc", "CCWID", process_type="transit", transit_to="WID-CIRC"),
        ev("15:30", "circ", "WID-CIRC", process_type="hold_shelf"),
    ], also=only_the_patron_request_recalls)
    desk.verify()


@story
def collections_care_story_from_return_items(desk: Desk) -> None:
    """Seed 000: a damaged book comes back at the desk; Work Order from the Return Items row,
    in hand, to Collections Care (Widener); Pocket, then Unknown Substance; Done → home."""
    bc = "WID-0002"
    r = desk.run("loan", bc, "--patron", "P0005", "--at", "WID-CIRC", operator="circ", at="09:00")
    check(desk, bc, "loan", state("loan", loan={"patron": "P0005", "due": DUE}), r)

    r = desk.run("return", bc, "--at", "WID-CIRC", operator="circ", at="10:00")
    assert r["destination"] is None and "reshelve" in r["message"].lower(), r["message"]
    check(desk, bc, "return", state(None), r)

    note = "Pages stuck together; pocket missing"
    r = desk.run("workorder", bc, "--type", "PRES", "--department", "CCWID", "--in-hand", "--note", note,
                 "--at", "WID-CIRC", operator="circ", at="10:01")
    assert r["destination"] == "CCWID", r["message"]
    wo_req = req("work_order", "transit_item", creator="circ", department="CCWID", work_order_type="PRES",
                 note=note, in_hand=True)
    check(desk, bc, "workorder --in-hand", state("transit", transit_to="CCWID", requests=[wo_req]), r)

    pres = {"work_order_type": "PRES", "department": "CCWID"}
    in_process = {**wo_req, "step": "in_process", "expiry": PRES_EXPIRY}
    r = desk.run("scan", bc, "--at", "CCWID", "--status", "Pocket", operator="cc", at="11:00")
    assert r["destination"] == "CCWID", r["message"]
    check(desk, bc, "scan Pocket", state("work_order", **pres, status="Pocket", requests=[in_process]), r)

    # W17: the public view names the work-order type, never the status or department.
    def type_but_not_status_or_department(public: dict[str, Any]) -> None:
        shown = json.dumps(public)
        assert "Preservation" in shown, public
        assert "Pocket" not in shown and "CCWID" not in shown and "Collections Care (Widener)" not in shown, public
    desk.read_later(["public", bc], "public view in Pocket", type_but_not_status_or_department)

    r = desk.run("scan", bc, "--at", "CCWID", "--status", "Unknown Substance", operator="cc", at="13:00")
    check(desk, bc, "scan Unknown Substance",
          state("work_order", **pres, status="Unknown Substance", requests=[in_process]), r)

    r = desk.run("scan", bc, "--at", "CCWID", "--done", operator="cc", at="15:00")
    assert r["destination"] == "WID-CIRC", r["message"]
    check(desk, bc, "Done", state("transit", transit_to="WID-CIRC"), r)

    r = desk.run("scan", bc, "--at", "WID-CIRC", operator="circ", at="16:00")
    assert r["destination"] is None, r["message"]
    check(desk, bc, "scan in at WID-CIRC", state(None), r)

    desk.history_later(bc, [
        ev("09:00", "circ", "WID-CIRC", process_type="loan", loan_patron="P0005"),
        ev("10:00", "circ", "WID-CIRC", loan_patron=None),
        ev("10:01", "circ", "WID-CIRC", kind="work_order", department="CCWID", note=note),
        ev("10:01", "circ", "WID-CIRC", process_type="transit", transit_to="CCWID"),
        ev("11:00", "cc", "CCWID", process_type="work_order", department="CCWID", status="Pocket"),
        ev("13:00", "cc", "CCWID", status="Unknown Substance"),
        ev("15:00", "cc", "CCWID", process_type="transit", transit_to="WID-CIRC"),
        ev("16:00", "circ", "WID-CIRC", process_type=None),
    ])
    desk.verify()


def test_acquisition_day_receive_to_reshelve(stories: dict[str, Future[None]]) -> None:
    stories["acquisition_day_receive_to_reshelve"].result()


def test_activated_work_order_request_on_a_loaned_item(stories: dict[str, Future[None]]) -> None:
    stories["activated_work_order_request_on_a_loaned_item"].result()


def test_collections_care_story_from_return_items(stories: dict[str, Future[None]]) -> None:
    stories["collections_care_story_from_return_items"].result()


def test_human_output_of_item_show(desk: Desk) -> None:
    """Without --json the same commands print text for a person (and exit 0)."""
    proc = run_libdesk(["--db", str(desk.db), "item", "show", "LAW-0001"], desk.home, f"{DAY}T09:00:00")
    assert proc.returncode == 0, proc.stderr
    assert "LAW-0001" in proc.stdout and "A Law Book" in proc.stdout
    assert proc.stderr == ""
