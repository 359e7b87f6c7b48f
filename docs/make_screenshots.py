"""Make the README's screenshots: the desk app on the demo database, headless, frozen clock.

    python docs/make_screenshots.py        # writes docs/scan-in.svg and docs/in-process.svg
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent


async def shoot() -> None:
    from libdesk import clock, demo, institution
    from libdesk.config import Settings
    from libdesk.db import create_database
    from screens.app import LibdeskApp, make_app

    clock.freeze(datetime(2026, 3, 2, 9, 30))
    tmp = Path(tempfile.mkdtemp(prefix="libdesk-shots-"))
    os.environ["LIBDESK_HOME"] = str(tmp)  # sticky settings go to the scratch folder
    db = create_database(tmp / "libdesk.db", institution.load_file(institution.demo_path()))
    demo.load_demo(db)
    app = make_app(db, Settings(operator="cc", currently_at="CCWID", status="Repair"), clock=clock.now)
    app.set_reactive(LibdeskApp.database, "libdesk.db (demo)")
    async with app.run_test(size=(110, 32)) as pilot:
        await pilot.pause()
        for code in ("32044000000250", "32044000000251"):
            await pilot.press(*code, "enter")
            await pilot.pause()
        app.done = True
        await pilot.press(*"32044000000031", "enter")
        await pilot.pause()
        app.save_screenshot(str(HERE / "scan-in.svg"))
        await pilot.press("f6")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        app.save_screenshot(str(HERE / "in-process.svg"))
    db.close()


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent))
    asyncio.run(shoot())
