"""Every router of referral-api, in the order the OpenAPI document lists them."""

from __future__ import annotations

from fastapi import APIRouter

from referral_api.directory.router import router as directory_router
from referral_api.referrals.router import router as referrals_router
from referral_api.webhooks.router import router as webhooks_router

ROUTERS: tuple[APIRouter, ...] = (directory_router, referrals_router, webhooks_router)
