"""Shared fixtures: a real SQLite file per test, the demo institution, a frozen clock."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from libdesk import clock, institution
from libdesk.db import Database, create_database
from libdesk.importing import insert_items

FROZEN = datetime(2026, 3, 2, 9, 0, 0)

# Small, named item set: WID items W01..W30, LAW items L01..L10, remote (HD) R01..R06 owned
# by WID, acquisitions A01..A06 (WID) and B01..B03 (LAW).
ITEM_SPECS: list[tuple[str, str, str, str | None]] = (
    [(f"W{n:02d}", "WID", "WID-STACKS", None) for n in range(1, 31)]
    + [(f"L{n:02d}", "LAW", "LAW-STACKS", None) for n in range(1, 11)]
    + [(f"R{n:02d}", "WID", "HD", None) for n in range(1, 7)]
    + [(f"A{n:02d}", "WID", "WID-STACKS", "acquisition") for n in range(1, 7)]
    + [(f"B{n:02d}", "LAW", "LAW-STACKS", "acquisition") for n in range(1, 4)]
)


def item_records(now: datetime) -> list[dict[str, Any]]:
    return [
        {"barcode": code, "title": f"Title of {code}", "author": "Author", "call_number": f"QA{n:04d}",
         "material_type": "BOOK", "library": lib, "location": loc, "process_type": process, "version": 1,
         "created_at": now, "updated_at": now}
        for n, (code, lib, loc, process) in enumerate(ITEM_SPECS)
    ]


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[datetime]:
    clock.freeze(FROZEN)
    yield FROZEN
    clock.freeze(None)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the real user data or settings."""
    home = tmp_path / "home"
    monkeypatch.setenv("LIBDESK_HOME", str(home))
    monkeypatch.delenv("LIBDESK_DATABASE_URL", raising=False)
    monkeypatch.delenv("LIBDESK_SETTINGS", raising=False)
    return home


@pytest.fixture
def inst() -> institution.Institution:
    return institution.load_file(institution.demo_path())


def make_db(path: Path, inst: institution.Institution) -> Database:
    db = create_database(path, inst)
    insert_items(db, item_records(FROZEN), operator="admin", source="fixture")
    return db


@pytest.fixture(params=["fastpath", "sqlalchemy"])
def db(request: pytest.FixtureRequest, tmp_path: Path, inst: institution.Institution,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A seeded database; every test runs twice: with SQLite's direct statement path and
    through SQLAlchemy alone (the path PostgreSQL takes), so both stay right."""
    from libdesk import fastpath

    monkeypatch.setattr(fastpath, "ENABLED", request.param == "fastpath")
    database = make_db(tmp_path / "desk.db", inst)
    yield database
    database.close()


@pytest.fixture
def db_wo_first(tmp_path: Path) -> Iterator[Database]:
    """The same, with Alma's default queue policy: work orders before patron requests."""
    source = institution.demo_path().read_text(encoding="utf-8").replace(
        "work_orders_equal_patron_requests = true", "work_orders_equal_patron_requests = false")
    database = make_db(tmp_path / "wofirst.db", institution.parse(source, "wofirst"))
    yield database
    database.close()


def db_fingerprint(db: Database) -> str:
    """A digest of every row of every table: equal before and after means nothing changed."""
    digest = hashlib.sha256()
    with db.engine.connect() as conn:
        tables = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"))]
        for table in tables:
            digest.update(table.encode())
            for row in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
