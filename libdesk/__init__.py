"""libdesk: the engine and command line of a library desk workstation.

This package never imports Textual: the app lives in the separate ``screens`` package.
"""

from __future__ import annotations

__version__ = "0.1.0"
