"""Scanner settings: the ``[serial]`` and ``[wedge]`` tables of settings.toml, validated.

:func:`libdesk.config.load_settings` keeps these tables as plain dicts; this module turns them
into frozen dataclasses once, at start-up, so a bad value is found before any scan and named
by its key (``ConfigError: settings serial.baudrate = 'fast': must be a whole number``).
Unknown keys are errors too (a misspelt ``baudrate`` would otherwise silently be 9600).

Example::

    [serial]
    port = "/dev/ttyUSB0"      # `libdesk scanners` lists the ports
    baudrate = 9600
    bytesize = 8
    parity = "none"            # none, even, odd, mark, space
    stopbits = 1               # 1, 1.5, 2
    terminator = "cr"          # any (default: CR or LF), cr, lf, crlf, none
    timeout = 0.1              # terminator "none": seconds of silence that end a barcode
    encoding = "utf-8"
    prefix = "\\u0002"          # STX, if the scanner is set to send one
    suffix = ""

    [wedge]
    max_key_gap_ms = 40        # slower keys are a person typing
    min_burst_length = 4
    end_key = "enter"          # enter, tab, either

Both tables also take the barcode rules (``prefix``, ``suffix``, ``min_length``,
``max_length``, ``charset`` = any|digits|alphanumeric|codabar|code39, ``check_digit`` =
none|library|luhn, ``strip_start_stop``) and ``double_scan_window`` (seconds, 0 = off).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from libdesk.errors import ConfigError
from libdesk.scanners.barcodes import CHARSETS, CHECK_DIGITS, DEFAULT_MAX_LENGTH, BarcodeRules
from libdesk.scanners.double import DEFAULT_WINDOW
from libdesk.scanners.lines import DEFAULT_MAX_LINE_BYTES, DEFAULT_TIMEOUT, TERMINATORS, Framing, ascii_compatible
from libdesk.scanners.wedge import DEFAULT_MAX_KEY_GAP, DEFAULT_MIN_BURST_LENGTH, BurstDetector

PARITIES = {"none": "N", "even": "E", "odd": "O", "mark": "M", "space": "S"}
"""Settings words -> pyserial's parity letters (the letters are accepted too)."""
STOPBITS = (1, 1.5, 2)
END_KEYS = ("enter", "tab", "either")


@dataclass(frozen=True)
class SerialSettings:
    """A serial scanner: the port, its line settings, framing and barcode rules."""

    port: str | None = None
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    """pyserial's letter: N, E, O, M, S."""
    stopbits: float = 1
    framing: Framing = field(default_factory=Framing)
    rules: BarcodeRules = field(default_factory=BarcodeRules)
    double_scan_window: float = DEFAULT_WINDOW

    def describe(self) -> str:
        """``/dev/ttyUSB0 9600 8N1``: how serial terminals write it."""
        stop = f"{self.stopbits:g}"
        return f"{self.port or '(no port)'} {self.baudrate} {self.bytesize}{self.parity}{stop}"


@dataclass(frozen=True)
class WedgeSettings:
    """A keyboard-wedge scanner: burst timing and barcode rules."""

    enabled: bool = True
    max_key_gap: float = DEFAULT_MAX_KEY_GAP
    """Seconds (the settings file says ``max_key_gap_ms``)."""
    min_burst_length: int = DEFAULT_MIN_BURST_LENGTH
    end_key: str = "enter"
    rules: BarcodeRules = field(default_factory=BarcodeRules)
    double_scan_window: float = DEFAULT_WINDOW

    def detector(self) -> BurstDetector:
        """A fresh burst detector with these settings."""
        return BurstDetector(rules=self.rules, max_key_gap=self.max_key_gap,
                             min_burst_length=self.min_burst_length, end_key=self.end_key)  # type: ignore[arg-type]


_RULE_KEYS = ("prefix", "suffix", "min_length", "max_length", "charset", "check_digit", "strip_start_stop")
_SERIAL_KEYS = ("port", "baudrate", "bytesize", "parity", "stopbits", "terminator", "timeout", "encoding",
                "max_line_bytes", "double_scan_window", *_RULE_KEYS)
_WEDGE_KEYS = ("enabled", "max_key_gap_ms", "min_burst_length", "end_key", "double_scan_window", *_RULE_KEYS)


