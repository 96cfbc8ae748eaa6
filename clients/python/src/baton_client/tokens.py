"""Access tokens: the OAuth2 client-credentials grant (RFC 6749 §4.4), cached until near expiry."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote_plus

import httpx

from baton_client.calls import Call, url_of

TOKEN_PATH = "/identity/v1/oauth/token"
# A token is renewed this long before it expires (at most half its lifetime), so a
# call never leaves with a token that expires on the way.
REFRESH_MARGIN = 30.0


@dataclass(frozen=True)
class ClientCredentials:
    """An API client of identity-api: its id and secret, and what to ask a token for."""

    client_id: str
    client_secret: str = field(repr=False)
    # Scopes to ask for (e.g. "cases:intake"); none asks for all the client's.
    scopes: str | Sequence[str] = ()
    # Services the token is for (e.g. "cases-api"); none asks for all the client's.
    audience: str | Sequence[str] = ()
    token_path: str = TOKEN_PATH

    def token_call(self, base_url: str) -> Call:
        form = {"grant_type": "client_credentials"}
        if self.scopes:
            form["scope"] = _words(self.scopes)
        if self.audience:
            form["audience"] = _words(self.audience)
        # RFC 6749 §2.3.1: both parts are form-urlencoded before HTTP Basic.
        auth = httpx.BasicAuth(quote_plus(self.client_id), quote_plus(self.client_secret))
        # Asking again for a token changes nothing: always repeatable.
        return Call(
            "POST", url_of(base_url, self.token_path), data=form, auth=auth, repeatable=True
        )


def _words(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else " ".join(value)


@dataclass(frozen=True)
class _Held:
    value: str = field(repr=False)
    renew_at: float  # time.monotonic()


class TokenCache:
    """The current token of one client and when to renew it."""

    def __init__(self) -> None:
        self._held: _Held | None = None

    def fresh(self) -> str | None:
        held = self._held
        if held is not None and time.monotonic() < held.renew_at:
            return held.value
        return None

    def keep(self, response: httpx.Response, asked_at: float) -> str:
        """Hold the token of a successful token response (asked for at `asked_at`)."""
        body = response.json()
        value, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(value, str) or not isinstance(lifetime, int | float):
            raise ValueError("the token endpoint answered without access_token and expires_in")
        margin = min(REFRESH_MARGIN, lifetime / 2)
        self._held = _Held(value, asked_at + lifetime - margin)
        return value

    def drop(self, value: str) -> None:
        """Forget `value` (refused with 401), unless a newer token replaced it already."""
        if self._held is not None and self._held.value == value:
            self._held = None
