"""Serial scanners: a pyserial reader thread that survives unplug and replug.

:class:`SerialReader` owns one plain thread (STYLE.md section 5: not a Textual worker; the
engine never imports Textual). The thread opens the port with :func:`serial.serial_for_url`
(so ``loop://``, ``socket://`` and ``rfc2217://`` work as well as ``/dev/ttyUSB0`` and
``COM3``), reads whatever bytes are waiting, cuts them into barcodes with a
:class:`~libdesk.scanners.lines.LineSplitter` and calls, *from the reader thread*:

- ``on_scan(event)`` with each :class:`~libdesk.scanners.barcodes.Scan` or
  :class:`~libdesk.scanners.barcodes.Rejected`, in the order read;
- ``on_status(status)`` with a :class:`ReaderStatus` whenever the state or its message
  changes: ``connecting``, ``connected``, ``waiting`` (the port is not there: unplugged,
  or not yet plugged in), ``error`` (it is there but cannot be used: busy, no permission;
  the reason is in the message), ``stopped``.

The callbacks must be quick and thread-safe: the app's wrap them in ``App.call_from_thread``
or ``post_message``; ``libdesk listen`` puts them on a queue for its main thread. An exception
in a callback is logged and does not stop the reader.

When the port cannot be opened, or a read fails (unplugged: the OS reports an I/O error or
"readiness to read but no data"), the port is closed, any partial line is reported as
rejected, and the thread retries after ``first_delay`` seconds, doubling each failure up to
``max_delay`` (a replugged scanner is back within ``max_delay``; an absent one costs one
failed ``open`` per ``max_delay``). A connection that worked for ``STABLE_AFTER`` seconds
resets the delay; one that fails at once keeps backing off. :meth:`stop` sets an event that
every wait and every read (``read_timeout``) notices, then joins the thread.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Self

import serial

from libdesk.errors import LibdeskError
from libdesk.scanners.barcodes import ScanEvent
from libdesk.scanners.lines import LineSplitter
from libdesk.scanners.settings import SerialSettings

log = logging.getLogger(__name__)

State = Literal["connecting", "connected", "waiting", "error", "stopped"]

# Granularity of the read loop: how late stop() and a "none"-terminator timeout can be.
READ_TIMEOUT = 0.05
FIRST_DELAY = 0.5
MAX_DELAY = 8.0
# A connection that lasted this long was a working one: after it drops, retry from first_delay.
STABLE_AFTER = 5.0

_GONE = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO}
_BUSY = {errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK}
_DENIED = {errno.EACCES, errno.EPERM}


@dataclass(frozen=True)
class ReaderStatus:
    """What the header's scanner indicator shows."""

    state: State
    port: str
    message: str
    """One line for a person: "connected to /dev/ttyUSB0 9600 8N1", "... is busy: ..."."""
    retry_in: float | None = None
    """Seconds to the next attempt (waiting and error states)."""


class ScannerError(LibdeskError):
    """A serial port that cannot be opened or read; ``state`` is ``waiting`` (not there)
    or ``error`` (there but unusable)."""

    kind = "scanner"

    def __init__(self, message: str, state: State = "error") -> None:
        super().__init__(message)
        self.state = state


@dataclass(frozen=True)
class PortInfo:
    """A serial port the system knows of (``libdesk scanners``)."""

    device: str
    description: str
    hwid: str
    manufacturer: str | None = None
    product: str | None = None
    serial_number: str | None = None
    vid: int | None = None
    pid: int | None = None
    location: str | None = None


def list_ports() -> list[PortInfo]:
    """The serial ports found (USB-serial adapters, built-in ports), by device name."""
    from serial.tools import list_ports as lp  # a separate module of pyserial, only needed here

    found = [PortInfo(p.device, p.description or "", p.hwid or "", p.manufacturer, p.product, p.serial_number,
                      p.vid, p.pid, p.location) for p in lp.comports()]
    return sorted(found, key=lambda p: p.device)


def describe_error(port: str, exc: BaseException, *, opening: bool = True) -> ScannerError:
    """A pyserial/OS error as one clear line, classified as waiting (gone) or error."""
    code = getattr(exc, "errno", None)
    if code is None and isinstance(exc.__context__, OSError):
        code = exc.__context__.errno
    if code in _GONE:
        if opening:
            return ScannerError(f"serial port {port} not found: is the scanner plugged in? "
                                "(libdesk scanners lists the ports)", "waiting")
        return ScannerError(f"serial port {port} disconnected: waiting for it to come back", "waiting")
    if code in _BUSY:
        return ScannerError(f"serial port {port} is busy: another program is using it", "error")
    if code in _DENIED:
        return ScannerError(f"no permission to open serial port {port} "
                            "(on Linux, join the dialout group and log in again)", "error")
    detail = str(exc).strip() or type(exc).__name__
    if not opening:
        # pyserial's wording for an unplugged USB adapter or a hung-up pty
        return ScannerError(f"serial port {port} disconnected ({detail}): waiting for it to come back", "waiting")
    return ScannerError(f"cannot open serial port {port}: {detail}", "error")


