"""grants-api in the authorization matrix: its world (grants in every state) and its rows.

An "own" grant is the demo foundation's grant to the demo NGO in Tirana: the
grant manager, the donor viewer and the NGO's case manager are all its parties.
An "other" grant is one between a donor the matrix makes and the matrix's own
organisation: no persona is a party of it.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from baton.stack.personas import PersonaCredentials
from baton.stack.programme import FOUNDATION, NGO_TIRANA
from matrix_world import Body, Endpoint, EndpointMaker, World

MATRIX_DONOR = "matrix-donor"  # grant manager of a donor no persona belongs to
GRANT_READERS = frozenset({"grant-manager", "donor-viewer", "case-manager"})
GRANT_MANAGERS = frozenset({"grant-manager"})
REPORT_SUBMITTERS = frozenset({"case-manager"})
REPORT_REVIEWERS = GRANT_MANAGERS
DONOR_READERS = frozenset({"grant-manager", "donor-viewer"})
OWN_PARTIES = {str(FOUNDATION.id), str(NGO_TIRANA.id)}
# Each fresh funding year is a year nobody wrote yet (the demo's run 2007-2014).
_FRESH_YEARS = itertools.count(1990)


def _donor_client(world: World) -> None:
    """A donor organisation of the matrix's own, with a grant manager registered as a persona."""
    donor = world.call(
        "platform-admin",
        "POST",
        "/identity/v1/organisations",
        json={"name": f"Matrix donor {uuid.uuid4().hex[:8]}", "kind": "donor", "country": "BE"},
    )
    assert donor.status_code == 201, donor.text
    org = donor.json()["id"]
    created = world.call(
        "platform-admin",
        "POST",
        "/identity/v1/clients",
        json={
            "organisation_id": org,
            "name": "Matrix donor system",
            "roles": ["grant_manager"],
            "audiences": ["grants-api"],
        },
    )
    assert created.status_code == 201, created.text
    client = created.json()
    world.tokens.personas[MATRIX_DONOR] = PersonaCredentials(
        name=MATRIX_DONOR,
        client_id=client["client_id"],
        client_secret=client["client_secret"],
        organisation_id=org,
        org_kind="donor",
    )


def _grant_body(recipient: str) -> dict[str, Any]:
    return {
        "reference": f"MATRIX-{uuid.uuid4().hex[:12]}",
        "recipient_organisation_id": recipient,
        "title": "Matrix re/integration grant",
        "currency": "EUR",
        "amount_awarded": "10000.00",
        "planned_start": "2026-01-01",
        "planned_end": "2027-12-31",
        "beneficiary_countries": ["MK"],
    }