class _Table:
    """Typed reads from one settings table, each error naming ``table.key`` and the value."""

    def __init__(self, name: str, raw: Mapping[str, Any], known: tuple[str, ...]) -> None:
        self.name = name
        self.raw = raw
        for key in raw:
            if key not in known:
                raise ConfigError(f"settings {name}.{key}: unknown setting (known: {', '.join(known)})")

    def fail(self, key: str, what: str) -> ConfigError:
        return ConfigError(f"settings {self.name}.{key} = {self.raw[key]!r}: {what}")

    def get(self, key: str, default: Any, check: Callable[[Any], Any], what: str) -> Any:
        if key not in self.raw or self.raw[key] is None:
            return default
        try:
            value = check(self.raw[key])
        except (TypeError, ValueError, LookupError):
            raise self.fail(key, what) from None
        return value

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        def check(v: Any) -> int:
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise ValueError
            return v
        return self.get(key, default, check, f"must be a whole number from {low} to {high}")

    def number(self, key: str, default: float, low: float, high: float, what: str = "") -> float:
        def check(v: Any) -> float:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not low <= v <= high:
                raise ValueError
            return float(v)
        return self.get(key, default, check, what or f"must be a number from {low:g} to {high:g}")

    def choice(self, key: str, default: str, choices: tuple[str, ...] | Mapping[str, str]) -> str:
        def check(v: Any) -> str:
            if not isinstance(v, str) or v.lower() not in choices:
                raise ValueError
            return v.lower()
        return self.get(key, default, check, f"must be one of {', '.join(choices)}")

    def text(self, key: str, default: str) -> str:
        def check(v: Any) -> str:
            if not isinstance(v, str):
                raise TypeError
            return v
        return self.get(key, default, check, "must be a string")

    def flag(self, key: str, default: bool) -> bool:
        def check(v: Any) -> bool:
            if not isinstance(v, bool):
                raise TypeError
            return v
        return self.get(key, default, check, "must be true or false")


def _rules(t: _Table) -> BarcodeRules:
    min_length = t.integer("min_length", 1, 1, DEFAULT_MAX_LENGTH)
    max_length = t.integer("max_length", DEFAULT_MAX_LENGTH, 1, DEFAULT_MAX_LENGTH)
    if min_length > max_length:
        raise t.fail("min_length", f"is more than max_length ({max_length})")
    return BarcodeRules(
        prefix=t.text("prefix", ""), suffix=t.text("suffix", ""),
        min_length=min_length, max_length=max_length,
        charset=t.choice("charset", "any", tuple(CHARSETS)),
        check_digit=t.choice("check_digit", "none", CHECK_DIGITS),  # type: ignore[arg-type]
        strip_start_stop=t.flag("strip_start_stop", False),
    )


def serial_settings(raw: Mapping[str, Any] | None = None, *, stale_after: float | None = 1.0) -> SerialSettings:
    """The ``[serial]`` table as :class:`SerialSettings`.

    Raises:
        ConfigError: an unknown key or a bad value (the key and value are named).
    """
    t = _Table("serial", raw or {}, _SERIAL_KEYS)

    def parity(v: Any) -> str:
        if not isinstance(v, str):
            raise TypeError
        word = v.lower()
        if word in PARITIES:
            return PARITIES[word]
        if v.upper() in PARITIES.values():
            return v.upper()
        raise ValueError

    def stopbits(v: Any) -> float:
        if isinstance(v, bool) or v not in STOPBITS:
            raise ValueError
        return v

    def encoding(v: Any) -> str:
        if not isinstance(v, str) or not ascii_compatible(v):
            raise ValueError
        return v

    def port(v: Any) -> str:
        if not isinstance(v, str) or not v.strip():
            raise ValueError
        return v.strip()

    framing = Framing(
        terminator=t.choice("terminator", "any", TERMINATORS),  # type: ignore[arg-type]
        timeout=t.number("timeout", DEFAULT_TIMEOUT, 0.001, 10.0),
        encoding=t.get("encoding", "utf-8", encoding,
                       "must be a known encoding that keeps ASCII as single bytes (utf-8, latin-1, cp1252, ascii)"),
        max_line_bytes=t.integer("max_line_bytes", DEFAULT_MAX_LINE_BYTES, 16, 65536),
        stale_after=stale_after,
    )
    return SerialSettings(
        port=t.get("port", None, port, "must be a port name such as /dev/ttyUSB0 or COM3"),
        baudrate=t.integer("baudrate", 9600, 50, 4_000_000),
        bytesize=t.integer("bytesize", 8, 5, 8),
        parity=t.get("parity", "N", parity, "must be one of none, even, odd, mark, space"),
        stopbits=t.get("stopbits", 1, stopbits, "must be 1, 1.5 or 2"),
        framing=framing,
        rules=_rules(t),
        double_scan_window=t.number("double_scan_window", DEFAULT_WINDOW, 0, 60),
    )


def wedge_settings(raw: Mapping[str, Any] | None = None) -> WedgeSettings:
    """The ``[wedge]`` table as :class:`WedgeSettings`.

    Raises:
        ConfigError: an unknown key or a bad value (the key and value are named).
    """
    t = _Table("wedge", raw or {}, _WEDGE_KEYS)
    return WedgeSettings(
        enabled=t.flag("enabled", True),
        max_key_gap=t.number("max_key_gap_ms", DEFAULT_MAX_KEY_GAP * 1000, 1, 500) / 1000,
        min_burst_length=t.integer("min_burst_length", DEFAULT_MIN_BURST_LENGTH, 1, DEFAULT_MAX_LENGTH),
        end_key=t.choice("end_key", "enter", END_KEYS),
        rules=_rules(t),
        double_scan_window=t.number("double_scan_window", DEFAULT_WINDOW, 0, 60),
    )
