"""Baton cases-api: beneficiaries (pseudonymous), their encrypted identities, cases,
re/integration plans and services, consents, the identity-access audit log and de-
identified statistics.
"""
