"""No input ends in "internal error" (issue 14, item 4): generated strings and numbers in the
arguments of the main commands (item show, search, scan, return, loan --patron, borrowing
show, --limit and ids) never give exit 70 or a traceback. A user error is one line on stderr
and nothing on stdout; a usage error is argparse's usage and its one error line (exit 2).

The strings mix what a shell can hand over and a person can paste: bytes that are not UTF-8
(as Python's surrogateescape gives them in ``sys.argv``), U+10FFFF, control characters, quotes,
wildcards, path parts, and real barcodes, places and patrons of the demo, so some commands
get far enough to act. ``libdesk.cli.main(argv)`` runs in this process (it returns the exit
code), on one demo database, so a few hundred examples take seconds, not a subprocess each;
the database drifts as some scans and loans succeed, which is fine for what is checked.
Each exit-70 case found is also a named case in test_bad_input.py or an engine test.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libdesk import cli

BARCODES = ["32044000000221", "32044000000013", "32044000001001", "RS000001", "CU-1001"]
PLACES = ["WID-CIRC", "LAW-CIRC", "CCWID", "ITS625", "HD", "ILL"]
PATRONS = ["P0001", "P0002", "P9999"]
SPECIAL = ["\U0010ffff", "\udcff", "\udc80", "\x00", "\x1b[2J", "\n", "\r", "\t", "\x7f", "\u0085", "\u202e",
           "*", "%", "_", '"', "'", "..", "/", "\\", "-", "--", " ", "", "é", "ß", "\ufeff", "1e20", "NaN"]

raw_bytes = st.binary(max_size=12).map(lambda b: b.decode("utf-8", "surrogateescape"))
"""An argument as a shell hands over bytes that are not UTF-8."""

pieces = st.one_of(
    st.sampled_from(SPECIAL),
    st.sampled_from(BARCODES + PLACES + PATRONS),
    st.text(max_size=8),
    st.characters(max_codepoint=0x9f),
    raw_bytes,
)
texts = st.lists(pieces, min_size=0, max_size=4).map("".join)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["0", "1", "7", "22", "100000", "100001", str(2**31), str(2**63), "99999999999999999999999",
                     "-1", "1.5", "1e20", "0x10", " 3", "٣"]),
    texts,
)
places = st.one_of(st.sampled_from(PLACES), texts)

COMMANDS = {
    "item show": lambda t, p, n: ["item", "show", t],
    "item history": lambda t, p, n: ["item", "history", t],
    "search": lambda t, p, n: ["search", t],
    "search prefix": lambda t, p, n: ["search", t + "*"],
    "search --limit": lambda t, p, n: ["search", "law", "--limit", n],
    "scan": lambda t, p, n: ["scan", t, "--at", p],
    "return": lambda t, p, n: ["return", t, "--at", p],
    "loan --patron": lambda t, p, n: ["loan", BARCODES[0], "--patron", t, "--at", p],
    "loan barcode": lambda t, p, n: ["loan", t, "--patron", "P0001", "--at", p],
    "borrowing show": lambda t, p, n: ["borrowing", "show", n],
    "borrowing history": lambda t, p, n: ["borrowing", "history", n],
    "borrowing list --limit": lambda t, p, n: ["borrowing", "list", "--limit", n],
    "borrowing check --limit": lambda t, p, n: ["borrowing", "check", "daily", "--limit", n],
    "borrowing partner-ship --barcode": lambda t, p, n: ["borrowing", "partner-ship", n, "--barcode", t],
    "request history": lambda t, p, n: ["request", "history", n],
    "request activate": lambda t, p, n: ["request", "activate", n],
    "monitor --limit": lambda t, p, n: ["monitor", "--limit", n],
    "inprocess --search": lambda t, p, n: ["inprocess", "--at", p, "--search", t],
    "public": lambda t, p, n: ["public", t],
    "--operator": lambda t, p, n: ["--operator", t, "item", "show", BARCODES[0]],
}


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: usage errors (2), --help and --version (0)
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("LIBDESK_") and name != "LIBDESK_HOME":
            monkeypatch.delenv(name)
    path = tmp_path / "demo.db"
    code, _, err = run(["--db", str(path), "init", "--demo"])
    assert code == 0, err
    return path


def check(argv: list[str]) -> None:
    code, out, err = run(argv)
    shown = " ".join(argv[2:])
    assert code != cli.Exit.INTERNAL and "internal error" not in err, f"libdesk {argv[2:]!r}: {err!r}"
    assert "Traceback" not in err, f"libdesk {argv[2:]!r}: {err}"
    lines = err.splitlines()
    if code == cli.Exit.USAGE:
        assert lines and ": error: " in lines[-1] and lines[0].startswith("usage:"), f"libdesk {shown!r}: {err!r}"
    else:
        assert len(lines) <= 1, f"libdesk {argv[2:]!r}: more than one line on stderr: {err!r}"
    if code == cli.Exit.USER_ERROR:
        assert lines and lines[0].startswith("libdesk: "), f"libdesk {argv[2:]!r}: {err!r}"
        assert out == "", f"libdesk {argv[2:]!r}: a user error printed on stdout: {out!r}"


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(command=st.sampled_from(sorted(COMMANDS)), text=texts, place=places, number=numbers)
def test_generated_arguments_never_end_in_an_internal_error(demo_db, command, text, place, number):
    check(["--db", str(demo_db), *COMMANDS[command](text, place, number)])


@pytest.mark.parametrize("argv", [
    ["item", "show", "\udcff"],
    ["item", "show", "\ud800"],  # a lone surrogate no shell gives, but main(argv) may be handed one
    ["--operator", "\n\udc80", "item", "show", "32044000000221"],  # the argument was shown with its newline
    ["search", "ab\x00cd"],
    ["search", "\x00*"],
    ["search", "\U0010ffff*"],
    ["inprocess", "--at", "CCWID", "--search", "law\x1b[2J"],
    ["search", "law", "--limit", "1e20"],
    ["borrowing", "list", "--limit", "99999999999999999999"],
    ["borrowing", "show", "99999999999999999999999"],
    ["request", "activate", "99999999999999999999999"],
    ["borrowing", "partner-ship", "7", "--barcode", "../../x"],
], ids=repr)
def test_cases_that_ended_in_an_internal_error(demo_db, argv):
    """Each an exit 70 once (issue 14, or found by the test above), or more than one line."""
    check(["--db", str(demo_db), *argv])


@pytest.mark.parametrize("argv", [
    ["borrowing", "partner-ship", "7", "--barcode", "../../x"],
    ["borrowing", "partner-ship", "7", "--barcode", "/abs/path/x"],
    ["borrowing", "receive", "13", "--at", "WID-CIRC", "--barcode", "a\\b"],
    ["borrowing", "receive", "13", "--at", "WID-CIRC", "--barcode", "CU\x1b[2J"],
], ids=repr)
def test_borrowing_ship_and_receive_refuse_a_barcode_that_reads_as_a_path(demo_db, argv):
    """Issue 14, item 3: one line, exit 1, the database unchanged (a slip's file name is made
    from the barcode later)."""
    from tests.cli.test_bad_input import fingerprint

    before = fingerprint(demo_db)
    code, out, err = run(["--db", str(demo_db), "--operator", "admin", *argv])
    assert (code, out) == (cli.Exit.USER_ERROR, ""), err
    assert len(err.splitlines()) == 1 and "Not a barcode" in err, err
    assert fingerprint(demo_db) == before
