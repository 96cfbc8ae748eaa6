"""What the outbox worker of referral-api can reach, and the handlers of every topic."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from baton.http import ServiceClient
from baton.metrics import ServiceMetrics
from baton.outbox import Handler
from baton.vault import EnvelopeVault
from referral_api.config import ReferralSettings


@dataclass(frozen=True)
class WorkerContext:
    settings: ReferralSettings
    sessionmaker: async_sessionmaker[AsyncSession]
    vault: EnvelopeVault
    # cases-api, called with the intake client's token; None when not configured.
    cases: ServiceClient | None
    # The app's registry: handlers count what they see (webhook failures).
    metrics: ServiceMetrics


def build_handlers(context: WorkerContext) -> Mapping[str, Handler]:
    from referral_api.referrals import handoff
    from referral_api.webhooks import delivery

    return {**handoff.handlers(context), **delivery.handlers(context)}
