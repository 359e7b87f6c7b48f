"""Schema 5: operators' sign-in (issue 14): ``operatoraccount`` holds each operator's secret
hash, disabled flag and failed attempts (places and roles stay in the institution file)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "operatoraccount" in sa.inspect(op.get_bind()).get_table_names():
        return  # made by an earlier build of the sign-in commands, which created it on first use
    op.create_table(
        "operatoraccount",
        sa.Column("operator", sa.String(), primary_key=True),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("operatoraccount")
