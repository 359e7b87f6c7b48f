"""``libdesk scanners`` and ``libdesk listen``: the scanner commands of the command line.

- ``libdesk scanners [--json]`` lists the serial ports found, with their descriptions.
- ``libdesk listen (--serial [PORT] | --stdin) --at PLACE [--status S] [--done]`` is a
  headless scan station: every barcode read goes through :func:`libdesk.scan.scan_in` with
  those settings (the sticky ones when ``--at`` is Currently At, as ``libdesk scan`` does),
  one line per read on stdout (JSON lines with ``--json``: ``event`` is ``scan``, ``error``,
  ``rejected`` or ``double_scan``). A bad read or a refused scan is a line too and the
  station keeps going. Scanner status changes go to stderr.
- Stopping: Ctrl-C or SIGTERM lets the scan in progress finish (it is one transaction
  either way; the signal handler only sets a flag) and exits 0. A second Ctrl-C while that
  scan is still running interrupts it (rolled back; exit 130, as any interrupted command). End of input (``--stdin``)
  exits 0, or 1 if any read was rejected or refused (as ``libdesk scan A B C``).
- The database server going away (PostgreSQL) does not stop the station: one line on stderr,
  each scan meanwhile refused (``kind`` ``unreachable``), the server tried again with backoff
  (0.5 s doubling to 10 s), one line when it is back; the next scan is applied as usual.
  A station started while the server is unreachable waits for it the same way.
- Sign-in is checked again before every scan (:func:`libdesk.operators.recheck`): once the
  session has expired or been signed out, or the operator has been disabled or given a new
  secret, each scan is refused with one line (``kind`` ``not_signed_in``; nothing changed),
  said once on stderr, until the sign-in stands again (a new ``libdesk login``).
- Start-up problems (unknown place, not permitted, a status the department does not have,
  a port that does not exist or is busy) are one line on stderr and exit 1 before anything
  is read. ``--wait`` makes a missing serial port a status line instead, and waits.

Threads: the main thread owns the database and applies every scan, in order. Input comes
through one queue, from a thread blocked in ``os.read`` on stdin (never the buffered
``sys.stdin``, whose lock a daemon thread would hold at interpreter exit) or from the
:class:`~libdesk.scanners.serial_reader.SerialReader` thread.

This module is imported by :func:`libdesk.cli.build_parser` on every command, so it imports
nothing heavy at module level; ``libdesk.cli`` is imported lazily because it imports this.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from libdesk.errors import DatabaseUnreachable, InvalidInput, LibdeskError, NotPermitted

if TYPE_CHECKING:
    from libdesk.cli import Runtime
    from libdesk.scanners.barcodes import BarcodeRules, ScanEvent
    from libdesk.scanners.double import DoubleScanFilter

UNREACHABLE_REFUSAL = "the library database is unreachable: scan again when this station says it is back"
"""What a scan gets while the server cannot be reached (the app says: when the header is green)."""
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 10.0

TERMINATORS = ("any", "cr", "lf", "crlf", "none")  # libdesk.scanners.lines.TERMINATORS
PARITIES = ("none", "even", "odd", "mark", "space")
_SERIAL_ONLY = ("baudrate", "bytesize", "parity", "stopbits", "wait")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``scanners`` and ``listen`` to the subcommands of :func:`libdesk.cli.build_parser`."""
    help_text = "list the serial ports found (to set up a serial scanner)"
    p = sub.add_parser("scanners", parents=[common], help=help_text, description=help_text)
    p.set_defaults(func=cmd_scanners)

    help_text = "headless scan station: Scan In every barcode read from a serial scanner or stdin"
    p = sub.add_parser(
        "listen", parents=[common], help=help_text,
        description=help_text + ". One line per read (JSON lines with --json); bad reads are lines too. "
                    "Ctrl-C or SIGTERM finishes the scan in progress and exits 0.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--serial", metavar="PORT", nargs="?", const="",
                     help="read a serial scanner on PORT (a device such as /dev/ttyUSB0 or COM3, or a pyserial "
                          "URL); without PORT, the port in the [serial] settings")
    src.add_argument("--stdin", action="store_true",
                     help="read barcodes from standard input, one a line (a keyboard-wedge scanner in this "
                          "terminal, or a pipe)")
    p.add_argument("--at", metavar="PLACE", help="Currently At (else the settings file)")
    p.add_argument("--status", help="Set Status To (departments)")
    p.add_argument("--done", action=argparse.BooleanOptionalAction, default=None,
                   help="Done = Yes / No (departments; default: the sticky setting at Currently At, else No)")
    p.add_argument("--double-scan-window", type=float, metavar="SECONDS",
                   help="ignore the same barcode again within this many seconds (default 1.5; 0 = off)")
    p.add_argument("--prefix", help="characters the scanner sends before each barcode (stripped)")
    p.add_argument("--suffix", help="characters the scanner sends after each barcode (stripped)")
    g = p.add_argument_group("serial settings (override the [serial] table of the settings file)")
    g.add_argument("--baudrate", type=int, metavar="N")
    g.add_argument("--bytesize", type=int, choices=[5, 6, 7, 8])
    g.add_argument("--parity", choices=PARITIES)
    g.add_argument("--stopbits", type=float, choices=[1, 1.5, 2])
    g.add_argument("--terminator", choices=TERMINATORS,
                   help="what ends a barcode (default any: CR or LF; none: a pause of --timeout)")
    g.add_argument("--timeout", type=float, metavar="SECONDS", help="with --terminator none: the pause")
    g.add_argument("--encoding", help="text encoding of the scanner (default utf-8)")
    g.add_argument("--wait", action="store_true",
                   help="if the serial port is not there (yet), wait for it instead of exiting")
    p.set_defaults(func=cmd_listen)


