"""The serial reader thread end to end: a pseudo-terminal pair and pyserial's loop://,
unplug (the pty closed) and replug (a new pty behind the same path), busy and missing ports.

No timing assertions: every wait is for an event, with a generous timeout."""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import serial

from libdesk.scanners.barcodes import Rejected, Scan, ScanEvent
from libdesk.scanners.serial_reader import ReaderStatus, ScannerError, SerialReader, list_ports, open_port
from libdesk.scanners.settings import SerialSettings, serial_settings

WAIT = 10.0  # generous: a loaded CI machine must not fail these
needs_pty = pytest.mark.skipif(not hasattr(os, "openpty") or sys.platform == "win32", reason="needs POSIX ptys")


class Recorder:
    """Collects what the reader thread reports, for the test thread to wait on."""

    def __init__(self) -> None:
        self.events: queue.Queue[ScanEvent] = queue.Queue()
        self.statuses: list[ReaderStatus] = []
        self._changed = threading.Condition()

    def on_scan(self, event: ScanEvent) -> None:
        self.events.put(event)

    def on_status(self, status: ReaderStatus) -> None:
        with self._changed:
            self.statuses.append(status)
            self._changed.notify_all()

    def next_event(self) -> ScanEvent:
        return self.events.get(timeout=WAIT)

    def wait_for(self, state: str, after: int = 0) -> ReaderStatus:
        """The first status in ``state`` reported after the first ``after`` statuses."""
        with self._changed:
            ok = self._changed.wait_for(lambda: any(s.state == state for s in self.statuses[after:]), WAIT)
            assert ok, f"no {state!r} status; got {[(s.state, s.message) for s in self.statuses]}"
            return next(s for s in self.statuses[after:] if s.state == state)


def wait_until(condition: Any, timeout: float = WAIT) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True


