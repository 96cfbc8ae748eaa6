"""The OAuth2 client-credentials grant (RFC 6749 §4.4) and its errors (§5.2)."""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from sqlalchemy.ext.asyncio import AsyncSession

from baton import jose
from identity_api.clients import service as client_service
from identity_api.config import IdentitySettings
from identity_api.tokens.keys import KeyStore


class OAuthError(Exception):
    """An RFC 6749 §5.2 error; `description` is shown to the client."""

    def __init__(self, error: str, description: str, *, status: int = 400, basic: bool = False):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.basic = basic


@dataclass(frozen=True)
class TokenRequest:
    client_id: str
    client_secret: str
    used_basic: bool
    grant_type: str
    scopes: list[str] | None
    audiences: list[str] | None


def parse_form(content_type: str | None, body: bytes) -> dict[str, str]:
    if (content_type or "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "The body must be application/x-www-form-urlencoded.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OAuthError("invalid_request", "The body is not valid form data.") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", f"Parameter `{name}` is repeated.")
        form[name] = value
    return form


def _basic_credentials(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError(
            "invalid_client", "Unsupported client authentication.", status=401, basic=True
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError(
            "invalid_client", "Malformed Basic credentials.", status=401, basic=True
        ) from exc
    client_id, separator, secret = decoded.partition(":")
    if not separator:
        raise OAuthError("invalid_client", "Malformed Basic credentials.", status=401, basic=True)
    # RFC 6749 §2.3.1: both parts are form-urlencoded before encoding.
    return unquote_plus(client_id), unquote_plus(secret)


def read_request(authorization: str | None, form: Mapping[str, str]) -> TokenRequest:
    in_body = "client_id" in form or "client_secret" in form
    if authorization is not None and in_body:
        raise OAuthError("invalid_request", "Use one client authentication method, not two.")
    if authorization is not None:
        client_id, secret = _basic_credentials(authorization)
    elif in_body:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    else:
        raise OAuthError(
            "invalid_client", "Client authentication is required.", status=401, basic=True
        )
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "`grant_type` is required.")
    scope = form.get("scope")
    audience = form.get("audience")
    return TokenRequest(
        client_id=client_id,
        client_secret=secret,
        used_basic=authorization is not None,
        grant_type=grant_type,
        scopes=scope.split() if scope is not None else None,
        audiences=audience.split() if audience is not None else None,
    )


async def issue(
    session: AsyncSession, request: TokenRequest, keys: KeyStore, settings: IdentitySettings
) -> dict[str, Any]:
    """A signed access token response, or an `OAuthError`."""
    authenticated = await client_service.authenticate(
        session, request.client_id, request.client_secret
    )
    if authenticated is None:
        raise OAuthError(
            "invalid_client", "Client authentication failed.", status=401, basic=request.used_basic
        )
    client, organisation = authenticated
    if request.grant_type != "client_credentials":
        raise OAuthError("unsupported_grant_type", "Only `client_credentials` is supported.")
    scopes = request.scopes if request.scopes is not None else client.scopes
    if not set(scopes) <= set(client.scopes):
        raise OAuthError("invalid_scope", "The requested scope exceeds what this client may hold.")
    audiences = request.audiences if request.audiences is not None else client.audiences
    if not audiences or not set(audiences) <= set(client.audiences):
        raise OAuthError("invalid_target", "The requested audience is not allowed for this client.")
    now = int(time.time())
    key = keys.signing_key()
    claims = {
        "iss": settings.issuer,
        "sub": client.client_id,
        "aud": sorted(audiences) if len(audiences) > 1 else audiences[0],
        "iat": now,
        "nbf": now,
        "exp": now + settings.access_token_ttl_seconds,
        "jti": uuid.uuid4().hex,
        "client_id": client.client_id,
        "org_id": str(organisation.id),
        "org_kind": organisation.kind.value,
        "roles": sorted(client.roles),
        "scope": " ".join(sorted(scopes)),
    }
    token = jose.sign(claims, key.private_key_pem, kid=key.kid, algorithm=key.algorithm)
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl_seconds,
        "scope": claims["scope"],
    }
