"""The table base of referral-api: its own registry and metadata, apart from other services'."""

from __future__ import annotations

from sqlmodel import SQLModel

from baton.db import new_registry


class ReferralTable(SQLModel, registry=new_registry()):
    """Base of every referral-api table; `ReferralTable.metadata` is what its migrations track."""


def load_models() -> None:
    """Import every table module so the metadata is complete (migrations, checks)."""
    from referral_api import outbox as _outbox  # noqa: F401
    from referral_api.directory import models as _directory  # noqa: F401
    from referral_api.referrals import models as _referrals  # noqa: F401
    from referral_api.webhooks import models as _webhooks  # noqa: F401


metadata = ReferralTable.metadata
