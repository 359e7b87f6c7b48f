"""Setting a database up: a set-up stopped half-way is never taken for a whole one (issue 14
item 7), and init never changes a database that is not libdesk's or empty (item 5), on SQLite
and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from libdesk import demo, institution, queries
from libdesk.db import create_database, mark_complete, open_database
from libdesk.errors import ConfigError, NotFound
from tests.conftest import scratch_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a new database goes: a file path, or an empty PostgreSQL database's URL."""
    if request.param == "sqlite":
        yield str(tmp_path / "desk.db")
        return
    with scratch_postgres() as url:
        yield url


def _inst() -> institution.Institution:
    return institution.load_file(institution.demo_path())


def test_a_set_up_stopped_half_way_is_refused_on_open_and_init_starts_it_over(empty_target):
    db = create_database(empty_target, _inst(), incomplete="demo")
    from libdesk.importing import insert_items
    from tests.conftest import FROZEN, item_records

    half = item_records(FROZEN)[:3]
    insert_items(db, half, operator="admin", source="half a demo")
    db.close()  # as if killed here: the demo never finished
    with pytest.raises(ConfigError, match="set-up did not finish .*demo.*run `libdesk init --demo`"):
        open_database(empty_target)
    db = create_database(empty_target, _inst(), incomplete="demo")
    loaded = demo.load_demo(db)
    mark_complete(db)
    db.close()
    db = open_database(empty_target)
    try:
        assert queries.overview(db)["items"] >= loaded["items"] == 320
        assert queries.item_show(db, demo.barcode(1))["barcode"] == demo.barcode(1)
        for record in half:  # what the stopped set-up had loaded is gone
            with pytest.raises(NotFound):
                queries.item_show(db, record["barcode"])
    finally:
        db.close()
    with pytest.raises(ConfigError, match="already set up"):
        create_database(empty_target, _inst())


def test_a_whole_database_is_never_made_over(empty_target):
    create_database(empty_target, _inst()).close()
    with pytest.raises(ConfigError, match="already set up"):
        create_database(empty_target, _inst(), incomplete="demo")
    open_database(empty_target).close()


def _pg_state(url: str) -> list[tuple[str, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(map(str, r)) for r in conn.execute(text(
                "SELECT 'rel', c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' UNION ALL SELECT 'ext', extname, extversion FROM pg_extension "
                "UNION ALL SELECT 'ts', cfgname, '' FROM pg_ts_config WHERE cfgnamespace = 'public'::regnamespace "
                "UNION ALL SELECT 'fn', proname, '' FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
                "ORDER BY 1, 2"))]
    finally:
        engine.dispose()


@pytest.mark.parametrize("other", [
    "CREATE TABLE orders (id serial PRIMARY KEY, total numeric)",
    "CREATE TABLE meta (name text, value text)",  # a 'meta' table that is not libdesk's
    "CREATE VIEW report AS SELECT 1 AS one",
])
def test_postgres_init_leaves_another_programs_database_as_it_is(other):
    """Issue 14 item 5 for PostgreSQL: init checked only for libdesk's meta table, then created
    its tables (and the unaccent extension) beside another program's."""
    with scratch_postgres() as url:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(other))
        engine.dispose()
        before = _pg_state(url)
        with pytest.raises(ConfigError, match="another program's database|cannot tell whose database") as info:
            create_database(url, _inst())
        assert "\n" not in str(info.value) and "libdesk leaves it as it is" in str(info.value)
        assert _pg_state(url) == before
        with pytest.raises(ConfigError):
            open_database(url)
        assert _pg_state(url) == before


def test_postgres_init_accepts_an_empty_database_and_refuses_its_own_twice():
    with scratch_postgres() as url:
        create_database(url, _inst()).close()
        before = _pg_state(url)
        with pytest.raises(ConfigError, match="already set up"):
            create_database(url, _inst())
        assert _pg_state(url) == before
