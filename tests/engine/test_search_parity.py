"""Search and Monitor facets answer the same questions on SQLite and on PostgreSQL.

The same items (and the same requests) go into a SQLite file and a fresh PostgreSQL database
through the engine itself; every query then runs on both and must give the same rows in the
same order, and the rows a desk worker expects (word prefixes, accents folded, ``_`` ``%``
and quotes literal, barcodes and ``prefix*``, pages that follow each other).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libdesk import queries, requests, scan, workorders
from libdesk.db import Database, create_database
from libdesk.importing import insert_items
from libdesk.institution import Institution
from tests.conftest import FROZEN

# (barcode, title, author, call number). Barcodes mix case so that code-point order and a
# database collation's order would differ ("W0a" sorts after "W0Z" only by code point).
SPECIAL = [
    ("S001", "Gärten der Welt", "Müller, Jürgen", "SB466 .G3 1990"),
    ("S002", "Garten und Haus", "Schmidt, Anna", "SB450 .S3 2001"),
    ("S003", "Café society", "Dupont, Élise", "HN440 .C3"),
    ("S004", "École des femmes", "Molière", "PQ1835 .A2"),
    ("S005", "100% cotton: a history", "Brown, Ann", "TS1580 .B7"),
    ("S006", "snake_case and camelCase names", "Coder, Kim", "QA76.73 .P98"),
    ("S007", "O'Brien's \"quoted\" tale", "O'Brien, Pat", "PR6029 .B65"),
    ("S008", "The 50% solution", "Percent, Paul", "HF5415 .P4"),
    ("S009", "Gardens of the world", "Gardner, Gail", "SB466 .G35"),
    ("S010", "Under_score only", "Lowline, Lu", "Z253 .L6"),
    ("W0a", "Lowercase barcode law", "Case, Carl", "KF1 .C3"),
    ("W0Z", "Uppercase barcode law", "Case, Carl", "KF2 .C3"),
    ("w0b", "Lowercase w law", "Case, Carl", "KF3 .C3"),
]
# Enough matches of one word ("law") for several pages of 50 and in-process pages of 20.
COMMON = [(f"L{n:03d}", f"Essays on law volume {n}", f"Jurist {n % 7}", f"K{n:04d} .J{n % 9}") for n in range(1, 131)]

QUERIES = [
    "garten", "GÄRTEN", "gärten", "gart", "muller", "müller", "jurgen", "cafe", "café", "ecole", "élise", "eli",
    "moliere", "100%", "%", "50%", "_", "snake_case", "snake", "case", "camel", "under_score", "under", "score",
    '"quoted"', '"quoted', "quoted", "o'brien", "brien", "o", "qa76.73", "qa76", "p98", ".p98", "sb466", "k0001",
    "law", "essays law", "law essays", "law volume 1", "jurist 3", "gardens world", "world", "w", "xyzzy",
    "garten xyzzy", "S001", "s001", "S00*", "W0*", "w0*", "L1*", "L00*", "K00*", "*", "'", '"', "&", "|", "!law",
    "law:*", "la", "l", "a", "1990", "19",
]


def _records(now: datetime) -> list[dict[str, Any]]:
    return [
        {"barcode": code, "title": title, "author": author, "call_number": call, "material_type": "BOOK",
         "library": "WID" if n % 3 else "LAW", "location": "WID-STACKS" if n % 3 else "LAW-STACKS",
         "process_type": None, "version": 1, "created_at": now, "updated_at": now}
        for n, (code, title, author, call) in enumerate(SPECIAL + COMMON)
    ]


def _fill(db: Database) -> Database:
    """The same items, work orders and requests, through the engine, on either engine."""
    insert_items(db, _records(FROZEN), operator="admin", source="parity")
    # Half of the "law" items in process at CCWID (for the in-process list's search).
    for n in range(1, 131, 2):
        scan.scan_in(db, f"L{n:03d}", at="CCWID", operator="admin", status="Pocket")
    # Requests with facet ties: two pickups with the same count, two owners with the same count.
    for n, (code, pickup) in enumerate([("S001", "WID-CIRC"), ("S002", "LAW-CIRC"), ("S003", "WID-CIRC"),
                                        ("S004", "LAW-CIRC"), ("S005", "WID-CIRC"), ("S006", "LAW-CIRC")]):
        requests.place_request(db, code, f"P{n + 1:04d}", pickup, operator="admin")
    for code, wo_type, dept in [("S007", "TS", "ITS625"), ("S008", "PRES", "CCWID"), ("S009", "TS", "ITS625")]:
        workorders.place_work_order(db, code, wo_type, dept, operator="admin")
    return db


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database]]:
    """One SQLite file and one PostgreSQL database with the same content (module-wide: the
    tests here only read)."""
    from libdesk import clock, institution
    from tests.conftest import scratch_postgres

    inst: Institution = institution.load_file(institution.demo_path())
    clock.freeze(FROZEN)
    try:
        with scratch_postgres() as url:
            lite = _fill(create_database(Path(tmp_path_factory.mktemp("parity")) / "desk.db", inst))
            pg = _fill(create_database(url, inst))
            yield {"sqlite": lite, "postgres": pg}
            lite.close()
            pg.close()
    finally:
        clock.freeze(None)


def _barcodes(db: Database, query: str, limit: int = 50) -> list[str]:
    return [r["barcode"] for r in queries.search(db, query, limit=limit)]


@pytest.mark.parametrize("query", QUERIES)
def test_search_same_rows_same_order(engines, query):
    lite = queries.search(engines["sqlite"], query)
    pg = queries.search(engines["postgres"], query)
    assert pg == lite
    assert queries.search(engines["postgres"], query) == pg  # the same first page every time


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_search_answers_what_a_desk_expects(engines, engine):
    db = engines[engine]
    assert sorted(_barcodes(db, "garten")) == ["S001", "S002"]  # accents folded, both ways
    assert sorted(_barcodes(db, "gärten")) == ["S001", "S002"]
    assert _barcodes(db, "cafe") == ["S003"] and _barcodes(db, "ecole") == ["S004"]
    assert _barcodes(db, "muller") == ["S001"] and _barcodes(db, "eli") == ["S003"]  # author, prefix
    assert sorted(_barcodes(db, "gard")) == ["S009"]  # a word prefix ...
    assert _barcodes(db, "arden") == []  # ... never a substring
    assert _barcodes(db, "%") == [] and _barcodes(db, "_") == []  # not wildcards
    assert sorted(_barcodes(db, "100%")) == ["L100", "S005"]  # "volume 100": a word prefix, % ignored
    assert sorted(_barcodes(db, "50% solution")) == ["S008"]
    assert _barcodes(db, "under_score") == ["S010"] and _barcodes(db, "snake_case") == ["S006"]
    assert _barcodes(db, '"quoted"') == ["S007"] and _barcodes(db, "o'brien") == ["S007"]
    assert _barcodes(db, "qa76.73") == ["S006"] and _barcodes(db, "p98") == ["S006"]  # call number
    assert _barcodes(db, "S001") == ["S001"] and _barcodes(db, "s001") == []  # exact barcode
    assert _barcodes(db, "W0*") == ["W0Z", "W0a"]  # code-point order, "w0b" outside the range
    assert _barcodes(db, "w0*") == ["w0b"]
    assert _barcodes(db, "garten xyzzy") == [] and _barcodes(db, "'") == []


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_search_first_page_is_the_lowest_ids_shown_by_title(engines, engine):
    db = engines[engine]
    everything = _barcodes(db, "law", limit=10_000)
    assert len(everything) == 130 + 3
    first = queries.search(db, "law", limit=50)
    # The first 50 matches by id (insertion order): W0a, W0Z, w0b, then L001..L047.
    assert sorted(r["barcode"] for r in first) == sorted(["W0a", "W0Z", "w0b"] + [f"L{n:03d}" for n in range(1, 48)])
    titles = [(r["title"], r["barcode"]) for r in first]
    assert titles == sorted(titles)
    # A bigger limit extends the same set: the page does not depend on how much is asked.
    assert set(_barcodes(db, "law", limit=50)) < set(_barcodes(db, "law", limit=100))


@pytest.mark.parametrize("search", ["law", "volume 1", "jurist", "K00*", "L0*", "xyzzy"])
@pytest.mark.parametrize("sort", ["barcode", "title", "since"])
def test_inprocess_search_pages_match(engines, search, sort):
    def pages(db: Database) -> list[list[str]]:
        out, after = [], None
        while True:
            page = queries.inprocess_page(db, queries.InProcessFilter("CCWID", search=search), sort=sort,
                                          after=after, limit=20)
            out.append([r["barcode"] for r in page.rows])
            if page.next_after is None:
                return out
            after = page.next_after

    lite, pg = pages(engines["sqlite"]), pages(engines["postgres"])
    assert pg == lite
    if search == "law":
        assert len(lite) == 4 and sum(map(len, lite)) == 65  # 65 in process, pages of 20


@pytest.mark.parametrize("filters", [{}, {"type": "patron"}, {"pickup": "WID-CIRC"}, {"owner": "LAW"},
                                     {"type": "TS"}, {"requested": "today"}, {"type": "nothing"}])
def test_facets_same_counts_same_order(engines, filters):
    lite = queries.monitor(engines["sqlite"], filters)
    pg = queries.monitor(engines["postgres"], filters)
    assert pg["total"] == lite["total"]
    for facet in queries.MONITOR_FACETS:
        assert list(pg["facets"][facet].items()) == list(lite["facets"][facet].items()), facet
    assert [r["id"] for r in pg["rows"]] == [r["id"] for r in lite["rows"]]


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_facet_ties_by_count_then_name(engines, engine):
    facets = queries.monitor(engines[engine], {"type": "patron"})["facets"]
    # Three requests for each pickup desk: a tie, so by name.
    assert list(facets["pickup"].items()) == [("LAW-CIRC", 3), ("WID-CIRC", 3)]
    for counts in queries.monitor(engines[engine], {})["facets"].values():
        assert list(counts.items()) == sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# -- the PostgreSQL DDL itself ------------------------------------------------------------------

def test_postgres_search_ddl_is_idempotent(postgres_url, inst):
    from sqlalchemy import text

    from libdesk.db import _create_postgres_search

    db = create_database(postgres_url, inst)
    insert_items(db, _records(FROZEN)[:3], operator="admin", source="parity")
    for _ in range(2):  # as a migration would call it on a database that already has it
        with db.engine.begin() as conn:
            _create_postgres_search(conn)
    with db.engine.connect() as conn:
        indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = 'item'")).scalars())
    assert {"ix_item_words", "ix_item_barcode_c"} <= indexes
    assert sorted(_barcodes(db, "garten")) == ["S001", "S002"]
    db.close()


def test_postgres_refused_extension_is_one_clear_message_and_nothing_made(inst):
    """A desk user who may not CREATE EXTENSION: `libdesk init` says what to ask the
    administrator for, and leaves the database empty (so init works once that is done)."""
    import uuid

    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url

    from libdesk.errors import ConfigError
    from tests.conftest import _admin_execute, postgres_admin_url, scratch_postgres

    admin = postgres_admin_url()
    role = f"desk_{uuid.uuid4().hex[:8]}"
    _admin_execute(admin, f"CREATE ROLE {role} LOGIN")
    try:
        with scratch_postgres() as url:
            _admin_execute(make_url(url).render_as_string(hide_password=False),
                           f"GRANT CREATE ON SCHEMA public TO {role}")
            desk_url = make_url(url).set(username=role).render_as_string(hide_password=False)
            with pytest.raises(ConfigError, match=r"refused CREATE EXTENSION unaccent .*CREATE EXTENSION unaccent;"):
                create_database(desk_url, inst)
            from libdesk.db import make_engine
            engine = make_engine(url)
            assert inspect(engine).get_table_names() == []
            engine.dispose()
            # The administrator creates the extension: the same user's init now succeeds.
            _admin_execute(make_url(url).render_as_string(hide_password=False), "CREATE EXTENSION unaccent")
            db = create_database(desk_url, inst)
            insert_items(db, _records(FROZEN)[:3], operator="admin", source="parity")
            assert sorted(_barcodes(db, "gärten")) == ["S001", "S002"]
            db.close()
    finally:
        _admin_execute(admin, f"DROP ROLE IF EXISTS {role}")


# -- any query a desk might type ----------------------------------------------------------------

_VOCABULARY = sorted({word for _, title, author, call in SPECIAL + COMMON[:12]
                      for word in f"{title} {author} {call}".split()})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_typed_query_same_on_both_engines(engines, data):
    """Words of the items cut to a prefix, with case changed, punctuation, accents and
    wildcard characters around them: both engines give the same rows in the same order."""
    def typed_word() -> str:
        word = data.draw(st.sampled_from(_VOCABULARY))
        word = word[: data.draw(st.integers(1, len(word)))]
        word = data.draw(st.sampled_from([word, word.upper(), word.lower(), word.swapcase()]))
        return (data.draw(st.sampled_from(["", '"', "'", "%", "_", "(", "-", "é"])) + word
                + data.draw(st.sampled_from(["", '"', "'", "%", "_", ".", ",", "*", "ä", ":*"])))

    query = " ".join(typed_word() for _ in range(data.draw(st.integers(1, 3))))
    assert queries.search(engines["postgres"], query) == queries.search(engines["sqlite"], query), query
