"""Search and Monitor facets on PostgreSQL, on the same data set as benchmarks/run.py.

    eval "$(.ci/postgres start)"
    python benchmarks/postgres_search.py --url "$LIBDESK_TEST_POSTGRES_URL"            # 1,000,000 items
    python benchmarks/postgres_search.py --url ... --items 100000 --workdir /tmp/b     # smaller

It builds the SQLite set with ``run.generate`` (same seed, same proportions: 200,000 active
requests per million items), copies items and requests into a new PostgreSQL database made
by ``create_database`` (so the real schema and the real search DDL), then measures:

| measure | target (issue 11) |
|---|---|
| title word search p50 (libdesk: tsvector GIN) | < 20 ms |
| the same words, as before: ``lower(..) LIKE '%word%'`` | (the before figure) |
| a word that matches nothing, both ways | - |
| monitor facet counts (200,000 requests), none and one facet chosen | < 300 ms |

Benchmarks are not tests: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import and_, func, or_, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks.run import NOW, generate, pct  # noqa: E402
from libdesk import clock, institution, queries  # noqa: E402
from libdesk.core import item_t  # noqa: E402
from libdesk.db import _create_postgres_search, create_database, open_database  # noqa: E402

WORDS = ["letters", "gardens", "maritime", "essays new", "collected poems", "harvard", "law", "botany maps"]
MISS = "zzyzx"
FACET_CHOICES = [{"type": "patron"}, {"type": "TS"}, {"requested": "older"}, {"pickup": "WID-CIRC"},
                 {"owner": "LAW", "step": "waiting"}]


def plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def load(sqlite_path: Path, url: str) -> None:
    """Copy item and request rows into the (empty) libdesk database at ``url``; the word
    index is built once after the load, as a migration of an existing database would."""
    src = sqlite3.connect(sqlite_path)
    with psycopg.connect(plain(url), autocommit=True) as pg:
        pg.execute("DROP INDEX IF EXISTS ix_item_words")
        pg.execute("ALTER TABLE item DROP COLUMN IF EXISTS search_words")
        for table in ("item", "request"):
            cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
            with pg.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in src.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY id"):
                    copy.write_row(row)
            pg.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        t0 = time.perf_counter()
        db = open_database(url)
        with db.engine.begin() as conn:
            _create_postgres_search(conn)
        db.close()
        print(f"word index built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        pg.execute("VACUUM ANALYZE item")
        pg.execute("VACUUM ANALYZE request")
    src.close()


def like_search(db: Any, text: str, limit: int = 50) -> list[Any]:
    """The search as it was before issue 11 on PostgreSQL (the 'before' figure)."""
    conds = []
    for word in text.split():
        pattern = f"%{word.lower()}%"
        conds.append(or_(func.lower(item_t.c.title).like(pattern), func.lower(item_t.c.author).like(pattern),
                         func.lower(item_t.c.call_number).like(pattern)))
    ids = select(item_t.c.id).where(and_(*conds)).limit(limit)
    with db.read() as conn:
        return conn.execute(select(item_t.c.barcode).where(item_t.c.id.in_(ids))
                            .order_by(item_t.c.title, item_t.c.barcode)).all()


def ms(fn: Any, *args: Any) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - t0) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="a PostgreSQL URL of a user that may CREATE DATABASE")
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=200)
    parser.add_argument("--before-searches", type=int, default=16, help="LIKE searches (slow: few)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help="where the SQLite set goes (reused when present)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "postgres_search.json"))
    args = parser.parse_args(argv)
    clock.freeze(NOW)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="libdesk-pgbench-"))
    work.mkdir(parents=True, exist_ok=True)
    sqlite_path = work / f"set-{args.items}.db"
    if not sqlite_path.exists():
        t0 = time.perf_counter()
        facts = generate(sqlite_path, args.items, args.items // 5, 0, args.seed)
        print(f"data set {facts} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    admin = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"libdesk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(plain(admin), autocommit=True) as pg:
        pg.execute(f"CREATE DATABASE {name}")
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        create_database(url, institution.load_file(institution.demo_path())).close()
        t0 = time.perf_counter()
        load(sqlite_path, url)
        print(f"loaded into {name} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        db = open_database(url)
        import random
        rng = random.Random(args.seed)
        for w in WORDS:  # warm the cache as a desk that has been open a while
            queries.search(db, w)
        after = [ms(queries.search, db, rng.choice(WORDS)) for _ in range(args.searches)]
        before = [ms(like_search, db, WORDS[i % len(WORDS)]) for i in range(args.before_searches)]
        miss_after = [ms(queries.search, db, MISS) for _ in range(20)]
        miss_before = [ms(like_search, db, MISS) for _ in range(3)]
        facets = [ms(lambda: queries.monitor(db, {}, limit=200)) for _ in range(10)]
        chosen = [ms(lambda f=f: queries.monitor(db, f, limit=200)) for f in FACET_CHOICES for _ in range(3)]
        active = queries.monitor(db, {}, limit=1)["total"]
        db.close()
    finally:
        if not args.keep:
            with psycopg.connect(plain(admin), autocommit=True) as pg:
                pg.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    results = {
        "items": args.items, "active_requests": active,
        "search_p50_ms": statistics.median(after), "search_p99_ms": pct(after, 99),
        "before_like_p50_ms": statistics.median(before), "before_like_p99_ms": pct(before, 99),
        "miss_p50_ms": statistics.median(miss_after), "miss_before_like_p50_ms": statistics.median(miss_before),
        "monitor_facets_p50_ms": statistics.median(facets), "monitor_facets_max_ms": max(facets),
        "monitor_facet_chosen_p50_ms": statistics.median(chosen), "monitor_facet_chosen_max_ms": max(chosen),
    }
    rows = [
        ("title word search p50 (PostgreSQL)", f"{results['search_p50_ms']:.1f} ms (p99 {results['search_p99_ms']:.1f})",
         "< 20 ms"),
        ("  before: lower() LIKE '%w%' p50", f"{results['before_like_p50_ms']:.1f} ms", ""),
        ("a miss, tsvector / before LIKE", f"{results['miss_p50_ms']:.1f} / {results['miss_before_like_p50_ms']:.0f} ms", ""),
        ("monitor facets (PostgreSQL)", f"{active:,} requests: {results['monitor_facets_p50_ms']:.0f} ms", "< 300 ms"),
        ("  with one facet chosen", f"p50 {results['monitor_facet_chosen_p50_ms']:.0f} ms, max "
         f"{results['monitor_facet_chosen_max_ms']:.0f} ms", "< 300 ms"),
    ]
    text = "\n".join(f"{a:<38} {b:<36} {c}" for a, b, c in rows)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**results, "table": text.splitlines()}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
