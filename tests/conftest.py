"""Shared fixtures: a real database per test (SQLite files, and a real PostgreSQL server when
``LIBDESK_TEST_POSTGRES_URL`` names one), the demo institution, a frozen clock.

PostgreSQL: ``.ci/run`` starts a throwaway server (``.ci/postgres``) and exports
``LIBDESK_TEST_POSTGRES_URL``, a superuser URL. Each test gets a fresh database of its own,
cloned from a template seeded once per session (CREATE DATABASE ... TEMPLATE copies files:
milliseconds, where building the schema and items again would cost a second). Without the
variable the PostgreSQL cases are skipped, saying so; in CI it is always set.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from libdesk import clock, institution
from libdesk.db import Database, create_database, open_database
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


POSTGRES_ENV = "LIBDESK_TEST_POSTGRES_URL"


def postgres_admin_url() -> str:
    """The test server's superuser URL (SQLAlchemy form), or skip the test saying why."""
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_ENV} (.ci/run starts one with .ci/postgres)")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _admin_execute(admin_url: str, *statements: str) -> None:
    import psycopg

    plain = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


@contextmanager
def scratch_postgres(template: str | None = None) -> Iterator[str]:
    """A new, empty (or cloned from ``template``) PostgreSQL database; dropped afterwards."""
    admin = postgres_admin_url()
    name = f"libdesk_test_{uuid.uuid4().hex[:12]}"
    clone = f" TEMPLATE {template}" if template else ""
    _admin_execute(admin, f"CREATE DATABASE {name}{clone}")
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin_execute(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database for this test."""
    with scratch_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def _postgres_seeded_template() -> Iterator[str]:
    """A database seeded exactly as :func:`make_db` seeds a file, cloned for every test."""
    admin = postgres_admin_url()
    name = f"libdesk_template_{uuid.uuid4().hex[:12]}"
    _admin_execute(admin, f"CREATE DATABASE {name}")
    try:
        was = clock.frozen_at()  # built on a test's first use, inside its frozen clock
        clock.freeze(FROZEN)
        try:
            seeded = make_db(make_url(admin).set(database=name).render_as_string(hide_password=False),
                             institution.load_file(institution.demo_path()))
            seeded.close()
        finally:
            clock.freeze(was)
        yield name
    finally:
        _admin_execute(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


ENGINES = ["fastpath", "sqlalchemy", "postgres"]
"""The three ways the engine runs: SQLite with its direct statement path, SQLite through
SQLAlchemy alone, and PostgreSQL."""


@pytest.fixture(params=ENGINES)
def db(request: pytest.FixtureRequest, tmp_path: Path, inst: institution.Institution,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A seeded database; every test runs three times (:data:`ENGINES`), so all stay right."""
    from libdesk import fastpath

    monkeypatch.setattr(fastpath, "ENABLED", request.param == "fastpath")
    if request.param == "postgres":
        template = request.getfixturevalue("_postgres_seeded_template")
        with scratch_postgres(template) as url:
            database = open_database(url)
            yield database
            database.close()
        return
    database = make_db(tmp_path / "desk.db", inst)
    yield database
    database.close()


@pytest.fixture(params=ENGINES[:2])
def sqlite_db(request: pytest.FixtureRequest, tmp_path: Path, inst: institution.Institution,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The same seeded database on SQLite only, for tests of SQLite's own machinery (WAL,
    PRAGMAs, FTS5 triggers)."""
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
        tables = sorted(inspect(conn).get_table_names())
        if conn.dialect.name == "sqlite":  # FTS5's shadow tables too: the index must not change either
            tables = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"))]
        for table in tables:
            digest.update(table.encode())
            for row in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
