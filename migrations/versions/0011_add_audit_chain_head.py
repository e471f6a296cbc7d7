"""Number audit events and add the chain head that serialises appends.

Existing events are numbered in id order, which is the order they were
chained in. The head row starts at the newest event.

Revision ID: 9a1c5e0d4b27
Revises: 3f2c9a41d7be
Create Date: 2026-12-04 22:55:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a1c5e0d4b27'
down_revision = '3f2c9a41d7be'
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sequence', sa.BigInteger(), nullable=True))
    op.execute(
        "UPDATE audit_events SET sequence = "
        "(SELECT COUNT(*) FROM audit_events AS earlier WHERE earlier.id <= audit_events.id)"
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('sequence', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint('uq_audit_events_sequence', ['sequence'])

    head = op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('event_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    connection = op.get_bind()
    last = connection.execute(
        sa.text("SELECT sequence, event_hash FROM audit_events ORDER BY sequence DESC LIMIT 1")
    ).first()
    op.bulk_insert(head, [{"id": 1, "sequence": last[0] if last else 0,
                           "event_hash": last[1] if last else GENESIS_HASH}])


def downgrade():
    op.drop_table('audit_chain_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint('uq_audit_events_sequence', type_='unique')
        batch_op.drop_column('sequence')
