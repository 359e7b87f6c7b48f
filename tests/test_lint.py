"""A lint gate in the suite (issue 15 item 6): ruff, with the rules in pyproject.toml, finds
nothing in the engine, the app, the tests, the benchmarks or the docs scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing() -> None:
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                           "libdesk", "screens", "tests", "benchmarks", "docs"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
