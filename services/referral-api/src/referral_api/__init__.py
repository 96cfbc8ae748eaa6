"""Baton referral-api: the service-provider directory, referrals through the national
referral mechanism and their lifecycle, webhook subscriptions and deliveries.
"""