class Pty:
    """A fake serial device: the master end is the 'scanner', a symlink is its port name."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master = -1
        self.plug()

    def plug(self) -> None:
        master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)  # the reader opens the slave by name, as it would /dev/ttyUSB0
        tmp = self.link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(name)
        os.replace(tmp, self.link)  # re-point atomically: the reader never sees a half-made link
        self.master = master

    def unplug(self) -> None:
        os.close(self.master)
        self.master = -1
        self.link.unlink()

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        if self.master >= 0:
            os.close(self.master)


@pytest.fixture
def pty(tmp_path: Path) -> Iterator[Pty]:
    device = Pty(tmp_path / "scanner")
    yield device
    device.close()


def reader_for(port: str, rec: Recorder, **kw: Any) -> SerialReader:
    cfg = serial_settings({"port": port, "terminator": "cr"})
    return SerialReader(cfg, rec.on_scan, rec.on_status, first_delay=0.02, max_delay=0.2, **kw)


@needs_pty
def test_pty_scans_unplug_and_replug(pty: Pty) -> None:
    rec = Recorder()
    reader = reader_for(str(pty.link), rec)
    reader.start()
    try:
        connected = rec.wait_for("connected")
        assert str(pty.link) in connected.message
        pty.send(b"W01\rW0")
        pty.send(b"2\r\xff\xfe\r")
        assert rec.next_event() == Scan("W01", "W01")
        assert rec.next_event() == Scan("W02", "W02")
        garbage = rec.next_event()
        assert isinstance(garbage, Rejected) and "not utf-8" in garbage.reason

        seen = len(rec.statuses)
        pty.send(b"W0")  # a read cut off by the unplug
        assert wait_until(lambda: reader.splitter.deadline() is not None), "the reader never read W0"
        pty.unplug()
        waiting = rec.wait_for("waiting", after=seen)
        assert "disconnected" in waiting.message or "not found" in waiting.message
        cut = rec.next_event()
        assert isinstance(cut, Rejected) and "incomplete read 'W0'" in cut.reason

        seen = len(rec.statuses)
        pty.plug()
        rec.wait_for("connected", after=seen)
        pty.send(b"W03\r")
        assert rec.next_event() == Scan("W03", "W03")
    finally:
        reader.stop()
    assert reader.status.state == "stopped"
    assert rec.statuses[-1].state == "stopped"
    assert rec.events.empty()


@needs_pty
def test_reader_started_before_the_scanner_is_plugged_in(tmp_path: Path) -> None:
    rec = Recorder()
    link = tmp_path / "later"
    reader = reader_for(str(link), rec)
    reader.start()
    device = None
    try:
        waiting = rec.wait_for("waiting")
        assert "not found" in waiting.message and waiting.retry_in is not None
        device = Pty(link)
        rec.wait_for("connected")
        device.send(b"W01\r")
        assert rec.next_event() == Scan("W01", "W01")
    finally:
        reader.stop()
        if device is not None:
            device.close()


@needs_pty
def test_busy_port_is_a_clear_error_and_the_reader_waits_for_it(pty: Pty) -> None:
    cfg = serial_settings({"port": str(pty.link)})
    other = open_port(cfg)  # another program has the scanner (exclusive lock)
    try:
        with pytest.raises(ScannerError) as err:
            open_port(cfg)
        assert "busy" in err.value.message and str(pty.link) in err.value.message
        rec = Recorder()
        reader = reader_for(str(pty.link), rec)
        reader.start()
        try:
            status = rec.wait_for("error")
            assert "busy" in status.message
            other.close()
            rec.wait_for("connected")
        finally:
            reader.stop()
    finally:
        other.close()


def test_missing_port_fails_at_once_with_open_now(tmp_path: Path) -> None:
    rec = Recorder()
    reader = reader_for(str(tmp_path / "nothing"), rec)
    with pytest.raises(ScannerError) as err:
        reader.open_now()
    assert err.value.state == "waiting"
    assert "not found" in err.value.message and "plugged in" in err.value.message


def test_no_port_configured() -> None:
    with pytest.raises(ScannerError) as err:
        open_port(SerialSettings())
    assert "no serial port" in err.value.message


def test_backoff_doubles_and_is_capped(tmp_path: Path) -> None:
    delays: list[float | None] = []
    done = threading.Event()
    reader: SerialReader

    def opener(cfg: SerialSettings) -> Any:
        delays.append(reader.status.retry_in)  # the delay waited before this attempt
        if len(delays) >= 7:
            done.set()
        raise ScannerError("serial port x not found", "waiting")

    rec = Recorder()
    reader = SerialReader(serial_settings({"port": "x"}), rec.on_scan, rec.on_status, opener=opener,
                          first_delay=0.001, max_delay=0.008)
    reader.start()
    try:
        assert done.wait(WAIT)
    finally:
        reader.stop()
    assert delays[:7] == [None, 0.001, 0.002, 0.004, 0.008, 0.008, 0.008]
    # one status for the state, not one per attempt
    assert [s.state for s in rec.statuses] == ["connecting", "waiting", "stopped"]


def test_a_port_that_fails_at_once_keeps_backing_off() -> None:
    """A flaky cable: the port opens, then the first read fails. The reader must not
    reconnect every first_delay for ever."""
    delays: list[float | None] = []
    done = threading.Event()
    reader: SerialReader

    def opener(cfg: SerialSettings) -> Any:
        delays.append(reader.status.retry_in)
        if len(delays) >= 6:
            done.set()
        port = serial.serial_for_url("loop://", timeout=0.01)
        port.close()  # reading it raises PortNotOpenError, as an unplugged adapter would
        return port

    rec = Recorder()
    reader = SerialReader(serial_settings({"port": "loop://"}), rec.on_scan, rec.on_status, opener=opener,
                          first_delay=0.001, max_delay=0.008)
    reader.start()
    try:
        assert done.wait(WAIT)
    finally:
        reader.stop()
    assert delays[:6] == [None, 0.001, 0.002, 0.004, 0.008, 0.008]
    assert {s.state for s in rec.statuses} == {"connecting", "connected", "waiting", "stopped"}


def test_loop_url_unplug_and_replug() -> None:
    """pyserial's loop:// echoes what is written: the test writes as the scanner would.
    Closing that port is an unplug; the reader opens a fresh one (a replug)."""
    ports: queue.Queue[Any] = queue.Queue()

    def opener(cfg: SerialSettings) -> Any:
        port = serial.serial_for_url(cfg.port, timeout=0.02)
        ports.put(port)
        return port

    rec = Recorder()
    reader = SerialReader(serial_settings({"port": "loop://", "terminator": "crlf"}), rec.on_scan, rec.on_status,
                          opener=opener, first_delay=0.02, max_delay=0.1)
    reader.start()
    try:
        first = ports.get(timeout=WAIT)
        rec.wait_for("connected")
        first.write(b"W01\r\n\r\n\r\nW02\r\n")
        assert rec.next_event() == Scan("W01", "W01")
        assert rec.next_event() == Scan("W02", "W02")
        seen = len(rec.statuses)
        first.close()
        rec.wait_for("waiting", after=seen)
        second = ports.get(timeout=WAIT)
        rec.wait_for("connected", after=seen)
        second.write(b"W03\r\n")
        assert rec.next_event() == Scan("W03", "W03")
    finally:
        reader.stop()
    assert rec.statuses[-1].state == "stopped"


def test_loop_url_through_serial_for_url_and_no_terminator() -> None:
    rec = Recorder()
    cfg = serial_settings({"port": "loop://", "terminator": "none", "timeout": 0.05})
    holder: list[Any] = []

    def opener(c: SerialSettings) -> Any:
        holder.append(open_port(c))  # the real opener: serial_for_url with the settings
        return holder[-1]

    reader = SerialReader(cfg, rec.on_scan, rec.on_status, opener=opener)
    reader.start()
    try:
        rec.wait_for("connected")
        holder[0].write(b"32044000000200")
        assert rec.next_event() == Scan("32044000000200", "32044000000200")  # ended by the pause
    finally:
        reader.stop()


def test_a_failing_callback_does_not_stop_the_reader() -> None:
    got: queue.Queue[ScanEvent] = queue.Queue()

    def on_scan(event: ScanEvent) -> None:
        if isinstance(event, Scan) and event.barcode == "BOOM":
            raise RuntimeError("app bug")
        got.put(event)

    holder: list[Any] = []
    connected = threading.Event()

    def opener(c: SerialSettings) -> Any:
        holder.append(serial.serial_for_url("loop://", timeout=0.02))
        connected.set()
        return holder[-1]

    reader = SerialReader(serial_settings({"port": "loop://"}), on_scan, opener=opener)
    reader.start()
    try:
        assert connected.wait(WAIT)
        holder[0].write(b"BOOM\rW01\r")
        assert got.get(timeout=WAIT) == Scan("W01", "W01")
    finally:
        reader.stop()


def test_list_ports_returns_port_infos() -> None:
    for port in list_ports():  # whatever this machine has; the shape is what matters
        assert port.device and isinstance(port.description, str)
