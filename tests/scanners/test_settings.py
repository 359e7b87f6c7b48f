"""The [serial] and [wedge] settings tables become validated dataclasses; errors name the key."""

from __future__ import annotations

import pytest

from libdesk.errors import ConfigError
from libdesk.scanners.settings import serial_settings, wedge_settings


def test_defaults() -> None:
    s = serial_settings({})
    assert (s.port, s.baudrate, s.bytesize, s.parity, s.stopbits) == (None, 9600, 8, "N", 1)
    assert s.framing.terminator == "any" and s.framing.encoding == "utf-8"
    assert s.double_scan_window == 1.5
    w = wedge_settings({})
    assert w.enabled and w.max_key_gap == pytest.approx(0.04) and w.min_burst_length == 4


def test_values_are_read() -> None:
    s = serial_settings({"port": "/dev/ttyUSB0", "baudrate": 19200, "bytesize": 7, "parity": "even",
                         "stopbits": 2, "terminator": "CRLF", "timeout": 0.2, "encoding": "latin-1",
                         "prefix": "\u0002", "check_digit": "library", "double_scan_window": 0})
    assert (s.port, s.baudrate, s.bytesize, s.parity, s.stopbits) == ("/dev/ttyUSB0", 19200, 7, "E", 2)
    assert s.framing.terminator == "crlf" and s.framing.timeout == 0.2 and s.framing.encoding == "latin-1"
    assert s.rules.prefix == "\x02" and s.rules.check_digit == "library"
    assert s.describe() == "/dev/ttyUSB0 19200 7E2"
    w = wedge_settings({"max_key_gap_ms": 25, "min_burst_length": 6, "end_key": "tab", "suffix": "!"})
    assert w.max_key_gap == pytest.approx(0.025)
    d = w.detector()
    assert d.min_burst_length == 6 and d.end_key == "tab" and d.rules.suffix == "!"


@pytest.mark.parametrize(("table", "raw", "named"), [
    ("serial", {"baudrate": "fast"}, "serial.baudrate = 'fast'"),
    ("serial", {"baudrate": True}, "serial.baudrate"),
    ("serial", {"baud": 9600}, "serial.baud: unknown setting"),
    ("serial", {"parity": "sometimes"}, "serial.parity"),
    ("serial", {"stopbits": 3}, "serial.stopbits"),
    ("serial", {"bytesize": 9}, "serial.bytesize"),
    ("serial", {"terminator": "semicolon"}, "serial.terminator"),
    ("serial", {"encoding": "utf-16"}, "serial.encoding"),
    ("serial", {"encoding": "klingon"}, "serial.encoding"),
    ("serial", {"timeout": -1}, "serial.timeout"),
    ("serial", {"port": ""}, "serial.port"),
    ("serial", {"min_length": 10, "max_length": 5}, "serial.min_length"),
    ("wedge", {"max_key_gap_ms": 0}, "wedge.max_key_gap_ms"),
    ("wedge", {"end_key": "space"}, "wedge.end_key"),
    ("wedge", {"check_digit": "mod11"}, "wedge.check_digit"),
    ("wedge", {"charset": "emoji"}, "wedge.charset"),
    ("wedge", {"enabled": "yes"}, "wedge.enabled"),
    ("wedge", {"double_scan_window": -1}, "wedge.double_scan_window"),
])
def test_bad_value_is_a_config_error_naming_the_key(table: str, raw: dict[str, object], named: str) -> None:
    parse = serial_settings if table == "serial" else wedge_settings
    with pytest.raises(ConfigError) as err:
        parse(raw)
    assert named in err.value.message
