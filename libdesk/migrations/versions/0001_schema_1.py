"""Schema 1: the first release (items, requests, events, patrons, notices, meta).

The base of the chain. Nothing to do: a database at schema 1 already has these tables, and a
new database is made from the models and stamped at the head.
"""

from __future__ import annotations

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