class GrantsWorld:
    """Makes grants (and what hangs on them) through the gateway, as their managers."""

    def __init__(self, world: World) -> None:
        self.world = world

    def _parties(self, org: str) -> tuple[str, str] | None:
        """(managing donor persona, recipient) of a grant `org` is a party of, if any."""
        if org in OWN_PARTIES:
            return "grant-manager", str(NGO_TIRANA.id)
        if org == self.world.other_org:
            return MATRIX_DONOR, self.world.other_org
        return None

    def _step(self, manager: str, grant_id: str, action: str, body: dict[str, Any]) -> None:
        path = f"/grants/v1/grants/{grant_id}"
        etag = self.world.call(manager, "GET", path).headers["etag"]
        done = self.world.call(
            manager, "POST", f"{path}/{action}", json=body, headers={"if-match": etag}
        )
        assert done.status_code == 200, done.text

    def grant(self, org: str, status: str = "active") -> str:
        """A new grant `org` is a party of, taken to `status`."""
        parties = self._parties(org)
        if parties is None:
            return str(uuid.uuid4())  # not a party of any grant: any id is not found
        manager, recipient = parties
        created = self.world.call(manager, "POST", "/grants/v1/grants", json=_grant_body(recipient))
        assert created.status_code == 201, created.text
        grant_id = str(created.json()["id"])
        steps = {"awarded": 1, "active": 2, "closed": 3}.get(status, 0)
        actions: tuple[tuple[str, dict[str, Any]], ...] = (
            ("award", {"award_date": "2025-12-15"}),
            ("activate", {}),
            ("close", {}),
        )
        for action, body in actions[:steps]:
            self._step(manager, grant_id, action, body)
        return grant_id

    def kept_grant(self, org: str) -> str:
        key = str(NGO_TIRANA.id) if org in OWN_PARTIES else org
        return self.world.kept("grant", key, self.grant)

    def kept_programme(self, org: str) -> str:
        """The programme of the kept grant (made once per grant)."""
        key = str(NGO_TIRANA.id) if org in OWN_PARTIES else org
        return self.world.kept("programme", key, lambda o: self.programme(o, holding_grant=True))

    def programme(self, org: str, *, holding_grant: bool = False) -> str:
        """A programme `org` funds (with the kept grant in it, if asked)."""
        parties = self._parties(org)
        if parties is None:
            return str(uuid.uuid4())
        manager, _ = parties
        created = self.world.call(
            manager,
            "POST",
            "/grants/v1/programmes",
            json={
                "name": "Matrix programme",
                "period_start": "2026-01-01",
                "period_end": "2027-12-31",
                "currency": "EUR",
            },
        )
        assert created.status_code == 201, created.text
        programme_id = str(created.json()["id"])
        if not holding_grant:
            return programme_id
        grant_id = self.kept_grant(org)
        path = f"/grants/v1/grants/{grant_id}"
        read = self.world.call(manager, "GET", path)
        moved = self.world.call(
            manager,
            "PATCH",
            path,
            json={"programme_id": programme_id, "reason": "Joins the matrix programme"},
            headers={"if-match": read.headers["etag"]},
        )
        assert moved.status_code == 200, moved.text
        return programme_id

    def tranche(self, org: str, grant_id: str) -> str:
        parties = self._parties(org)
        if parties is None:
            return str(uuid.uuid4())
        created = self.world.call(
            parties[0],
            "POST",
            f"/grants/v1/grants/{grant_id}/tranches",
            json={"due_on": "2026-06-30", "amount": "1.00"},
        )
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def requirement(self, org: str, grant_id: str, *, submitted: bool = False) -> str:
        parties = self._parties(org)
        if parties is None:
            return str(uuid.uuid4())
        path = f"/grants/v1/grants/{grant_id}/reporting-requirements"
        created = self.world.call(
            parties[0], "POST", path, json={"kind": "other", "due_on": "2027-03-31"}
        )
        assert created.status_code == 201, created.text
        requirement_id = str(created.json()["id"])
        if submitted:
            recipient = "case-manager" if org in OWN_PARTIES else None
            assert recipient is not None, "the matrix's organisation submits nothing"
            sent = self.world.call(
                recipient,
                "POST",
                f"{path}/{requirement_id}/submissions",
                json=_submission_body(),
                headers={"if-match": '"1"'},
            )
            assert sent.status_code in (200, 201), sent.text
        return requirement_id


def _submission_body(*_: Any) -> dict[str, Any]:
    return {
        "period_start": "2026-01-01",
        "period_end": "2026-06-30",
        "narrative": "Matrix report: shelter and counselling as planned.",
        "figures": {"persons_assisted": 12},
    }