# -- scanners ------------------------------------------------------------------------------------

def cmd_scanners(rt: Runtime) -> int:
    """List serial ports with descriptions; the configured one is marked."""
    from libdesk.scanners.serial_reader import list_ports

    ports = list_ports()
    configured = rt.settings.serial.get("port")
    data = {"ports": [{**asdict(p), "configured": p.device == configured} for p in ports],
            "configured_port": configured}

    def human() -> str:
        if not ports:
            text = ("No serial ports found. Plug the scanner in (USB-serial scanners appear as /dev/ttyACM0, "
                    "/dev/ttyUSB0 or COMn); a keyboard-wedge scanner needs no port.")
            return text + (f"\nThe settings name {configured}, which is not there." if configured else "")
        lines = []
        for port in ports:
            hwid = f"  [{port.hwid}]" if port.hwid and port.hwid != "n/a" else ""
            mark = "  (in the settings)" if port.device == configured else ""
            lines.append(f"{port.device:<20} {port.description}{hwid}{mark}")
        return "\n".join(lines)

    rt.emit(data, human)
    return 0


# -- listen --------------------------------------------------------------------------------------

class _Station:
    """Applies reads to the engine and prints one line each (main thread only)."""

    def __init__(self, rt: Runtime, at: str, status: str | None, done: bool, doubles: DoubleScanFilter) -> None:
        self.rt = rt
        self.at = at
        self.status = status
        self.done = done
        self.doubles = doubles
        self.applied = self.failed = self.repeats = 0
        self.unreachable_since: float | None = None
        self.next_probe: float | None = None
        self.backoff = 0.0
        self.signed_out = False

    def handle(self, event: ScanEvent, seen_at: float) -> None:
        from libdesk import scan
        from libdesk.scanners.barcodes import Rejected

        if isinstance(event, Rejected):
            self.failed += 1
            self._line({"event": "rejected", "barcode": None, "raw": event.raw, "error": event.reason,
                        "kind": "rejected"}, f"rejected: {event.reason}")
            return
        repeat = self.doubles.check(event.barcode, seen_at)
        if repeat is not None:
            self.repeats += 1
            self._line({"event": "double_scan", "barcode": event.barcode, "message": repeat.message,
                        "since": round(repeat.since, 3)}, repeat.message)
            return
        try:
            # Checked again before every scan: a session that expired, or an operator disabled
            # or given a new secret while the station runs, refuses the scan (nothing changed).
            self._still_signed_in()
            result = scan.scan_in(self.rt.db, event.barcode, at=self.at, operator=self.rt.operator,
                                  status=self.status, done=self.done)
        except DatabaseUnreachable as exc:
            # The server went away: the station stays up, says so once, refuses this scan and
            # keeps trying the server (_run calls probe()); the next scan may well go through.
            self.failed += 1
            self.doubles.forget(event.barcode)
            self._went_away(exc)
            self._line({"event": "error", "barcode": event.barcode, "error": UNREACHABLE_REFUSAL,
                        "kind": exc.kind}, f"{event.barcode}: error: {UNREACHABLE_REFUSAL}")
            return
        except LibdeskError as exc:
            self.failed += 1
            self.doubles.forget(event.barcode)  # an error was shown: an immediate rescan is deliberate
            self._line({"event": "error", "barcode": event.barcode, "error": exc.message, "kind": exc.kind},
                       f"{event.barcode}: error: {exc.message}")
            return
        self.applied += 1
        self._came_back()
        self._line({"event": "scan", **result.to_dict()}, f"{result.barcode}: {result.message}")

    def _still_signed_in(self) -> None:
        """Raise NotSignedIn (after saying so once on stderr) unless the operator's sign-in
        still stands; say once when it stands again (``libdesk login`` meanwhile)."""
        from libdesk import operators

        try:
            operators.recheck(self.rt.db, self.rt.standing)
        except operators.NotSignedIn as exc:
            if not self.signed_out:
                self.signed_out = True
                print(f"libdesk: {exc.message}; scans are refused until then", file=sys.stderr, flush=True)
            raise
        if self.signed_out:
            self.signed_out = False
            print(f"libdesk: signed in again as {self.rt.operator}; scanning again", file=sys.stderr, flush=True)

    # -- the database going away and coming back ---------------------------------------------
    def _went_away(self, exc: DatabaseUnreachable) -> None:
        if self.unreachable_since is None:
            self.unreachable_since = time.monotonic()
            print(f"libdesk: the library database is unreachable ({exc.reason or exc.message}); scans are "
                  "refused until it is back, retrying", file=sys.stderr, flush=True)
        self.backoff = min(self.backoff * 2, RECONNECT_MAX_S) if self.backoff else RECONNECT_FIRST_S
        self.next_probe = time.monotonic() + self.backoff

    def _came_back(self) -> None:
        if self.unreachable_since is None:
            return
        away = time.monotonic() - self.unreachable_since
        self.unreachable_since = self.next_probe = None
        self.backoff = 0.0
        print(f"libdesk: the library database is back after {away:.0f} s; scanning again", file=sys.stderr,
              flush=True)

    def probe(self) -> None:
        """While the database is unreachable: try it (once per backoff step, 0.5 s doubling to
        10 s), so the station says it is back without waiting for a scan."""
        from sqlalchemy import text

        try:
            with self.rt.db.read() as conn:
                conn.execute(text("SELECT 1"))
        except DatabaseUnreachable as exc:
            self._went_away(exc)
            return
        except LibdeskError:
            pass  # the server answers (busy, say): it is reachable again; a scan will tell the rest
        self._came_back()

    def _line(self, data: dict[str, Any], human: str) -> None:
        text = json.dumps(data, ensure_ascii=False, default=str) if self.rt.json else human
        print(text, flush=True)  # a pipe reader (a log, a test) sees each result at once


