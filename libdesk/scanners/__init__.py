"""Scanners: keyboard-wedge burst detection and the serial reader (they feed libdesk.scan)."""