def add_grants(world: World) -> GrantsWorld:
    """Register grants-api's makers in the matrix's world."""
    _donor_client(world)
    grants = GrantsWorld(world)
    world.objects |= {
        "grant_id": lambda org, _: grants.kept_grant(org),
        "programme_id": lambda org, _: grants.kept_programme(org),
        "tranche_id": lambda org, made: grants.tranche(org, made["grant_id"]),
        "requirement_id": lambda org, made: world.kept(
            "requirement", org, lambda o: grants.requirement(o, made["grant_id"])
        ),
        # A donor's "own" funding mix is that of the NGO it funds.
        "organisation_id": lambda org, _: str(NGO_TIRANA.id) if org in OWN_PARTIES else org,
        "year": lambda _org, _: "2012",
    }
    world.fresh_objects |= {
        "grant_id": lambda org, _: grants.grant(org),
        "programme_id": lambda org, _: grants.programme(org),
        "tranche_id": lambda org, made: grants.tranche(org, made["grant_id"]),
        "requirement_id": lambda org, made: grants.requirement(org, made["grant_id"]),
        "organisation_id": lambda org, _: org,
        # Only the NGO's own calls write (and so use up) a year.
        "year": lambda org, _: str(next(_FRESH_YEARS)) if org == str(NGO_TIRANA.id) else "2012",
    }
    world.grants = grants
    return grants


def _grants(world: World) -> GrantsWorld:
    grants: GrantsWorld = world.grants
    return grants


def _grant_in(status: str) -> EndpointMaker:
    return lambda world, org, _: _grants(world).grant(org, status)


def _submitted(world: World, org: str, made: dict[str, str]) -> str:
    if org not in OWN_PARTIES:
        return str(uuid.uuid4())  # nobody of the matrix's organisation reports here
    return _grants(world).requirement(org, made["grant_id"], submitted=True)


def _fixed(body: dict[str, Any]) -> Body:
    return lambda *_: body


def _grant_create(*_: Any) -> dict[str, Any]:
    return _grant_body(str(NGO_TIRANA.id))


_PROGRAMME = {
    "name": "Matrix programme",
    "period_start": "2026-01-01",
    "period_end": "2027-12-31",
    "currency": "EUR",
}
_ENTRIES = {
    "entries": [{"source": "foundation", "kind": "cash", "amount": "100.00", "currency": "EUR"}]
}
GRANT = "/grants/v1/grants/{grant_id}"
REQUIREMENT = f"{GRANT}/reporting-requirements/{{requirement_id}}"
Rows = tuple[Endpoint, ...]


def scoped(
    method: str, path: str, allowed: frozenset[str], status: int = 200, **options: Any
) -> Endpoint:
    """A row naming one organisation's object (own and other are both tried)."""
    return Endpoint(method, path, allowed, status, scoped=True, **options)


