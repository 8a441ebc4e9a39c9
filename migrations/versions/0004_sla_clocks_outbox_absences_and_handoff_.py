"""sla clocks outbox absences and handoff answers

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 14:04:50.612604+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import bot.db  # noqa: F401  (UTCDateTime columns refer to it)

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("brief", sa.Text(), nullable=True))

    op.create_table(
        "absences",
        sa.Column(
            "user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False
        ),
        sa.Column("until", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("set_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "idempotency_key",
            sqlmodel.sql.sqltypes.AutoString(length=200),
            nullable=False,
        ),
        sa.Column(
            "target", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
        sa.Column(
            "status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_pending",
            ["next_attempt_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("owner_user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("started_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_check_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.JSON(), nullable=False),
        sa.Column("breached_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_at", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False
        ),
        sa.ForeignKeyConstraint(["lead_id"], ["leads.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.create_index(
            "uq_sla_clocks_open",
            ["lead_id", "kind", sa.text("coalesce(subject_id, 0)")],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.create_index(
            "ix_sla_clocks_next_check",
            ["next_check_at"],
            unique=False,
            sqlite_where=sa.text("next_check_at IS NOT NULL"),
            postgresql_where=sa.text("next_check_at IS NOT NULL"),
        )

    op.create_table(
        "clock_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clock_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["clock_id"], ["sla_clocks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("clock_events", schema=None) as batch_op:
        batch_op.create_index("ix_clock_events_clock", ["clock_id", "at"], unique=False)

    op.create_table(
        "handoff_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=False),
        sa.Column(
            "action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False
        ),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ae_user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("to_user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("reason_code", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("meeting_on", bot.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("at", bot.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handoff_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handoff_answers_handoff_id"), ["handoff_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("handoff_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handoff_answers_handoff_id"))

    op.drop_table("handoff_answers")
    with op.batch_alter_table("clock_events", schema=None) as batch_op:
        batch_op.drop_index("ix_clock_events_clock")

    op.drop_table("clock_events")
    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_sla_clocks_next_check",
            sqlite_where=sa.text("next_check_at IS NOT NULL"),
            postgresql_where=sa.text("next_check_at IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_sla_clocks_open",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.drop_table("sla_clocks")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_pending",
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )

    op.drop_table("outbox")
    op.drop_table("absences")
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_column("brief")
