"""One bot database: the update journal, feedback (was feedback.sqlite3), remembered answers and per-user data as
JSON (were pickled in bot_state.pickle).

schema_version becomes 2, so a release from before Alembic refuses this database instead of misreading it.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The journal came after the last release, created without migrations: a database may already have it.
    if "update_journal" not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            "update_journal",
            sa.Column("bot_id", sa.BigInteger(), primary_key=True, autoincrement=False),
            sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
            sa.Column("payload", sa.Text(), nullable=False),
            sa.Column("received_at", sa.DateTime(), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("done_at", sa.DateTime(), nullable=True),
        )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("vote", sa.Integer(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.Column("article_ids", sa.Text(), nullable=False),
    )
    op.create_table(
        "remembered_answers",
        sa.Column("chat_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("message_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_remembered_answers_at", "remembered_answers", ["at"])
    op.create_table(
        "user_data",
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.execute("UPDATE schema_version SET version = 2")


def downgrade() -> None:
    op.execute("UPDATE schema_version SET version = 1")
    for table in ("user_data", "remembered_answers", "feedback", "update_journal"):
        op.drop_table(table)
