"""`libdesk --version` (issue 12, item 7): the installed version, one line, exit 0, no database."""

from __future__ import annotations

import os
import subprocess
import sys

from libdesk import __version__


def test_version_prints_the_package_version_without_opening_a_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIBDESK_")} | {"LIBDESK_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "libdesk.cli", "--version"], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"libdesk {__version__}"
    assert not list(tmp_path.rglob("*.db"))  # nothing was created
