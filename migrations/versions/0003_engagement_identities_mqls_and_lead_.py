"""engagement identities, MQLs and lead moments

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 12:57:31.299017+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db  # noqa: F401  (UTCDateTime columns refer to it)

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "lead_identities",
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "value", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False
        ),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("kind", "value"),
    )
    with op.batch_alter_table("lead_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lead_identities_lead_id"), ["lead_id"], unique=False
        )

    op.create_table(
        "lead_moments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("notified_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lead_moments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_moments_lead_at", ["lead_id", "at"], unique=False
        )

    op.create_table(
        "mqls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("reached_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False
        ),
        sa.Column("engagement_level", sa.Integer(), nullable=False),
        sa.Column("fit_level", sa.Integer(), nullable=True),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column(
            "status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False
        ),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("claimed_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mqls", schema=None) as batch_op:
        batch_op.create_index(
            "uq_mqls_open_lead",
            ["lead_id"],
            unique=True,
            sqlite_where=sa.text("status <> 'closed'"),
            postgresql_where=sa.text("status <> 'closed'"),
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_lead_occurred"))
        batch_op.create_index(
            "ix_events_lead_name_occurred",
            ["lead_id", "name", "occurred_at"],
            unique=False,
        )

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sdr_user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )


def downgrade() -> None:

    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_column("sdr_user_id")

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_lead_name_occurred")
        batch_op.create_index(
            batch_op.f("ix_events_lead_occurred"),
            ["lead_id", "occurred_at"],
            unique=False,
        )

    with op.batch_alter_table("mqls", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_mqls_open_lead",
            sqlite_where=sa.text("status <> 'closed'"),
            postgresql_where=sa.text("status <> 'closed'"),
        )

    op.drop_table("mqls")
    with op.batch_alter_table("lead_moments", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_moments_lead_at")

    op.drop_table("lead_moments")
    with op.batch_alter_table("lead_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_identities_lead_id"))

    op.drop_table("lead_identities")