def _check_place(rt: Runtime, at: str, status: str | None, done: bool) -> None:
    """Refuse a station that could not apply any scan, before reading anything."""
    inst = rt.db.institution
    place = inst.place(at)
    op = inst.operator(rt.operator)
    if not op.may_act_at(place.code):
        raise NotPermitted(f"Operator {op.id} may not act at {place.name} ({place.code})")
    if place.is_desk:
        if done:
            raise InvalidInput(f"{place.name} is a circulation desk: Scan In there has no Done")
        if status is not None:
            raise InvalidInput(f"{place.name} is a circulation desk: it sets no work-order status")
    elif status is not None:
        wo_type = inst.work_order_type(place.work_order_type or "")
        if status not in wo_type.statuses:
            raise InvalidInput(f"{status!r} is not a status of {wo_type.name} ({place.code}): "
                               f"{', '.join(wo_type.statuses)}")


def wait_for_database(rt: Runtime) -> None:
    """A station (``listen``, or the desk app) started while the database server is
    unreachable (the desk PC came up before the server after a power cut) waits for it,
    saying so once, instead of exiting; the same
    backoff as a station that is running. Ctrl-C stops it (exit 130)."""
    delay = 0.0
    while True:
        try:
            rt.db  # noqa: B018 - opens the database (the Runtime keeps it)
            if delay:
                print("libdesk: the library database is reachable again", file=sys.stderr, flush=True)
            return
        except DatabaseUnreachable as exc:
            if not delay:
                print(f"libdesk: the library database is unreachable ({exc.reason or exc.message}); waiting for "
                      "it (Ctrl-C to stop)", file=sys.stderr, flush=True)
            delay = min(delay * 2, RECONNECT_MAX_S) if delay else RECONNECT_FIRST_S
            time.sleep(delay)


