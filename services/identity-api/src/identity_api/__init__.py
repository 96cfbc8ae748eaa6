"""Baton identity-api: organisations (tenants), API clients, signing keys, the OAuth2 token
endpoint, JWKS and OIDC discovery. Holds nothing about victims.
"""
