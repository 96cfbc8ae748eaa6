"""The token endpoint and the discovery documents."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from baton.authz import public
from baton.db import SessionDep
from identity_api.config import IdentitySettings
from identity_api.tokens import service
from identity_api.tokens.keys import KeyStore

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(tags=["tokens"])

_OAUTH_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
_TOKEN_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "scope": {"type": "string", "description": "Space-separated scopes"},
                        "audience": {
                            "type": "string",
                            "description": "Space-separated audiences; all the client's by default",
                        },
                        "client_id": {"type": "string", "description": "Unless sent by HTTP Basic"},
                        "client_secret": {"type": "string"},
                    },
                }
            }
        },
    },
    "responses": {
        "400": {
            "description": "RFC 6749 §5.2 error (`invalid_request`, `invalid_scope`, …)",
            "content": {"application/json": {"schema": _OAUTH_ERROR}},
        },
        "401": {
            "description": "`invalid_client`",
            "content": {"application/json": {"schema": _OAUTH_ERROR}},
        },
    },
}


class TokenResponse(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


@router.post(
    "/v1/oauth/token",
    response_model=TokenResponse,
    dependencies=[public],
    openapi_extra=_TOKEN_FORM,
)
async def issue_token(request: Request, session: SessionDep) -> JSONResponse:
    """OAuth2 client-credentials grant: a short-lived signed access token (JWT)."""
    settings: IdentitySettings = request.app.state.settings
    keys: KeyStore = request.app.state.signing_keys
    try:
        form = service.parse_form(request.headers.get("content-type"), await request.body())
        token_request = service.read_request(request.headers.get("authorization"), form)
        body = await service.issue(session, token_request, keys, settings)
    except service.OAuthError as error:
        headers = dict(NO_STORE)
        if error.status == 401 and error.basic:
            headers["WWW-Authenticate"] = 'Basic realm="baton"'
        return JSONResponse(
            {"error": error.error, "error_description": error.description},
            status_code=error.status,
            headers=headers,
        )
    return JSONResponse(body, headers=NO_STORE)


@router.get("/.well-known/openid-configuration", dependencies=[public])
async def describe_issuer(request: Request) -> dict[str, Any]:
    """Authorization server metadata (RFC 8414) for client-credentials clients."""
    issuer: str = request.app.state.settings.issuer
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/v1/oauth/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
        "scopes_supported": ["cases:intake", "cases:stats"],
        "id_token_signing_alg_values_supported": [request.app.state.settings.signing_algorithm],
    }


@router.get("/.well-known/jwks.json", dependencies=[public])
async def publish_keys(request: Request) -> JSONResponse:
    """The public keys that verify Baton's tokens: pending, current and recently replaced."""
    settings: IdentitySettings = request.app.state.settings
    keys: KeyStore = request.app.state.signing_keys
    published = keys.published(settings.access_token_ttl_seconds, settings.token_leeway_seconds)
    return JSONResponse(
        {"keys": [key.public_jwk() for key in published]},
        headers={"Cache-Control": "public, max-age=60"},
    )
