"""No victim's identity ever reaches a donor: the proof, through the real stack.

An NGO records persons whose identity fields hold planted, unique strings (names,
phone, e-mail, document number, address, a family member, a case note). Then,
with donor tokens, every operation grants-api publishes in its OpenAPI document
is called (so a new endpoint is covered without anyone remembering to add it):
every GET with real ids, with ids that do not exist and with malformed ones, every
report and export as JSON and CSV, and every write with a body that is refused.
None of the planted strings may appear in any status line, header or body, and
no call may fail with a 5xx.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from baton.stack.personas import PersonaTokens
from baton.stack.programme import NGO_TIRANA
from baton.stack.runner import Stack

pytestmark = pytest.mark.e2e

DONOR_PERSONAS = ("grant-manager", "donor-viewer")
TAG = uuid.uuid4().hex[:8]
PLANTED = {
    "given": f"Zorvanka{TAG}",
    "family": f"Qelbrith{TAG}",
    "alias": f"Mirelka{TAG}",
    "phone": f"+3556{int(TAG, 16) % 10**8:08d}",
    "email": f"planted.{TAG}@example.org",
    "document": f"PL{int(TAG, 16) % 10**7:07d}",
    "address": f"Rruga {TAG} 14, Tirana",
    "relative": f"Dardhaje{TAG}",
    "note": f"Counselling note {TAG}",
}


@dataclass(frozen=True)
class Planted:
    beneficiary_ids: list[str]
    case_ids: list[str]

    @property
    def needles(self) -> list[str]:
        # Record ids are no identities, but donors have no business seeing them either.
        return [*PLANTED.values(), *self.beneficiary_ids, *self.case_ids]


def _as(tokens: PersonaTokens, persona: str) -> dict[str, str]:
    return {"authorization": f"Bearer {tokens(persona)}"}


@pytest.fixture(scope="module")
def planted(stack: Stack, tokens: PersonaTokens) -> Planted:
    """Persons of the demo NGO in Tirana (funded by the demo foundation), identities planted."""
    beneficiaries, cases = [], []
    with httpx.Client(
        base_url=stack.gateway_url, headers=_as(tokens, "caseworker"), timeout=15
    ) as ngo:
        for number, sex in zip(range(7), itertools.cycle(("female", "male")), strict=False):
            identity = {
                "given_names": f"{PLANTED['given']} {number}",
                "family_names": PLANTED["family"],
                "aliases": [PLANTED["alias"]],
                "date_of_birth": f"199{number}-03-14",
                "phone": PLANTED["phone"],
                "address": PLANTED["address"],
                "documents": [
                    {"type": "passport", "number": PLANTED["document"], "status": "confiscated"}
                ],
            }
            body = {
                "sex": sex,
                "is_child": number == 0,
                "nationality": "AL",
                "countries_of_origin": ["AL"],
                "identity": identity,
            }
            beneficiary = ngo.post("/cases/v1/beneficiaries", json=body)
            assert beneficiary.status_code == 201, beneficiary.text
            beneficiary_id = beneficiary.json()["id"]
            case = ngo.post(
                "/cases/v1/cases",
                json={
                    "beneficiary_id": beneficiary_id,
                    "assistance_started_on": "2012-03-01",
                    "exploitation_forms": ["sexual"],
                },
            )
            assert case.status_code == 201, case.text
            note = ngo.post(
                f"/cases/v1/cases/{case.json()['id']}/notes",
                json={
                    "category": "counselling",
                    "text": f"{PLANTED['note']}; she writes from {PLANTED['email']}",
                },
            )
            assert note.status_code == 201, note.text
            relative = ngo.post(
                f"/cases/v1/beneficiaries/{beneficiary_id}/family-members",
                json={
                    "relationship": "child",
                    "sex": "female",
                    "age_group": "child",
                    "services_received": ["education"],
                    "identity": {"given_names": PLANTED["relative"], "family_names": "X"},
                },
            )
            assert relative.status_code == 201, relative.text
            beneficiaries.append(beneficiary_id)
            cases.append(case.json()["id"])
    return Planted(beneficiaries, cases)


@dataclass(frozen=True)
class Known:
    """Real ids a donor may use: the demo programme, a grant to Tirana, its reports."""

    values: dict[str, str]


@pytest.fixture(scope="module")
def known(stack: Stack, tokens: PersonaTokens) -> Known:
    with httpx.Client(
        base_url=stack.gateway_url, headers=_as(tokens, "grant-manager"), timeout=15
    ) as donor:
        programmes = donor.get("/grants/v1/programmes", params={"limit": 100}).json()["items"]
        [demo] = [p for p in programmes if p["name"].startswith("Trafficking Victims")]
        # A demo grant (other tests make grants of their own, without money or reports).
        grants = donor.get(
            "/grants/v1/grants",
            params={"recipient_organisation_id": str(NGO_TIRANA.id), "programme_id": demo["id"]},
        )
        assert grants.status_code == 200, grants.text
        grant = grants.json()["items"][0]
        requirements = donor.get(f"/grants/v1/grants/{grant['id']}/reporting-requirements")
        tranches = donor.get(f"/grants/v1/grants/{grant['id']}/tranches")
    return Known(
        {
            "grant_id": grant["id"],
            "programme_id": grant["programme_id"],
            "requirement_id": requirements.json()["items"][0]["id"],
            "tranche_id": tranches.json()["items"][0]["id"],
            "organisation_id": str(NGO_TIRANA.id),
            "year": "2012",
        }
    )


QUERY_VALUES = {
    "period_start": "2007-01-01",
    "period_end": "2014-12-31",
    "organisation_id": str(NGO_TIRANA.id),
    "recipient_organisation_id": str(NGO_TIRANA.id),
    "year": "2012",
    "year_from": "2007",
    "year_to": "2014",
    "limit": "100",
}
PLACEHOLDER = re.compile(r"\{([^}]+)\}")


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method.upper(), path, operation


def _variants(
    path: str, operation: dict[str, Any], known: Known
) -> Iterator[tuple[str, dict[str, str]]]:
    """(path, query) pairs: real ids, unknown ids, malformed ids; JSON and CSV."""
    names = PLACEHOLDER.findall(path)
    fillings = [
        {name: known.values.get(name, str(uuid.uuid4())) for name in names},
        {name: str(uuid.uuid4()) if name != "year" else "1990" for name in names},
        dict.fromkeys(names, "not-an-id"),
    ]
    declared = {
        parameter["name"]
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    }
    base = {name: value for name, value in QUERY_VALUES.items() if name in declared}
    queries = [base, {}]
    if "format" in declared:
        queries += [{**base, "format": "csv"}, {**base, "format": "xml"}]
    if "period_start" in declared:
        queries.append({**base, "period_start": "2014-01-01", "period_end": "2007-01-01"})
    for filling in fillings if names else [{}]:
        for query in queries:
            yield path.format(**filling), query


def _assert_clean(response: httpx.Response, needles: list[str]) -> None:
    shown = response.text + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    leaked = [needle for needle in needles if needle in shown]
    assert leaked == [], (response.request.method, str(response.request.url), leaked)
    assert response.status_code < 500, (str(response.request.url), response.text)


def test_no_donor_reachable_response_carries_a_planted_identity(
    stack: Stack, tokens: PersonaTokens, planted: Planted, known: Known
) -> None:
    document = httpx.get(f"{stack.gateway_url}/grants/openapi.json", timeout=15).json()
    operations = list(_operations(document))
    assert len(operations) >= 30  # the whole service, not an empty document
    calls = 0
    for persona in DONOR_PERSONAS:
        with httpx.Client(
            base_url=f"{stack.gateway_url}/grants", headers=_as(tokens, persona), timeout=30
        ) as donor:
            for method, path, operation in operations:
                for url, query in _variants(path, operation, known):
                    if method == "GET":
                        response = donor.get(url, params=query)
                    else:
                        # Refused writes: an empty body, then one that is not JSON at all.
                        response = donor.request(method, url, params=query, json={})
                        _assert_clean(response, planted.needles)
                        response = donor.request(
                            method,
                            url,
                            content=b"{not json",
                            headers={"content-type": "application/json"},
                        )
                    _assert_clean(response, planted.needles)
                    calls += 1
    assert calls > 200


def test_the_reports_count_the_planted_persons_without_naming_them(
    stack: Stack, tokens: PersonaTokens, planted: Planted, known: Known
) -> None:
    """The leak test above is only worth something if the outcomes were really fetched."""
    with httpx.Client(
        base_url=f"{stack.gateway_url}/grants", headers=_as(tokens, "grant-manager"), timeout=60
    ) as donor:
        report = donor.get(
            f"/v1/programmes/{known.values['programme_id']}/report",
            params={"period_start": "2012-01-01", "period_end": "2012-12-31"},
        )
    assert report.status_code == 200, report.text
    outcomes = report.json()["outcomes"]
    assert outcomes["status"] == "available", outcomes
    assert outcomes["persons"] is not None
    assert outcomes["persons"] >= len(planted.beneficiary_ids)
    _assert_clean(report, planted.needles)