def _with_affixes(rules: BarcodeRules, args: argparse.Namespace) -> BarcodeRules:
    changes = {k: getattr(args, k) for k in ("prefix", "suffix") if getattr(args, k) is not None}
    return replace(rules, **changes) if changes else rules


def cmd_listen(rt: Runtime) -> int:
    """The headless scan station (see the module doc)."""
    from libdesk.cli import _need_place  # lazy: libdesk.cli imports this module
    from libdesk.scanners.double import DoubleScanFilter

    args = rt.args
    at = _need_place(rt, args.at)
    status, done = args.status, args.done
    if at == rt.settings.currently_at:  # the sticky settings go with the sticky place (S1), as in `scan`
        status = rt.settings.status if status is None and not done else status
        done = rt.settings.done if done is None else done
    done = bool(done)
    if args.stdin:
        given = [f"--{k}" for k in _SERIAL_ONLY if getattr(args, k) not in (None, False)]
        if given:
            raise LibdeskError(f"{', '.join(given)}: only with --serial")
    if args.double_scan_window is not None and args.double_scan_window < 0:
        raise LibdeskError("--double-scan-window cannot be negative")
    wait_for_database(rt)
    _check_place(rt, at, status, done)

    inbox: queue.Queue[tuple[str, Any, float]] = queue.Queue()
    source: _StdinSource | _SerialSource
    if args.stdin:
        source = _StdinSource(rt, args, inbox)
    else:
        source = _SerialSource(rt, args, inbox)
    window = args.double_scan_window if args.double_scan_window is not None else source.window
    station = _Station(rt, at, status, done, DoubleScanFilter(window))

    stop = threading.Event()
    why: list[str] = []

    def on_signal(signum: int, frame: Any) -> None:
        # Only a flag: the scan in progress (one transaction) finishes; the loop exits after it.
        if stop.is_set() and signum == signal.SIGINT:
            # Ctrl-C twice: the person means it (a scan stuck on a locked database). The
            # transaction rolls back, so this too leaves the database consistent.
            raise KeyboardInterrupt
        why.append(signal.Signals(signum).name)
        stop.set()

    previous = _install(on_signal)
    try:
        source.start()
        what = f" (status {status})" if status else ""
        what += " with Done" if done else ""
        print(f"libdesk: listening on {source.name} at {at}{what}; Ctrl-C to stop", file=sys.stderr, flush=True)
        ended = _run(source, station, inbox, stop)
    finally:
        source.stop()
        _restore(previous)
    reason = why[0] if why else ("end of input" if ended else "stopped")
    print(f"libdesk: listen stopped ({reason}): {station.applied} scanned, {station.failed} refused or rejected, "
          f"{station.repeats} double scan(s) ignored", file=sys.stderr, flush=True)
    if why or not station.failed:
        return 0
    return 1


def _run(source: _StdinSource | _SerialSource, station: _Station, inbox: queue.Queue[tuple[str, Any, float]],
         stop: threading.Event) -> bool:
    """The main loop; True when the input ended, False when stopped by a signal."""
    while not stop.is_set():
        timeout = 0.25
        deadline = source.deadline()
        if deadline is not None:
            timeout = min(timeout, max(deadline - time.monotonic(), 0.0))
        if station.next_probe is not None:
            if station.next_probe <= time.monotonic():
                station.probe()
                continue
            timeout = min(timeout, max(station.next_probe - time.monotonic(), 0.0))
        try:
            kind, payload, seen_at = inbox.get(timeout=timeout)
        except queue.Empty:
            events = source.poll(time.monotonic())
            kind, payload, seen_at = "events", events, time.monotonic()
        if kind == "status":
            print(f"libdesk: scanner {payload.state}: {payload.message}", file=sys.stderr, flush=True)
            continue
        if kind == "bytes":
            events = source.feed(payload, seen_at)
        elif kind == "eof":
            events = source.flush()
        else:
            events = payload
        for event in events:
            if stop.is_set():
                return False  # the signal came during the previous scan: it is done; stop here
            station.handle(event, seen_at)
        if kind == "eof":
            return True
    return False


