"""What the referral routes need: the caller with the step's permission, the vault, settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from baton.auth import Principal
from baton.authz import Authorize, Permission
from baton.vault import EnvelopeVault
from referral_api.config import ReferralSettings

Submitter = Annotated[Principal, Authorize(Permission.referral_submit)]
Reader = Annotated[Principal, Authorize(Permission.referral_read)]
# Acknowledge, request information, start, hold, complete, fail: caseworkers.
Worker = Annotated[Principal, Authorize(Permission.referral_work)]
# Accept, reject, forward: case managers.
Decider = Annotated[Principal, Authorize(Permission.referral_decide)]


async def _vault(request: Request) -> EnvelopeVault:
    vault: EnvelopeVault = request.app.state.vault
    return vault


async def _settings(request: Request) -> ReferralSettings:
    settings: ReferralSettings = request.app.state.settings
    return settings


Vault = Annotated[EnvelopeVault, Depends(_vault)]
Settings = Annotated[ReferralSettings, Depends(_settings)]
