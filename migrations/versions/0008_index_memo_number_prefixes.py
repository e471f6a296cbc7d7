"""Index memo number prefixes on PostgreSQL.

A LIKE 'prefix%' search can use a B-tree index on PostgreSQL only when the
index compares bytes, which under a non-C collation needs text_pattern_ops.
On other databases the index is a plain one.

Revision ID: 6561a96c1e53
Revises: 8721b87ec6ae
Create Date: 2026-12-04 21:33:43.525326

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6561a96c1e53'
down_revision = '8721b87ec6ae'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_documents_memo_number_prefix", "documents", ["memo_number"],
                    postgresql_ops={"memo_number": "text_pattern_ops"})


def downgrade():
    op.drop_index("ix_documents_memo_number_prefix", table_name="documents")