def _rows() -> Rows:
    return (
        # Programmes.
        Endpoint("POST", "/grants/v1/programmes", GRANT_MANAGERS, 201, body=_fixed(_PROGRAMME)),
        Endpoint("GET", "/grants/v1/programmes", GRANT_READERS),
        scoped("GET", "/grants/v1/programmes/{programme_id}", GRANT_READERS),
        scoped(
            "PATCH",
            "/grants/v1/programmes/{programme_id}",
            GRANT_MANAGERS,
            body=_fixed({"name": "Matrix programme, renamed"}),
            headers={"if-match": '"1"'},
            fresh=True,
        ),
        # A programme's report is for its funders; an NGO with a grant in it sees it exists.
        scoped("GET", "/grants/v1/programmes/{programme_id}/report", DONOR_READERS),
        # Grants.
        Endpoint("POST", "/grants/v1/grants", GRANT_MANAGERS, 201, body=_grant_create),
        Endpoint("GET", "/grants/v1/grants", GRANT_READERS),
        scoped("GET", GRANT, GRANT_READERS),
        scoped(
            "PATCH",
            GRANT,
            GRANT_MANAGERS,
            body=_fixed({"title": "Matrix grant, renamed"}),
            headers={"if-match": '"1"'},
            makers={"grant_id": _grant_in("draft")},
        ),
        scoped("GET", f"{GRANT}/amendments", GRANT_READERS),
        *(
            scoped(
                "POST",
                f"{GRANT}/{action}",
                GRANT_MANAGERS,
                body=_fixed(body),
                headers={"if-match": f'"{version}"'},
                makers={"grant_id": _grant_in(status)},
            )
            for action, status, version, body in (
                ("award", "draft", 1, {"award_date": "2025-12-15"}),
                ("activate", "awarded", 2, {}),
                ("close", "active", 3, {}),
                ("terminate", "awarded", 2, {"reason": "The matrix ends it"}),
            )
        ),
        # Money flows.
        *(
            scoped("GET", f"{GRANT}/{leaf}", GRANT_READERS)
            for leaf in (
                "tranches",
                "disbursements",
                "budget",
                "expenditures",
                "finances",
                "report",
            )
        ),
        scoped(
            "POST",
            f"{GRANT}/tranches",
            GRANT_MANAGERS,
            201,
            body=_fixed({"due_on": "2026-09-30", "amount": "1.00"}),
        ),
        scoped("DELETE", f"{GRANT}/tranches/{{tranche_id}}", GRANT_MANAGERS, 204, fresh=True),
        scoped(
            "POST",
            f"{GRANT}/disbursements",
            GRANT_MANAGERS,
            201,
            body=_fixed({"disbursed_on": "2026-02-01", "amount": "1.00"}),
        ),
        scoped(
            "PUT",
            f"{GRANT}/budget",
            GRANT_MANAGERS,
            body=_fixed({"lines": [{"category": "services", "amount": "5000.00"}]}),
            headers={"if-match": '"0"'},
            makers={"grant_id": _grant_in("active")},
        ),
        scoped(
            "POST",
            f"{GRANT}/expenditures",
            REPORT_SUBMITTERS,
            201,
            body=_fixed(
                {
                    "category": "services",
                    "period_start": "2026-01-01",
                    "period_end": "2026-03-31",
                    "amount": "1.00",
                }
            ),
        ),
        # Reporting.
        scoped("GET", f"{GRANT}/reporting-requirements", GRANT_READERS),
        scoped(
            "POST",
            f"{GRANT}/reporting-requirements",
            GRANT_MANAGERS,
            201,
            body=_fixed({"kind": "other", "due_on": "2027-01-31"}),
        ),
        scoped(
            "PATCH",
            REQUIREMENT,
            GRANT_MANAGERS,
            body=_fixed({"due_on": "2027-02-28"}),
            headers={"if-match": '"1"'},
            fresh=True,
        ),
        scoped(
            "POST",
            f"{REQUIREMENT}/submissions",
            REPORT_SUBMITTERS,
            200,  # answers with the requirement, now submitted
            body=_submission_body,
            headers={"if-match": '"1"'},
            fresh=True,
        ),
        scoped("GET", REQUIREMENT, GRANT_READERS),
        scoped("GET", f"{REQUIREMENT}/submissions", GRANT_READERS),
        *(
            scoped(
                "POST",
                f"{REQUIREMENT}/{action}",
                REPORT_REVIEWERS,
                body=_fixed(body),
                headers={"if-match": '"2"'},
                makers={"requirement_id": _submitted},
            )
            for action, body in (
                ("accept", {}),
                ("request-revision", {"comment": "Please add the figures by service"}),
            )
        ),
        Endpoint("GET", "/grants/v1/reporting-requirements", GRANT_READERS),
        # Funding mix: an NGO's own; its donors read it.
        Endpoint("GET", "/grants/v1/funding-mix", GRANT_READERS),
        scoped("GET", "/grants/v1/funding-mix/{organisation_id}/{year}", GRANT_READERS),
        scoped(
            "PUT",
            "/grants/v1/funding-mix/{organisation_id}/{year}",
            REPORT_SUBMITTERS,
            201,
            body=_fixed(_ENTRIES),
            fresh=True,
            # Another organisation's funding mix is refused, not hidden: it is no secret
            # that an organisation exists.
            elsewhere=403,
        ),
        # Exports: a donor's grants as 360Giving data.
        Endpoint("GET", "/grants/v1/exports/360giving", DONOR_READERS),
    )


GRANT_ENDPOINTS: Rows = _rows()
