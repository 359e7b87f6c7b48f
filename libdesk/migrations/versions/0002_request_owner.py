"""Schema 2: requests carry their item's owning library and material type (Monitor facets
count requests alone, never joining items)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("request")}
    with op.batch_alter_table("request") as batch:
        if "owner" not in columns:
            batch.add_column(sa.Column("owner", sa.String(), nullable=True))
        if "material_type" not in columns:
            batch.add_column(sa.Column("material_type", sa.String(), nullable=True))
    op.execute(
        "UPDATE request SET owner = (SELECT library FROM item WHERE item.id = request.item_id), "
        "material_type = (SELECT material_type FROM item WHERE item.id = request.item_id)")


def downgrade() -> None:
    with op.batch_alter_table("request") as batch:
        batch.drop_column("material_type")
        batch.drop_column("owner")
