"""The 360Giving export: a donor's awarded grants as a package valid against the
published 360Giving schema, with the standard's field meaning; donors only."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from baton.stack.programme import NGO_TIRANA
from baton.testing_issuer import CallerFactory
from grants_factories import GrantParties, grant_parties, insert_grant
from report_factories import insert_disbursement, insert_programme

EXPORT = "/v1/exports/360giving"
# The schemas as published, vendored beside the service (see their README there).
SCHEMAS = Path(__file__).resolve().parents[1] / "schemas" / "360giving"
PREFIX = "360G-baton"


# jsonschema asserts `date-time` and `uri` only with optional packages. 360Giving needs
# them: its dates are `oneOf` a date-time or a plain date, and a checker that lets any
# string pass as a date-time makes every plain date match both (oneOf fails).
FORMATS = FormatChecker()
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if RFC3339.fullmatch(value) is None:
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # a real day and time
    return True


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and " " not in value


def _validator() -> Draft202012Validator:
    """The package schema, its grant `$ref` (a URL) resolved to the local grant schema."""
    package = json.loads((SCHEMAS / "360-giving-package-schema.json").read_text())
    grant = json.loads((SCHEMAS / "360-giving-schema.json").read_text())
    # Their `$schema` lacks https, so the dialect is named rather than detected.
    resource: Resource[Any] = DRAFT202012.create_resource(grant)
    registry: Registry[Any] = Registry().with_resources(
        [(package["properties"]["grants"]["items"]["$ref"], resource), (grant["$id"], resource)]
    )
    return Draft202012Validator(package, registry=registry, format_checker=FORMATS)


VALIDATOR = _validator()


def _errors(package: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(package)]


def _org(organisation: uuid.UUID) -> str:
    return f"{PREFIX}-org-{organisation}"


@dataclass(frozen=True)
class World:
    programme: uuid.UUID
    cofunded: str  # in the programme, co-funded, two disbursements
    own: str  # the manager's alone, nothing paid yet
    draft: str


async def _identifier(superuser: asyncpg.Connection, grant_id: uuid.UUID) -> str:
    identifier: str = await superuser.fetchval(
        "SELECT identifier FROM grant_award WHERE id = $1", grant_id
    )
    return identifier


async def _world(superuser: asyncpg.Connection, people: GrantParties) -> World:
    programme = await insert_programme(superuser, people.manager.org_id, [people.cofunder.org_id])
    cofunded = await insert_grant(superuser, people, programme_id=programme)
    await superuser.execute(
        "UPDATE grant_award SET beneficiary_countries = '{AL,XK}', actual_end = $2 WHERE id = $1",
        cofunded,
        date(2012, 12, 20),
    )
    await insert_disbursement(superuser, cofunded, "20000.00", date(2011, 1, 15))
    await insert_disbursement(superuser, cofunded, "12500.50", date(2012, 1, 15))
    own = await insert_grant(superuser, people, awarded=Decimal("12000.00"), cofunded=Decimal(0))
    draft = await insert_grant(superuser, people, status="draft")
    return World(
        programme,
        await _identifier(superuser, cofunded),
        await _identifier(superuser, own),
        await _identifier(superuser, draft),
    )


async def _package(
    grants: httpx.AsyncClient, headers: dict[str, str], **params: str
) -> dict[str, Any]:
    response = await grants.get(EXPORT, params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert _errors(response.json()) == []
    package: dict[str, Any] = response.json()
    return package


def _by_id(package: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {grant["id"]: grant for grant in package["grants"]}


def test_the_validator_refuses_what_360giving_refuses() -> None:
    # The tests below lean on the validator: it must see the grant schema behind the $ref.
    assert _errors({"grants": []}) != []  # minItems 1
    assert _errors({"grants": [{"id": "360G-x-1", "title": "No amount"}]}) != []
    grant = {
        "id": "360G-x-1",
        "title": "t",
        "description": "d",
        "currency": "EUR",
        "amountAwarded": 10,
        "awardDate": "2011-01-01",
        "recipientOrganization": [{"id": "360G-x-org-1", "name": "n"}],
        "fundingOrganization": [{"id": "360G-x-org-2", "name": "f"}],
    }
    assert _errors({"grants": [grant]}) == []
    assert _errors({"grants": [{**grant, "amountAwarded": "10.00"}]}) != []
    assert _errors({"grants": [{**grant, "beneficiaryLocation": [{"countryCode": "XK"}]}]}) != []
    assert _errors({"grants": [{**grant, "dateModified": "2011-01-01"}]}) != []
    assert _errors({"grants": [{**grant, "dateModified": "2011-02-30T10:00:00Z"}]}) != []
    assert _errors({"grants": [{**grant, "dateModified": "2011-02-03T10:00:00Z"}]}) == []
    assert _errors({"grants": [{**grant, "dataSource": "not a link"}]}) != []


async def test_a_donors_grants_validate_with_360givings_meaning(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    world = await _world(superuser, people)

    package = await _package(grants, people.manager.headers)

    assert package["version"] == "1.4"
    assert package["publisher"]["identifier"] == _org(people.manager.org_id)
    exported = _by_id(package)
    assert set(exported) == {world.cofunded, world.own}  # never the draft
    grant = exported[world.cofunded]
    assert grant["title"] == "Re/integration services"
    assert grant["description"] == "Shelter and case work"
    assert grant["currency"] == "EUR"
    assert grant["amountAppliedFor"] == 50000
    assert grant["amountAwarded"] == 50000
    assert grant["amountDisbursed"] == 32500.5
    assert grant["awardDate"] == "2011-01-01"
    assert grant["plannedDates"] == [{"startDate": "2011-01-01", "endDate": "2012-12-31"}]
    assert grant["actualDates"] == [{"startDate": "2011-01-01", "endDate": "2012-12-20"}]
    ngo = people.recipient.org_id
    assert grant["recipientOrganization"] == [{"id": _org(ngo), "name": str(ngo)}]
    # Every funder, the larger share first.
    assert [funder["id"] for funder in grant["fundingOrganization"]] == [
        _org(people.manager.org_id),
        _org(people.cofunder.org_id),
    ]
    assert grant["grantProgramme"] == [
        {"code": str(world.programme), "title": "Re/integration in the Balkans"}
    ]
    # Kosovo is outside 360Giving's country codelist: named, without a code.
    assert grant["beneficiaryLocation"] == [
        {"countryCode": "AL", "name": "Albania"},
        {"name": "Kosovo"},
    ]
    assert datetime.fromisoformat(grant["dateModified"]).tzinfo is not None
    assert grant["dataSource"].endswith(EXPORT)
    own = exported[world.own]
    assert own["amountAwarded"] == 12000
    assert own["amountDisbursed"] == 0
    assert [funder["id"] for funder in own["fundingOrganization"]] == [_org(people.manager.org_id)]
    assert "grantProgramme" not in own
    assert "actualDates" in own  # insert_grant records the actual start

    # The donor's viewers publish the same grants.
    assert set(_by_id(await _package(grants, people.viewer.headers))) == set(exported)


async def test_a_demo_organisation_carries_its_demo_name(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    demo_ngo = caller("ngo", ["case_manager"], org_id=NGO_TIRANA.id)
    people = replace(people, recipient=demo_ngo)
    await insert_grant(superuser, people, cofunded=Decimal(0))

    package = await _package(grants, people.manager.headers)

    (grant,) = package["grants"]
    assert grant["recipientOrganization"] == [
        {"id": _org(NGO_TIRANA.id), "name": "Shtëpia e Shpresës (demo)"}
    ]


async def test_a_cofunder_exports_only_the_grants_it_funds(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    world = await _world(superuser, people)

    package = await _package(grants, people.cofunder.headers)

    assert set(_by_id(package)) == {world.cofunded}
    assert package["publisher"]["identifier"] == _org(people.cofunder.org_id)


async def test_a_cofunder_publishes_its_grants_in_another_donors_programme(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    # The manager's programme alone; the co-funder shares one grant in it.
    programme = await insert_programme(superuser, people.manager.org_id, [], name="Own line")
    await insert_grant(superuser, people, programme_id=programme)
    narrowed = {"programme_id": str(programme)}

    by_cofunder = await _package(grants, people.cofunder.headers, **narrowed)
    outsider = await grants.get(EXPORT, params=narrowed, headers=people.other_donor.headers)

    assert by_cofunder["grants"][0]["grantProgramme"] == [
        {"code": str(programme), "title": "Own line"}
    ]
    assert outsider.status_code == 404
    assert outsider.json()["code"] == "programme-not-found"


async def test_the_export_narrows_to_a_programme_its_funders_fund(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    world = await _world(superuser, people)
    programme = {"programme_id": str(world.programme)}

    by_manager = await _package(grants, people.manager.headers, **programme)
    by_cofunder = await _package(grants, people.cofunder.headers, **programme)
    outsider = await grants.get(EXPORT, params=programme, headers=people.other_donor.headers)
    unknown = await grants.get(
        EXPORT, params={"programme_id": str(uuid.uuid4())}, headers=people.manager.headers
    )

    assert set(_by_id(by_manager)) == {world.cofunded}
    assert set(_by_id(by_cofunder)) == {world.cofunded}
    assert outsider.status_code == 404
    assert outsider.json()["code"] == "programme-not-found"
    assert unknown.json()["code"] == "programme-not-found"


async def test_a_donor_funding_nothing_has_no_package(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    await _world(superuser, people)

    response = await grants.get(EXPORT, headers=people.other_donor.headers)

    # 360Giving's package holds at least one grant: an empty one would not validate.
    assert response.status_code == 404
    assert response.json()["code"] == "no-grants-to-export"


async def test_a_draft_alone_is_not_published(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    await insert_grant(superuser, people, status="draft")

    response = await grants.get(EXPORT, headers=people.manager.headers)

    assert response.status_code == 404
    assert response.json()["code"] == "no-grants-to-export"


async def test_ngos_do_not_export(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = grant_parties(caller)
    await _world(superuser, people)

    recipient = await grants.get(EXPORT, headers=people.recipient.headers)
    worker = await grants.get(EXPORT, headers=people.recipient_worker.headers)

    assert recipient.status_code == 403
    assert recipient.json()["code"] == "export-donors-only"
    assert worker.status_code == 403  # no grant:read at all
    assert worker.json()["code"] == "forbidden"
