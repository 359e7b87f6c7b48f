"""Schema 4: on PostgreSQL, the word index of search (``item.search_words``, a generated
tsvector with a GIN index, and the ``libdesk_words`` text search configuration); on SQLite
nothing new (FTS5 was there already).

Runs the same idempotent DDL a new database gets (:func:`libdesk.db.create_extras`).
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from libdesk.db import create_extras

    create_extras(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_item_words")
        op.execute("ALTER TABLE item DROP COLUMN IF EXISTS search_words")
