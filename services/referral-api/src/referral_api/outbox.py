"""referral-api's transactional outbox (see `baton.outbox`): hand-offs and webhooks."""

from __future__ import annotations

from baton.outbox import outbox_table
from referral_api.db import ReferralTable

OutboxMessage = outbox_table(ReferralTable.metadata)