class _StdinSource:
    """Standard input: a reader thread puts raw chunks on the queue; the main thread splits."""

    name = "standard input"

    def __init__(self, rt: Runtime, args: argparse.Namespace, inbox: queue.Queue[tuple[str, Any, float]]) -> None:
        from libdesk.errors import ConfigError
        from libdesk.scanners.lines import DEFAULT_TIMEOUT, Framing, LineSplitter, ascii_compatible
        from libdesk.scanners.settings import wedge_settings

        wedge = wedge_settings(rt.settings.wedge)
        encoding = args.encoding or "utf-8"
        try:
            ok = ascii_compatible(encoding)
        except LookupError:
            ok = False
        if not ok:
            raise ConfigError(f"--encoding {encoding}: not a known encoding that keeps ASCII as single bytes")
        if args.timeout is not None and args.timeout <= 0:
            raise LibdeskError("--timeout must be more than 0 seconds")
        # No stale-line timeout: a pipe may pause in mid-line and still be right.
        framing = Framing(terminator=args.terminator or "any", timeout=args.timeout or DEFAULT_TIMEOUT,
                          encoding=encoding, stale_after=None)
        self.splitter = LineSplitter(framing, _with_affixes(wedge.rules, args))
        self.window = wedge.double_scan_window
        self.inbox = inbox
        self.deadline = self.splitter.deadline
        self.poll = self.splitter.poll
        self.feed = self.splitter.feed
        self.flush = self.splitter.flush

    def start(self) -> None:
        threading.Thread(target=self._read, name="libdesk-listen-stdin", daemon=True).start()

    def stop(self) -> None:
        pass  # the daemon thread may stay blocked in os.read; it holds no lock and dies with the process

    def _read(self) -> None:
        fd = sys.stdin.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError as exc:
                print(f"libdesk: cannot read standard input: {exc.strerror}", file=sys.stderr, flush=True)
                chunk = b""
            if not chunk:
                self.inbox.put(("eof", None, time.monotonic()))
                return
            self.inbox.put(("bytes", chunk, time.monotonic()))


class _SerialSource:
    """A serial scanner: the reader thread splits and checks; its events come on the queue."""

    def __init__(self, rt: Runtime, args: argparse.Namespace, inbox: queue.Queue[tuple[str, Any, float]]) -> None:
        from libdesk.scanners.serial_reader import SerialReader
        from libdesk.scanners.settings import serial_settings

        raw = dict(rt.settings.serial)
        if args.serial:
            raw["port"] = args.serial
        for key in ("baudrate", "bytesize", "parity", "stopbits", "terminator", "timeout", "encoding",
                    "prefix", "suffix"):
            value = getattr(args, key)
            if value is not None:
                raw[key] = int(value) if key == "stopbits" and value in (1, 2) else value
        cfg = serial_settings(raw)
        self.name = cfg.describe()
        self.window = cfg.double_scan_window
        self.inbox = inbox

        def on_scan(event: ScanEvent) -> None:
            inbox.put(("events", [event], time.monotonic()))

        def on_status(status: Any) -> None:
            inbox.put(("status", status, time.monotonic()))

        self.reader = SerialReader(cfg, on_scan, on_status)
        if not args.wait:
            self.reader.open_now()  # a missing or busy port: one line and exit 1, before "listening"

    def start(self) -> None:
        self.reader.start()

    def stop(self) -> None:
        self.reader.stop()

    def deadline(self) -> float | None:
        return None  # the reader thread keeps its own time

    def poll(self, now: float) -> list[ScanEvent]:
        return []

    def feed(self, data: bytes, now: float) -> list[ScanEvent]:
        return []

    def flush(self) -> list[ScanEvent]:
        return []


def _install(handler: Any) -> dict[int, Any]:
    """Route SIGINT and SIGTERM to ``handler`` (main thread only; elsewhere Python forbids it)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """``python -m libdesk.cli_scanners ...``: the whole ``libdesk`` command line with these
    two commands registered, whether or not :func:`libdesk.cli.build_parser` registers them
    yet (tests use it; once it does, this is the same as ``python -m libdesk.cli``)."""
    from libdesk import cli

    build = cli.build_parser

    def build_with_scanners() -> argparse.ArgumentParser:
        parser = build()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "listen" not in sub.choices:
            register(sub, cli._global_options())
        return parser

    cli.build_parser = build_with_scanners
    try:
        return cli.main(argv)
    finally:
        cli.build_parser = build


if __name__ == "__main__":
    sys.exit(main())
