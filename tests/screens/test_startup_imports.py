"""Start-up imports only what the first screen needs (issue 12 item 4).

The app is started in a fresh interpreter, as the bare ``libdesk`` command starts it, on Scan In
at a department; once its first screen is drawn the modules loaded are listed. What only other
screens, F1's help, exports, a serial scanner or a PostgreSQL server need must not be among
them: each would add to every start (``benchmarks/app_latency.py`` measures the time).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from libdesk import institution
from libdesk.db import create_database

NOT_AT_START = {
    "markdown_it": "F1's help (the Markdown widget)",
    "pygments": "syntax highlighting (Markdown's code blocks)",
    "xlsxwriter": "XLSX exports",
    "serial": "the serial scanner (only with a port configured)",
    "psycopg": "PostgreSQL's driver (only for a PostgreSQL database)",
    "sqlalchemy.dialects.postgresql": "PostgreSQL's dialect (the bulk run's locking query)",
    "screens.monitor": "another screen (Monitor)",
    "screens.borrowing": "another screen (Borrowing Requests)",
    "screens.in_process": "another screen (Manage In Process Items)",
    "libdesk.exporting": "exports",
    "libdesk.importing": "imports",
}

START = textwrap.dedent("""
    import asyncio, json, sys
    from libdesk import config
    from libdesk.db import open_database
    from screens.app import make_app

    async def main():
        db = open_database(sys.argv[1])
        settings = config.Settings(operator="cc", currently_at="CCWID", status="Repair")
        app = make_app(db, settings)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert type(app.screen).__name__ == "ScanInScreen", app.screen
        db.close()

    asyncio.run(main())
    print("LOADED " + json.dumps(sorted(sys.modules)))
""")


def test_the_first_screen_loads_nothing_another_screen_needs(tmp_path: Path) -> None:
    path = tmp_path / "desk.db"
    create_database(path, institution.load_file(institution.demo_path())).close()
    proc = subprocess.run([sys.executable, "-c", START, str(path)], capture_output=True, text=True, timeout=120,
                          check=False, cwd=Path(__file__).resolve().parents[2])
    lines = [line for line in proc.stdout.splitlines() if line.startswith("LOADED ")]
    assert proc.returncode == 0 and lines, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    loaded = set(json.loads(lines[-1][len("LOADED "):]))
    assert "screens.scan_in" in loaded  # the first screen itself is there
    early = {name: why for name, why in NOT_AT_START.items() if name in loaded}
    assert not early, f"loaded before it is needed: {early}"
