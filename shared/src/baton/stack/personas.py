"""Demo personas' credentials (written by identity-api's `seed-demo`) and their tokens."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


class UnknownPersona(LookupError):
    pass


@dataclass(frozen=True)
class PersonaCredentials:
    name: str
    client_id: str
    client_secret: str
    organisation_id: str
    org_kind: str


def load_personas(credentials_file: Path) -> dict[str, PersonaCredentials]:
    raw = json.loads(credentials_file.read_text())
    return {
        name: PersonaCredentials(
            name=name,
            client_id=entry["client_id"],
            client_secret=entry["client_secret"],
            organisation_id=entry["organisation_id"],
            org_kind=entry["org_kind"],
        )
        for name, entry in raw.items()
    }


def request_token(
    gateway_url: str, persona: PersonaCredentials, audience: str | None = None
) -> httpx.Response:
    """The client-credentials grant for `persona`, through the gateway."""
    form = {"grant_type": "client_credentials"}
    if audience is not None:
        form["audience"] = audience
    return httpx.post(
        f"{gateway_url}/identity/v1/oauth/token",
        data=form,
        auth=(persona.client_id, persona.client_secret),
        timeout=10.0,
    )


@dataclass
class PersonaTokens:
    """Access tokens per persona and audience, fetched once and renewed before expiry."""

    gateway_url: str
    personas: dict[str, PersonaCredentials]
    _cache: dict[tuple[str, str | None], tuple[str, float]] = field(default_factory=dict)

    def persona(self, name: str) -> PersonaCredentials:
        try:
            return self.personas[name]
        except KeyError:
            raise UnknownPersona(
                f"unknown persona {name!r}; one of: {', '.join(self.personas)}"
            ) from None

    def forget(self) -> None:
        """Drop every cached token (after a signing key was withdrawn, say)."""
        self._cache.clear()

    def __call__(self, name: str, audience: str | None = None) -> str:
        key = (name, audience)
        cached = self._cache.get(key)
        if cached is not None and cached[1] > time.monotonic() + 30:
            return cached[0]
        response = request_token(self.gateway_url, self.persona(name), audience)
        response.raise_for_status()
        body = response.json()
        self._cache[key] = (body["access_token"], time.monotonic() + body["expires_in"])
        return str(body["access_token"])