def open_port(cfg: SerialSettings, *, read_timeout: float = READ_TIMEOUT) -> serial.SerialBase:
    """Open the configured port (a device name or a pyserial URL).

    Raises:
        ScannerError: no port configured, not found, busy, no permission, bad settings.
    """
    if not cfg.port:
        raise ScannerError("no serial port: give --serial PORT or set port in the [serial] settings")
    try:
        # exclusive: a second libdesk (or anything using flock) on the same port gets "busy"
        # instead of both reading half the bytes each.
        return serial.serial_for_url(cfg.port, baudrate=cfg.baudrate, bytesize=cfg.bytesize, parity=cfg.parity,
                                     stopbits=cfg.stopbits, timeout=read_timeout, exclusive=True)
    except (serial.SerialException, OSError) as exc:
        raise describe_error(cfg.port, exc) from None
    except ValueError as exc:  # pyserial's word for settings the port does not accept
        raise ScannerError(f"serial port {cfg.port}: {exc}") from None


class SerialReader:
    """Reads barcodes from one serial scanner on a background thread (see the module doc)."""

    def __init__(self, cfg: SerialSettings, on_scan: Callable[[ScanEvent], object],
                 on_status: Callable[[ReaderStatus], object] | None = None, *,
                 opener: Callable[[SerialSettings], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 first_delay: float = FIRST_DELAY, max_delay: float = MAX_DELAY,
                 read_timeout: float = READ_TIMEOUT) -> None:
        """Args:
            cfg: the port and its settings.
            on_scan: called from the reader thread with each scan or rejected read.
            on_status: called from the reader thread when the status changes.
            opener: opens the port (default :func:`open_port`); tests pass their own.
            first_delay, max_delay: the retry backoff, seconds.
        """
        self.cfg = cfg
        self.on_scan = on_scan
        self.on_status = on_status
        self.opener = opener or (lambda c: open_port(c, read_timeout=read_timeout))
        self.clock = clock
        self.first_delay = first_delay
        self.max_delay = max(max_delay, first_delay)
        self.port_name = cfg.port or "(no port)"
        self.splitter = LineSplitter(cfg.framing, cfg.rules)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._port: Any = None
        self._status = ReaderStatus("stopped", self.port_name, "not started")

    @property
    def status(self) -> ReaderStatus:
        """The latest status (also given to ``on_status``)."""
        return self._status

    def open_now(self) -> None:
        """Open the port in the calling thread, so a command can fail at once with a clear
        message instead of waiting; :meth:`start` then reads from it.

        Raises:
            ScannerError: as :func:`open_port`.
        """
        self._port = self.opener(self.cfg)

    def start(self) -> None:
        """Start the reader thread (it keeps trying until :meth:`stop`)."""
        if self._thread is not None:
            raise RuntimeError("SerialReader already started")
        self._thread = threading.Thread(target=self._run, name=f"libdesk-serial {self.port_name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reading, close the port and wait for the thread (at most ``timeout`` s)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        elif self._port is not None:
            _close_quietly(self._port)
            self._port = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.first_delay
        if self._port is None:
            self._set_status("connecting", f"opening {self.cfg.describe()}")
        while not self._stop.is_set():
            port, self._port = self._port, None
            if port is None:
                try:
                    port = self.opener(self.cfg)
                except ScannerError as exc:
                    self._set_status(exc.state, exc.message, retry_in=delay)
                    if self._stop.wait(delay):
                        break
                    delay = min(delay * 2, self.max_delay)
                    continue
                except Exception as exc:  # an opener bug must not kill the thread silently
                    log.exception("opening %s failed", self.port_name)
                    self._set_status("error", f"cannot open serial port {self.port_name}: {exc}", retry_in=delay)
                    if self._stop.wait(delay):
                        break
                    delay = min(delay * 2, self.max_delay)
                    continue
            opened_at = self.clock()
            self._set_status("connected", f"connected to {self.cfg.describe()}")
            try:
                self._pump(port)
            except Exception as exc:
                if isinstance(exc, (serial.SerialException, OSError)):
                    state: State
                    state, message = "waiting", describe_error(self.port_name, exc, opening=False).message
                else:  # a bug: logged with its traceback; the reader carries on
                    log.exception("reading %s failed", self.port_name)
                    state, message = "error", f"reading serial port {self.port_name} failed: {exc!r}"
                self._deliver(self.splitter.reset("the scanner was disconnected in the middle of it"))
                if self.clock() - opened_at >= STABLE_AFTER:
                    delay = self.first_delay  # it worked for a while: come back quickly
                self._set_status(state, message, retry_in=delay)
                if self._stop.wait(delay):
                    break
                # A port that opens but fails at once (a flaky cable) backs off like one that
                # cannot be opened, instead of reconnecting every first_delay for ever.
                delay = min(delay * 2, self.max_delay)
            finally:
                _close_quietly(port)
        self._deliver(self.splitter.reset())
        self._set_status("stopped", f"stopped reading {self.port_name}")

    def _pump(self, port: Any) -> None:
        """Read until stopped or the port fails (raises)."""
        while not self._stop.is_set():
            waiting = port.in_waiting
            data = port.read(waiting or 1)  # blocks at most read_timeout for the first byte
            now = self.clock()
            self._deliver(self.splitter.feed(data, now) if data else self.splitter.poll(now))

    def _deliver(self, events: list[ScanEvent]) -> None:
        for event in events:
            try:
                self.on_scan(event)
            except Exception:
                log.exception("scan callback failed for %r", event)

    def _set_status(self, state: State, message: str, retry_in: float | None = None) -> None:
        previous = self._status
        self._status = ReaderStatus(state, self.port_name, message, retry_in)
        if (previous.state, previous.message) == (state, message) or self.on_status is None:
            return
        try:
            self.on_status(self._status)
        except Exception:
            log.exception("status callback failed")


def _close_quietly(port: Any) -> None:
    try:
        port.close()
    except (serial.SerialException, OSError) as exc:  # a vanished port: it is closed either way
        log.debug("closing the port: %s", exc)
