"""What the statistics cache checks before it reuses counts: versions of the data counted.

Every statement that writes a table the statistics read bumps its organisation's
version (a trigger, cases_0011). The version is split in shards picked by the
writing backend, so concurrent writers of one organisation rarely wait on one
another's row; the sum of the shards only ever grows. Only SECURITY DEFINER
functions touch this table: the runtime role holds no privilege on it.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Field

from cases_api.db import CasesTable


class StatisticsVersion(CasesTable, table=True):
    __tablename__ = "statistics_version"

    organisation_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    shard: int = Field(sa_column=sa.Column(sa.SmallInteger, primary_key=True))
    version: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
