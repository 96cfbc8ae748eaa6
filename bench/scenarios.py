"""What the benchmark asks of the system: one wrk request shape per scenario."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from baton.stack.personas import PersonaTokens
from bench.ceiling import PING_PATH
from bench.dataset import Sample
from bench.wrk import Request

# Closed sexual-exploitation cases: the commonest filter of a caseworker's list.
CASE_FILTERS = {"status": "closed", "exploitation_form": "sexual"}
PAGE = 50


@dataclass(frozen=True)
class Context:
    gateway_url: str
    tokens: PersonaTokens
    sample: Sample
    programme_id: str
    deep_cursor: str

    def bearer(self, persona: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens(persona)}"}


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    build: Callable[[Context], Request]
    # Its cost may grow with the data: measured at both scales.
    grows_with_data: bool = False


def _ceiling(_: Context) -> Request:
    return Request(paths=[PING_PATH])


def _case_read(context: Context) -> Request:
    paths = [f"/cases/v1/cases/{case_id}" for case_id in context.sample.case_ids]
    return Request(paths=paths, headers=context.bearer("caseworker"))


def _beneficiary_read(context: Context) -> Request:
    ids = context.sample.identified_beneficiary_ids
    return Request(
        paths=[f"/cases/v1/beneficiaries/{person}" for person in ids],
        headers=context.bearer("caseworker"),
    )


def _identity_read(context: Context) -> Request:
    query = "include=identity&purpose=case_management"
    ids = context.sample.identified_beneficiary_ids
    return Request(
        paths=[f"/cases/v1/beneficiaries/{person}?{query}" for person in ids],
        headers=context.bearer("caseworker"),
    )


def _case_list_first(context: Context) -> Request:
    query = urlencode({**CASE_FILTERS, "limit": PAGE})
    return Request(paths=[f"/cases/v1/cases?{query}"], headers=context.bearer("caseworker"))


def _case_list_deep(context: Context) -> Request:
    query = urlencode({**CASE_FILTERS, "limit": PAGE, "cursor": context.deep_cursor})
    return Request(paths=[f"/cases/v1/cases?{query}"], headers=context.bearer("caseworker"))


def referral_body(recipient: str, reference: str | None = None) -> dict[str, Any]:
    """A police referral with consent and a sealed packet, as a partner system sends it.

    Each names a different person (the reference in the family name): with one name
    for all, every intake would list all the earlier ones as possible duplicates."""
    reference = reference or uuid.uuid4().hex[:12]
    return {
        "recipient_organisation_id": recipient,
        "referrer_reference": f"BENCH-{reference}",
        "priority": "urgent",
        "urgency_reason": "exploiter_nearby",
        "requested_services": ["accommodation", "psychological"],
        "jurisdiction": "AL",
        "identification_stage": "presumed",
        "language": "sq",
        "interpreter_needed": False,
        "consent": {
            "basis": "consent",
            "scope": ["identity", "needs"],
            "recorded_at": "2026-11-24T08:00:00Z",
            "recorded_by": "officer-12",
        },
        "sex": "female",
        "countries_of_origin": ["AL"],
        "exploitation_forms": ["sexual"],
        "referral_source": "police",
        "packet": {
            "identity": {
                "given_names": "Bench",
                "family_names": f"Person {reference}",
                "date_of_birth": "2001-05-09",
                "nationality": "AL",
            },
            "needs_summary": "A safe place tonight",
        },
    }


def _referral_submit(context: Context) -> Request:
    recipient = context.tokens.persona("case-manager").organisation_id
    return Request(
        paths=["/referrals/v1/referrals"],
        method="POST",
        # A reference of its own per request (wrk's script fills it in).
        body=json.dumps(referral_body(recipient, "%UNIQUE%")).encode(),
        headers=context.bearer("referrer"),
        idempotent=True,
    )


# What marks a donor report whose statistics did not come (grants-api's compact JSON).
REPORT_WITHOUT_STATISTICS = '"status":"unavailable"'


def _donor_report(context: Context) -> Request:
    return Request(
        paths=[f"/grants/v1/programmes/{context.programme_id}/report"],
        headers=context.bearer("donor-viewer"),
        # A report whose statistics did not come is an answer, but not a good one.
        degraded_marker=REPORT_WITHOUT_STATISTICS,
    )


def _token(context: Context) -> Request:
    persona = context.tokens.persona("caseworker")
    basic = httpx.BasicAuth(persona.client_id, persona.client_secret)
    authorization = next(basic.auth_flow(httpx.Request("POST", "http://x"))).headers
    return Request(
        paths=["/identity/v1/oauth/token"],
        method="POST",
        body=b"grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded",
        headers={"Authorization": authorization["Authorization"]},
    )


CEILING = Scenario("ceiling", "bare FastAPI GET /ping (the ceiling)", _ceiling)
SCENARIOS = (
    Scenario("case_read", "case read by id", _case_read, grows_with_data=True),
    Scenario("beneficiary_read", "beneficiary read by id, no identity", _beneficiary_read),
    Scenario("identity_read", "beneficiary read with identity (decrypt + audit)", _identity_read),
    Scenario("case_list_first", "case list, filtered, first page", _case_list_first, True),
    Scenario("case_list_deep", "case list, filtered, deep cursor page", _case_list_deep, True),
    Scenario("referral_submit", "referral submit with Idempotency-Key", _referral_submit),
    Scenario("donor_report", "donor programme report (suppressed)", _donor_report, True),
    Scenario("token", "token issuance (client credentials)", _token),
)


def programme_id(gateway_url: str, tokens: PersonaTokens) -> str:
    answer = httpx.get(
        f"{gateway_url}/grants/v1/programmes",
        headers={"Authorization": f"Bearer {tokens('donor-viewer')}"},
        timeout=30,
    )
    answer.raise_for_status()
    return str(answer.json()["items"][0]["id"])


def first_report_seconds(
    gateway_url: str, tokens: PersonaTokens, programme: str, longest: float = 900.0
) -> float:
    """Seconds until the programme report first carries its statistics, asked again each
    time it comes without them: cases-api counts on after a client gave up, so this is
    the cost of counting the data set once (reports after it reuse the counts)."""
    started = time.perf_counter()
    while time.perf_counter() - started < longest:
        try:
            answer = httpx.get(
                f"{gateway_url}/grants/v1/programmes/{programme}/report",
                headers=_fresh(tokens, "donor-viewer"),
                timeout=60,
            )
        except httpx.TimeoutException:
            continue
        if answer.status_code == 200 and REPORT_WITHOUT_STATISTICS not in answer.text:
            return time.perf_counter() - started
        time.sleep(1.0)
    raise RuntimeError(f"no programme report with statistics within {longest:.0f} s")


def deep_cursor(gateway_url: str, tokens: PersonaTokens, depth: float = 0.9) -> str:
    """The cursor `depth` of the way down the filtered list (walked as a client would)."""
    cursors: list[str] = []
    cursor: str | None = None
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
        while True:
            params: dict[str, Any] = {**CASE_FILTERS, "limit": 100}
            if cursor is not None:
                params["cursor"] = cursor
            answer = client.get(
                "/cases/v1/cases", params=params, headers=_fresh(tokens, "caseworker")
            )
            answer.raise_for_status()
            cursor = answer.json()["next_cursor"]
            if cursor is None:
                break
            cursors.append(cursor)
    if not cursors:
        raise RuntimeError("the filtered case list has a single page: no deep page to read")
    return cursors[min(len(cursors) - 1, int(len(cursors) * depth))]


def _fresh(tokens: PersonaTokens, persona: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens(persona)}"}
