"""Schema 3: resource-sharing borrowing requests and their messages; items and events name the
borrowing request they belong to; the indexes, word index and facet summary the lists read.

Some schema-2 databases already have the borrowing tables and columns (they came a few days
before the version number did), so every step checks first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    if "borrowingrequest" not in tables:
        op.create_table(
            "borrowingrequest",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("patron", sa.String(), nullable=False),
            sa.Column("title", sa.String(), nullable=False),
            sa.Column("author", sa.String(), nullable=False),
            sa.Column("identifier", sa.String(), nullable=False),
            sa.Column("pickup", sa.String(), nullable=False),
            sa.Column("partners_given", sa.String(), nullable=True),
            sa.Column("rota", sa.String(), nullable=False),
            sa.Column("current_partner", sa.Integer(), nullable=True),
            sa.Column("status", sa.String(), nullable=False),
            sa.Column("status_at", sa.DateTime(), nullable=False),
            sa.Column("cancel_by", sa.String(), nullable=True),
            sa.Column("item_id", sa.Integer(), nullable=True),
            sa.Column("item_barcode", sa.String(), nullable=True),
            sa.Column("item_removed_at", sa.DateTime(), nullable=True),
            sa.Column("creator", sa.String(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("sent_at", sa.DateTime(), nullable=True),
            sa.Column("shipped_at", sa.DateTime(), nullable=True),
            sa.Column("received_at", sa.DateTime(), nullable=True),
            sa.Column("closed_at", sa.DateTime(), nullable=True),
            sa.Column("version", sa.Integer(), nullable=False),
        )
        op.create_index("ix_borrowingrequest_patron", "borrowingrequest", ["patron"])
        op.create_index("ix_borrowingrequest_status", "borrowingrequest", ["status"])
    if "borrowingmessage" not in tables:
        op.create_table(
            "borrowingmessage",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("borrowing_id", sa.Integer(), sa.ForeignKey("borrowingrequest.id"), nullable=False),
            sa.Column("kind", sa.String(), nullable=False),
            sa.Column("partner", sa.String(), nullable=True),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column("recorded_by", sa.String(), nullable=False),
            sa.Column("active", sa.Boolean(), nullable=False),
            sa.Column("dismissed_at", sa.DateTime(), nullable=True),
            sa.Column("dismissed_by", sa.String(), nullable=True),
        )
        op.create_index("ix_borrowingmessage_borrowing_id", "borrowingmessage", ["borrowing_id"])
        op.create_index("ix_borrowingmessage_active", "borrowingmessage", ["active"])
    for table in ("item", "event"):
        if "borrowing_id" not in {c["name"] for c in inspector.get_columns(table)}:
            with op.batch_alter_table(table) as batch:
                batch.add_column(sa.Column("borrowing_id", sa.Integer(), nullable=True))
            if table == "event":
                op.create_index("ix_event_borrowing_id", "event", ["borrowing_id"])

    from libdesk.db import create_extras

    create_extras(conn)


def downgrade() -> None:
    op.drop_table("borrowingmessage")
    op.drop_table("borrowingrequest")
