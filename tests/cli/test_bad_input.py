"""Bad input at the command line (SPEC section 1): a user error exits 1 with exactly one line
on stderr, no traceback, nothing on stdout, and the database unchanged; a usage error exits 2.

Every case runs ``libdesk`` as a subprocess on its own copy of one database made once
(``libdesk init`` + ``libdesk import items`` + one item put in a Collections Care work order),
and "unchanged" is a digest of every row of every table (and the schema) before and after.
The cases are independent, so they run two at a time in threads (each subprocess is about
half a second of Python start-up); each case is still its own test.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

LIBDESK = [sys.executable, "-m", "libdesk.cli"]
NOW = "2026-03-02T09:00:00"
HEADER = "barcode,title,author,call_number,material_type,library,location"
ITEMS_CSV = f"""\
{HEADER},process_type
ACQ-0001,A New Acquisition,Author A,QA 100,BOOK,WID,WID-STACKS,acquisition
WID-0001,A Widener Book,Author B,QA 200,BOOK,WID,WID-STACKS,
WID-0002,Another Widener Book,Author C,QA 300,BOOK,WID,WID-STACKS,
WIP-0001,A Book in Collections Care,Author D,QA 400,BOOK,WID,WID-STACKS,
LAW-0001,A Law Book,Author E,KF 100,BOOK,LAW,LAW-STACKS,
"""
DEMO_TOML = Path(__file__).resolve().parents[2] / "data" / "demo.toml"


def libdesk_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")}
    env["LIBDESK_HOME"] = str(home)
    env["LIBDESK_FROZEN_TIME"] = NOW
    return env


def run_libdesk(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LIBDESK, *args], check=False, env=libdesk_env(home), capture_output=True, text=True,
                          timeout=60)


def fingerprint(db: Path) -> str:
    """A digest of the schema and every row of every table (sqlite3 directly, not libdesk)."""
    digest = hashlib.sha256()
    con = sqlite3.connect(db)
    try:
        schema = con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        digest.update(repr(schema).encode())
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            digest.update(table.encode())
            digest.update(repr(sorted(map(repr, rows))).encode())
    finally:
        con.close()
    return digest.hexdigest()


def copy_db(source: Path, target: Path) -> Path:
    shutil.copy(source, target)
    for suffix in ("-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return target


def tree(path: Path) -> dict[str, Any]:
    """What is at ``path``: for checking that a failed command created or changed nothing."""
    if path.is_dir():
        return {"dir": sorted(str(p.relative_to(path)) for p in path.rglob("*"))}
    if path.exists():
        return {"file": path.read_bytes()}
    return {"absent": True}


# -- the cases -------------------------------------------------------------------------------

@dataclass
class Case:
    """One bad command line. ``args`` may use {db} (this case's database copy) and {dir}
    (this case's folder); ``files`` are written into the folder first; ``expect`` are
    fragments the one error line must contain (case-sensitive); ``untouched`` are paths
    (relative to the folder) that must be exactly as before."""

    name: str
    args: list[str]
    exit: int = 1
    expect: list[str] = field(default_factory=list)
    files: dict[str, str | bytes] = field(default_factory=dict)
    untouched: list[str] = field(default_factory=list)
    prepare: Callable[[Path], str | None] | None = None
    """Extra set-up; returns a reason to skip the case (e.g. root ignores file modes)."""
    says: str | None = None
    """A regular expression the error line must match (what it must tell the person)."""


def _replace(old: str, new: str, count: int = 1) -> str:
    text = DEMO_TOML.read_text(encoding="utf-8")
    assert text.count(old) >= 1, f"demo.toml no longer has {old!r}: update this test"
    return text.replace(old, new, count)


def _unwritable(path: Path, mode: int) -> str | None:
    """Make ``path`` unwritable for this user: file modes, or, for root (whom modes do not
    stop), the immutable attribute (``chattr +i``; _run_case lifts it again). A reason to skip
    only where neither works."""
    path.chmod(mode)
    if os.geteuid() != 0:
        return None
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0:
        return None
    return "neither file modes nor chattr +i stop this user (root without CAP_LINUX_IMMUTABLE)"


def _writable_again(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True)
    path.chmod(0o755 if path.is_dir() else 0o644)


def _read_only_folder(folder: Path) -> str | None:
    ro = folder / "ro"
    ro.mkdir()
    return _unwritable(ro, 0o555)


def _read_only_db(folder: Path) -> str | None:
    return _unwritable(folder / "desk.db", 0o444)


def _csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


GOOD_ROW = "NEW-0001,A Good Row,Author,QA 1,BOOK,WID,WID-STACKS"

CASES = [
    # unknown things
    Case("unknown barcode (item show --json)", ["item", "show", "NOPE-404", "--json"], expect=["NOPE-404"]),
    Case("unknown barcode (scan)", ["scan", "NOPE-404", "--at", "WID-CIRC"], expect=["NOPE-404"]),
    Case("unknown place", ["scan", "WID-0001", "--at", "NOWHERE"], expect=["NOWHERE"]),
    Case("unknown operator", ["--operator", "nobody", "scan", "WID-0001", "--at", "WID-CIRC"], expect=["nobody"]),
    Case("unknown patron", ["loan", "WID-0001", "--patron", "P9999", "--at", "WID-CIRC"], expect=["P9999"]),
    Case("unknown request", ["request", "activate", "9999"], expect=["9999"]),
    Case("unknown work-order type", ["workorder", "WID-0001", "--type", "XX", "--department", "CCWID"],
         expect=["XX"]),
    Case("unknown department", ["workorder", "WID-0001", "--type", "PRES", "--department", "NOPE"],
         expect=["NOPE"]),
    # W3: places the operator may not use
    Case("operator not permitted at a desk", ["--operator", "cc", "scan", "WID-0001", "--at", "WID-CIRC"],
         expect=["cc", "WID-CIRC"]),
    Case("operator not permitted at a department",
         ["--operator", "circ", "scan", "WID-0001", "--at", "CCWID", "--status", "Pocket"], expect=["circ", "CCWID"]),
    # statuses and Done
    Case("status not of the department's type",
         ["--operator", "cc", "scan", "WID-0001", "--at", "CCWID", "--status", "Cataloging"], expect=["Cataloging"]),
    Case("status at a circulation desk", ["scan", "WID-0001", "--at", "WID-CIRC", "--status", "Pocket"]),
    Case("Done at a circulation desk", ["scan", "WIP-0001", "--at", "WID-CIRC", "--done"]),
    Case("receive with a status not of the type",
         ["receive", "ACQ-0001", "--at", "ITS625", "--keep-in-department", "--status", "Pocket"], expect=["Pocket"]),
    Case("Done at the wrong department", ["scan", "WIP-0001", "--at", "CCLAW", "--done"], expect=["CCWID"]),
    # departments of the chosen type (W11, W12)
    Case("work order: department not of the type", ["workorder", "WID-0001", "--type", "TS", "--department", "CCWID"],
         expect=["CCWID"]),
    Case("editor: department not of the type", ["edit", "WID-0001", "--type", "PRES", "--department", "ITS625"],
         expect=["ITS625"]),
    # requests and circulation
    Case("pickup at a department", ["request", "place", "WID-0001", "--patron", "P0001", "--pickup", "CCWID"],
         expect=["CCWID"]),
    Case("expiry not a date", ["request", "expiry", "1", "2026-02-30"], expect=["2026-02-30"]),
    Case("return of an item not on loan", ["return", "WID-0001", "--at", "WID-CIRC"], expect=["WID-0001"]),
    Case("loan at a department", ["loan", "WID-0001", "--patron", "P0001", "--at", "CCWID"], expect=["CCWID"]),
    # CSV import: all or nothing, line and column named
    Case("csv: bad column count", ["import", "items", "{dir}/bad.csv"],
         files={"bad.csv": _csv(GOOD_ROW, "NEW-0002,Short Row,Author,QA 2,BOOK,WID")}, expect=["bad.csv", "line 3"]),
    Case("csv: unknown library", ["import", "items", "{dir}/bad.csv"],
         files={"bad.csv": _csv(GOOD_ROW, "NEW-0002,T,A,QA 2,BOOK,NOPE,WID-STACKS")},
         expect=["line 3", "column library", "NOPE"]),
    Case("csv: unknown location", ["import", "items", "{dir}/bad.csv"],
         files={"bad.csv": _csv("NEW-0002,T,A,QA 2,BOOK,WID,NOWHERE", GOOD_ROW)},
         expect=["line 2", "column location", "NOWHERE"]),
    Case("csv: duplicate barcode in the file", ["import", "items", "{dir}/bad.csv"],
         files={"bad.csv": _csv(GOOD_ROW, GOOD_ROW.replace("A Good Row", "Again"))},
         expect=["line 3", "column barcode", "NEW-0001"]),
    Case("csv: barcode already in the database", ["import", "items", "{dir}/bad.csv"],
         files={"bad.csv": _csv(GOOD_ROW, "WID-0001,T,A,QA 2,BOOK,WID,WID-STACKS")},
         expect=["line 3", "column barcode", "WID-0001"]),
    Case("csv: missing header row", ["import", "items", "{dir}/bad.csv"],
         files={"bad.csv": GOOD_ROW + "\nNEW-0002,T,A,QA 2,BOOK,WID,WID-STACKS\n"}, expect=["line 1", "barcode"]),
    Case("csv: not UTF-8", ["import", "items", "{dir}/bad.csv"],
         files={"bad.csv": _csv(GOOD_ROW, "NEW-0002,Caf\xe9 Society,A,QA 2,BOOK,WID,WID-STACKS").encode("latin-1")},
         expect=["line 3", "UTF-8", "column title"]),
    Case("csv: empty file", ["import", "items", "{dir}/bad.csv"], files={"bad.csv": ""}, expect=["bad.csv"]),
    # institution files for init: the file and the key named, no database created
    Case("institution: invalid TOML", ["--db", "{dir}/new.db", "init", "--institution", "{dir}/inst.toml"],
         files={"inst.toml": _replace('name = "Widener Library"', 'name = "Widener Library')},
         expect=["inst.toml", "line"], untouched=["new.db"]),
    Case("institution: unknown type in a department",
         ["--db", "{dir}/new.db", "init", "--institution", "{dir}/inst.toml"],
         files={"inst.toml": _replace('type = "PRES"', 'type = "NOPE"')},
         expect=["inst.toml", "departments[", "type", "NOPE"], untouched=["new.db"]),
    Case("institution: empty status list", ["--db", "{dir}/new.db", "init", "--institution", "{dir}/inst.toml"],
         files={"inst.toml": _replace('statuses = ["Survey", "Treatment", "Housing"]', "statuses = []")},
         expect=["inst.toml", "statuses", "WPC"], untouched=["new.db"]),
    Case("institution: duplicate desk code", ["--db", "{dir}/new.db", "init", "--institution", "{dir}/inst.toml"],
         files={"inst.toml": _replace('code = "LAW-CIRC"', 'code = "WID-CIRC"')},
         expect=["inst.toml", "code", "WID-CIRC"], untouched=["new.db"]),
    Case("institution: operator at an unknown place",
         ["--db", "{dir}/new.db", "init", "--institution", "{dir}/inst.toml"],
         files={"inst.toml": _replace('places = ["CCWID"]', 'places = ["CCWID", "NOPE"]')},
         expect=["inst.toml", "places", "NOPE"], untouched=["new.db"]),
    Case("institution: operator places not strings",
         ["--db", "{dir}/new.db", "init", "--institution", "{dir}/inst.toml"],
         files={"inst.toml": _replace('places = ["CCWID"]', "places = [1, 2]")},
         expect=["inst.toml", "operators[2].places[0]", "must be a string"], untouched=["new.db"]),
    Case("institution: a role that is not a string",
         ["--db", "{dir}/new.db", "init", "--institution", "{dir}/inst.toml"],
         files={"inst.toml": _replace('roles = ["borrowing_desk"]', "roles = [[1]]")},
         expect=["inst.toml", "operators[1].roles[0]", "must be a string"], untouched=["new.db"]),
    # database paths
    Case("db under a regular file (init)", ["--db", "{dir}/file.txt/desk.db", "init"],
         files={"file.txt": "not a folder\n"}, expect=["file.txt"], untouched=["file.txt"],
         says=r"not a (folder|directory)|is a (regular )?file"),
    Case("db is a directory (init)", ["--db", "{dir}/folder", "init"], prepare=lambda d: (d / "folder").mkdir(),
         expect=["folder"], untouched=["folder"]),
    Case("db is a directory (item show)", ["--db", "{dir}/folder", "item", "show", "WID-0001"],
         prepare=lambda d: (d / "folder").mkdir(), expect=["folder"], untouched=["folder"]),
    Case("db file does not exist (item show)", ["--db", "{dir}/missing.db", "item", "show", "WID-0001"],
         expect=["missing.db", "init"], untouched=["missing.db"]),
    Case("db is not a database", ["--db", "{dir}/notes.txt", "item", "show", "WID-0001"],
         files={"notes.txt": "shopping list\n" * 200}, expect=["notes.txt"], untouched=["notes.txt"]),
    Case("db already set up (init)", ["init"], expect=["desk.db"]),
    Case("db in a read-only folder (init)", ["--db", "{dir}/ro/desk.db", "init"], prepare=_read_only_folder,
         expect=["ro"], untouched=["ro"]),
    Case("read-only db file (scan)", ["scan", "WID-0001", "--at", "WID-CIRC"], prepare=_read_only_db,
         expect=["desk.db"]),
    # issue 14: inputs that ended in "internal error", and files that are not libdesk's
    Case("db URL of an unknown scheme", ["--db", "foo://bar", "item", "show", "WID-0001"], expect=["foo://bar"]),
    Case("db URL whose driver is missing", ["--db", "postgresql+pg8000://u@h/db", "item", "show", "WID-0001"],
         expect=["pg8000"]),
    Case("init over a file that is not SQLite", ["--db", "{dir}/notes.txt", "init"],
         files={"notes.txt": "shopping list\n"}, expect=["notes.txt"], untouched=["notes.txt"]),
    Case("open a 0-byte file", ["--db", "{dir}/empty.db", "item", "show", "WID-0001"],
         files={"empty.db": b""}, expect=["empty.db"], untouched=["empty.db"]),
    Case("argument that is not UTF-8", ["item", "show", "\udcff"], expect=["UTF-8"]),
    Case("usage: --limit out of range", ["search", "x", "--limit", "100000000000000000000"], exit=2,
         expect=["--limit"]),
    Case("usage: borrowing list --limit out of range", ["borrowing", "list", "--limit", "100000000000000000000"],
         exit=2, expect=["--limit"]),
    Case("usage: borrowing check --limit 0", ["borrowing", "check", "daily", "--limit", "0"], exit=2,
         expect=["--limit"]),
    Case("borrowing id too large for the database", ["borrowing", "show", "99999999999999999999999"],
         expect=["99999999999999999999999"]),
    Case("borrowing id too large (an action)", ["borrowing", "send", "99999999999999999999999"],
         expect=["99999999999999999999999"]),
    Case("request id too large for the database", ["request", "activate", "99999999999999999999"],
         expect=["99999999999999999999"]),
    # the settings file
    Case("settings: invalid TOML", ["scan", "WID-0001", "--at", "WID-CIRC"],
         files={"home/settings.toml": 'operator = "circ\ncurrently_at = "WID-CIRC"\n'},
         expect=["settings.toml"], untouched=["home/settings.toml"]),
    Case("settings: wrong type", ["scan", "WID-0001", "--at", "WID-CIRC"],
         files={"home/settings.toml": "operator = 5\n"}, expect=["settings.toml", "operator"],
         untouched=["home/settings.toml"]),
    Case("settings: unknown operator", ["scan", "WID-0001", "--at", "WID-CIRC"],
         files={"home/settings.toml": 'operator = "nobody"\n'}, expect=["nobody", "settings.toml"],
         untouched=["home/settings.toml"]),
    # usage errors (argparse): exit 2
    Case("usage: unknown command", ["frobnicate"], exit=2, expect=["frobnicate"]),
    Case("usage: missing required option", ["loan", "WID-0001", "--at", "WID-CIRC"], exit=2, expect=["--patron"]),
    Case("usage: workorder without --department", ["workorder", "WID-0001", "--type", "PRES"], exit=2,
         expect=["--department"]),
    Case("usage: scan without a barcode", ["scan", "--at", "WID-CIRC"], exit=2),
    Case("usage: unknown option", ["scan", "WID-0001", "--at", "WID-CIRC", "--frobnicate"], exit=2,
         expect=["--frobnicate"]),
    Case("usage: request id not a number", ["request", "activate", "abc"], exit=2, expect=["abc"]),
    Case("usage: item without a subcommand", ["item"], exit=2),
    Case("usage: import of an unknown kind", ["import", "widgets", "x.csv"], exit=2, expect=["widgets"]),
]


# -- running them ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The shared database (made once) and its fingerprint."""
    root = tmp_path_factory.mktemp("bad-input-base")
    db, home = root / "base.db", root / "home"
    (root / "items.csv").write_text(ITEMS_CSV, encoding="utf-8")
    for args in (["init"], ["import", "items", str(root / "items.csv")],
                 ["--operator", "cc", "scan", "WIP-0001", "--at", "CCWID", "--status", "Pocket"]):
        proc = run_libdesk(["--db", str(db), *args, "--json"], home)
        assert proc.returncode == 0, f"set-up libdesk {' '.join(args)}: {proc.stderr}"
    item = json.loads(run_libdesk(["--db", str(db), "item", "show", "WIP-0001", "--json"], home).stdout)
    assert item["department"] == "CCWID" and [r["id"] for r in item["requests"]] == [1], item
    return db, fingerprint(db)


@dataclass
class Outcome:
    proc: subprocess.CompletedProcess[str] | None
    skipped: str | None
    folder: Path
    before: dict[str, Any]
    after: dict[str, Any]
    fingerprint: str


def _run_case(case: Case, folder: Path, base_db: Path) -> Outcome:
    folder.mkdir(parents=True)
    db = copy_db(base_db, folder / "desk.db")
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    try:
        skipped = case.prepare(folder) if case.prepare else None
        before = {name: tree(folder / name) for name in case.untouched}
        proc = None
        if skipped is None:
            args = [a.format(db=db, dir=folder) for a in case.args]
            if not any(a == "--db" for a in args):
                args = ["--db", str(db), *args]
            proc = run_libdesk(args, folder / "home")
        after = {name: tree(folder / name) for name in case.untouched}
    finally:
        for path in (folder / "ro", db):  # let the tmp dir be cleaned up
            if path.exists():
                _writable_again(path)
    return Outcome(proc, skipped, folder, before, after, fingerprint(db))


@pytest.fixture(scope="module")
def outcomes(base: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[Outcome]]]:
    """Every case, started at once on two threads (each test waits for its own)."""
    base_db, _ = base
    root = tmp_path_factory.mktemp("bad-input")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case.name: pool.submit(_run_case, case, root / f"case{n:02d}", base_db)
                   for n, case in enumerate(CASES)}
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, outcomes: dict[str, Future[Outcome]], base: tuple[Path, str]) -> None:
    out = outcomes[case.name].result()
    if out.skipped:
        pytest.skip(out.skipped)
    assert out.proc is not None
    command = "libdesk " + " ".join(out.proc.args[len(LIBDESK):])
    stderr = out.proc.stderr
    assert "Traceback" not in stderr, f"{command}: traceback on stderr:\n{stderr}"
    assert out.proc.returncode == case.exit, f"{command}: exit {out.proc.returncode}, stderr: {stderr!r}"
    if case.exit == 1 and "--json" in out.proc.args:
        # With --json a script gets the error as data too: {"error": ..., "kind": ...}.
        error = json.loads(out.proc.stdout)
        assert set(error) == {"error", "kind"} and error["error"] in stderr, f"{command}: {out.proc.stdout!r}"
    else:
        assert out.proc.stdout == "", f"{command}: printed on stdout: {out.proc.stdout!r}"
    if case.exit == 1:
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].strip(), f"{command}: want exactly one line on stderr, got {stderr!r}"
        assert "internal error" not in stderr, f"{command}: {stderr!r}"
        message = lines[0]
    else:
        assert "usage:" in stderr, f"{command}: a usage error shows the usage: {stderr!r}"
        message = stderr
    for fragment in case.expect:
        assert fragment in message, f"{command}: the message should name {fragment!r}: {message!r}"
    if case.says:
        assert re.search(case.says, message), f"{command}: the message should say /{case.says}/: {message!r}"
    assert out.fingerprint == base[1], f"{command}: the database changed"
    assert out.after == out.before, f"{command}: changed {case.untouched}"
    if case.exit == 1 and not case.files.get("home/settings.toml"):
        assert not (out.folder / "home" / "settings.toml").exists(), f"{command}: wrote a settings file"


def test_every_case_has_a_distinct_name() -> None:
    assert len({c.name for c in CASES}) == len(CASES)


def test_one_bad_barcode_among_good_ones(base: tuple[Path, str], tmp_path: Path) -> None:
    """Several barcodes: each its own transaction; the bad one is one line on stderr, exit 1,
    and the good ones are done (README: "A scan of several barcodes")."""
    db = copy_db(base[0], tmp_path / "desk.db")
    proc = run_libdesk(["--db", str(db), "scan", "WID-0001", "NOPE-404", "WID-0002", "--at", "CCWID",
                        "--status", "Repair", "--json"], tmp_path / "home")
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr
    assert len(proc.stderr.splitlines()) == 1 and "NOPE-404" in proc.stderr, proc.stderr
    results = json.loads(proc.stdout)["results"]
    assert [r["barcode"] for r in results] == ["WID-0001", "NOPE-404", "WID-0002"]
    assert "error" in results[1] and "error" not in results[0] and "error" not in results[2]
    assert fingerprint(db) != base[1]
