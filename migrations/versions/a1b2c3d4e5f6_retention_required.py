"""Retention required, the rule after a campaign's end, the register of privacy requests

Every campaign gets a retention date (those without one: the report deadline + 30 days,
retention.RETENTION_DAYS on 2 December 2026) and the column becomes NOT NULL; its consent
wording gains the sentence naming that date, as a new version (entries keep the version they
were recorded under). campaigns.after_end: count_only for existing campaigns (a new entry
after the end is counted without personal fields). privacy_requests: issue 17 item 9.

Revision ID: a1b2c3d4e5f6
Revises: a1e5d7c3b9f2
Create Date: 2026-12-02 05:00:00.000000

"""

import re
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a1b2c3d4e5f6"
down_revision = "a1e5d7c3b9f2"
branch_labels = None
depends_on = None

# Frozen here as they were when this revision was written (fieldapp/retention.py).
RETENTION_DAYS = 30
SENTENCE = "Thông tin của tôi được lưu đến hết ngày {date}, sau đó sẽ bị xóa."
SENTENCE_AT = re.compile(
    r"\s*Thông tin của tôi được lưu đến hết ngày \d{2}/\d{2}/\d{4}, sau đó sẽ bị xóa\."
)

campaigns = sa.table(
    "campaigns",
    sa.column("id", sa.Integer),
    sa.column("report_due", sa.Date),
    sa.column("retention_until", sa.Date),
    sa.column("consent_version", sa.Integer),
)
consent_texts = sa.table(
    "consent_texts",
    sa.column("campaign_id", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("text", sa.Text),
    sa.column("created_at", sa.DateTime),
)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def upgrade():
    conn = op.get_bind()
    now = datetime.utcnow()  # noqa: DTZ003 - the database stores naive UTC
    for cid, due, until, version in conn.execute(
        sa.select(
            campaigns.c.id,
            campaigns.c.report_due,
            campaigns.c.retention_until,
            campaigns.c.consent_version,
        )
    ).all():
        if until is None:
            until = _as_date(due) + timedelta(days=RETENTION_DAYS)
            conn.execute(
                campaigns.update().where(campaigns.c.id == cid).values(retention_until=until)
            )
        until = _as_date(until)
        text = conn.scalar(
            sa.select(consent_texts.c.text).where(
                consent_texts.c.campaign_id == cid, consent_texts.c.version == version
            )
        )
        if text is None:
            continue
        wording = (
            SENTENCE_AT.sub("", text).strip()
            + " "
            + SENTENCE.format(date=until.strftime("%d/%m/%Y"))
        )
        if wording == text:
            continue
        newest = conn.scalar(
            sa.select(sa.func.max(consent_texts.c.version)).where(
                consent_texts.c.campaign_id == cid
            )
        )
        conn.execute(
            consent_texts.insert().values(
                campaign_id=cid, version=newest + 1, text=wording, created_at=now
            )
        )
        conn.execute(
            campaigns.update().where(campaigns.c.id == cid).values(consent_version=newest + 1)
        )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.alter_column("retention_until", existing_type=sa.Date(), nullable=False)
        batch_op.add_column(
            sa.Column(
                "after_end", sa.String(length=12), server_default="count_only", nullable=False
            )
        )
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("requester", sa.String(length=120), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("done_how", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["done_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["ward_id"], ["wards.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_privacy_requests_open",
        "privacy_requests",
        ["ward_id", "done_at", "due_on"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_privacy_requests_open", table_name="privacy_requests")
    op.drop_table("privacy_requests")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("after_end")
        batch_op.alter_column("retention_until", existing_type=sa.Date(), nullable=True)
