"""A grant's money: the managing donor plans tranches, pays and sets the budget, the
recipient reports expenditure, every party reads, and nobody else sees any of it."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from baton.tenancy import bind_tenant
from baton.testing_issuer import CallerFactory
from finance_factories import (
    PHONE,
    assert_hidden,
    assert_refused,
    converted,
    created,
    disbursement,
    expenditure,
    line,
    money_on,
    money_path,
    new_grant,
    outsiders,
    post,
    put_budget,
    readers,
    rows_of,
    tranche,
    visible_counts,
)
from grants_api.finances.summary import burn_rate, finances_of_grants, whole_months
from grants_api.grants.models import Grant
from grants_factories import insert_grant

# Tranches


async def test_tranches_are_planned_by_the_manager_and_read_by_every_party(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    later = await created(
        grants, people.manager, grant_id, "tranches", tranche("20000", "2011-07-15")
    )
    first = await created(
        grants,
        people.manager,
        grant_id,
        "tranches",
        tranche("20000.00", "2011-01-15", label="First instalment"),
    )
    assert first["amount"] == "20000.00"
    assert first["label"] == "First instalment"
    assert first["disbursed"] == "0.00"
    assert first["grant_id"] == str(grant_id)

    path = money_path(grant_id, "tranches")
    for party in readers(people):
        listed = await grants.get(path, headers=party.headers)
        assert listed.status_code == 200, listed.text
        assert listed.json() == {"items": [first, later]}
    await assert_hidden(grants, outsiders(people), path)
    await assert_refused(grants, (people.recipient_worker,), path)
    body = tranche("100")
    await assert_hidden(grants, (people.other_donor,), path, "POST", body)
    await assert_refused(grants, (people.other_ngo, people.recipient_worker), path, "POST", body)
    assert len(await rows_of(superuser, "tranche", grant_id)) == 2


async def test_only_the_managing_donor_plans_tranches(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    cofunder = await post(grants, people.cofunder, grant_id, "tranches", tranche("100"))
    assert cofunder.status_code == 403
    assert cofunder.json()["code"] == "grant-not-managed-by-you"
    for no_permission in (people.viewer, people.recipient):
        refused = await post(grants, no_permission, grant_id, "tranches", tranche("100"))
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
    outsider = await post(grants, people.other_donor, grant_id, "tranches", tranche("100"))
    assert outsider.json()["code"] == "grant-not-found"
    assert await rows_of(superuser, "tranche", grant_id) == []


async def test_tranches_stay_within_the_award(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller, awarded=Decimal("50000.00"))
    await created(grants, people.manager, grant_id, "tranches", tranche("30000.00"))
    await created(grants, people.manager, grant_id, "tranches", tranche("19999.99"))
    over = await post(grants, people.manager, grant_id, "tranches", tranche("0.02"))
    assert over.status_code == 422
    assert over.json()["code"] == "tranches-exceed-award"
    await created(grants, people.manager, grant_id, "tranches", tranche("0.01"))
    amounts = sorted(row["amount"] for row in await rows_of(superuser, "tranche", grant_id))
    assert amounts == [Decimal("0.01"), Decimal("19999.99"), Decimal("30000.00")]


async def test_a_tranche_needs_a_positive_amount_and_clean_label(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    zero = await post(grants, people.manager, grant_id, "tranches", tranche("0.00"))
    assert zero.status_code == 422
    phone = await post(grants, people.manager, grant_id, "tranches", tranche("10", label=PHONE))
    assert phone.status_code == 422
    assert phone.json()["code"] == "identifier-in-text"
    assert "069" not in phone.text
    assert await rows_of(superuser, "tranche", grant_id) == []


@pytest.mark.parametrize(
    ("status", "accepted"),
    [
        ("draft", False),
        ("awarded", True),
        ("active", True),
        ("closed", False),
        ("terminated", False),
    ],
)
async def test_tranches_and_disbursements_need_an_awarded_or_active_grant(
    grants: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    status: str,
    accepted: bool,
) -> None:
    people, grant_id = await new_grant(superuser, caller, status=status)
    for part, body in (("tranches", tranche("100")), ("disbursements", disbursement("100"))):
        response = await post(grants, people.manager, grant_id, part, body)
        if accepted:
            assert response.status_code == 201, response.text
        else:
            assert response.status_code == 409, response.text
            assert response.json()["code"] == "grant-invalid-status"


async def test_a_retried_tranche_is_planned_once(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    body = tranche("1000.00")
    first = await post(grants, people.manager, grant_id, "tranches", body, key="t-1")
    again = await post(grants, people.manager, grant_id, "tranches", body, key="t-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await post(grants, people.manager, grant_id, "tranches", tranche("5.00"), key="t-1")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency-key-reused"
    assert len(await rows_of(superuser, "tranche", grant_id)) == 1


async def test_a_tranche_is_removed_until_a_disbursement_pays_it(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    _, elsewhere = await new_grant(superuser, caller)
    kept = await created(grants, people.manager, grant_id, "tranches", tranche("1000"))
    gone = await created(grants, people.manager, grant_id, "tranches", tranche("2000"))
    await created(
        grants,
        people.manager,
        grant_id,
        "disbursements",
        disbursement("500", tranche_id=kept["id"]),
    )
    kept_path = money_path(grant_id, f"tranches/{kept['id']}")
    gone_path = money_path(grant_id, f"tranches/{gone['id']}")

    cofunder = await grants.delete(gone_path, headers=people.cofunder.headers)
    assert cofunder.status_code == 403
    assert cofunder.json()["code"] == "grant-not-managed-by-you"
    await assert_hidden(grants, (people.other_donor,), gone_path, "DELETE")
    await assert_refused(grants, (people.other_ngo, people.recipient), gone_path, "DELETE")
    not_its_grant = await grants.delete(
        money_path(elsewhere, f"tranches/{gone['id']}"), headers=people.manager.headers
    )
    assert not_its_grant.status_code == 404
    paid = await grants.delete(kept_path, headers=people.manager.headers)
    assert paid.status_code == 409
    assert paid.json()["code"] == "tranche-disbursed"

    removed = await grants.delete(gone_path, headers=people.manager.headers)
    assert removed.status_code == 204
    assert removed.content == b""
    twice = await grants.delete(gone_path, headers=people.manager.headers)
    assert twice.status_code == 404
    assert twice.json()["code"] == "tranche-not-found"
    listed = await grants.get(money_path(grant_id, "tranches"), headers=people.manager.headers)
    assert [(t["id"], t["disbursed"]) for t in listed.json()["items"]] == [(kept["id"], "500.00")]


# Disbursements


async def test_disbursements_are_paid_by_the_manager_and_read_by_every_party(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    planned = await created(grants, people.manager, grant_id, "tranches", tranche("20000"))
    first = await created(
        grants,
        people.manager,
        grant_id,
        "disbursements",
        disbursement("20000", tranche_id=planned["id"], reference="BANK-2011-0042"),
    )
    assert first["amount"] == "20000.00"
    assert first["currency"] == "EUR"
    assert first["tranche_id"] == planned["id"]
    assert first["reference"] == "BANK-2011-0042"
    assert first["paid_amount"] is None
    second = await created(grants, people.manager, grant_id, "disbursements", disbursement("5"))

    path = money_path(grant_id, "disbursements")
    for party in readers(people):
        page = await grants.get(path, headers=party.headers, params={"limit": 1})
        assert page.status_code == 200, page.text
        assert page.json()["items"] == [first]
        cursor = page.json()["next_cursor"]
        rest = await grants.get(path, headers=party.headers, params={"cursor": cursor})
        assert rest.json() == {"items": [second], "next_cursor": None}
    await assert_hidden(grants, outsiders(people), path)
    await assert_refused(grants, (people.recipient_worker,), path)
    body = disbursement("1")
    await assert_hidden(grants, (people.other_donor,), path, "POST", body)
    await assert_refused(grants, (people.other_ngo, people.recipient), path, "POST", body)

    cofunder = await post(grants, people.cofunder, grant_id, "disbursements", body)
    assert cofunder.status_code == 403
    assert cofunder.json()["code"] == "grant-not-managed-by-you"
    assert len(await rows_of(superuser, "disbursement", grant_id)) == 2


async def test_disbursements_stay_within_the_award_and_name_the_grants_own_tranche(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller, awarded=Decimal("50000.00"))
    other_people, elsewhere = await new_grant(superuser, caller)
    foreign = await created(grants, other_people.manager, elsewhere, "tranches", tranche("10"))
    wrong_tranche = await post(
        grants,
        people.manager,
        grant_id,
        "disbursements",
        disbursement("10", tranche_id=foreign["id"]),
    )
    assert wrong_tranche.status_code == 404
    assert wrong_tranche.json()["code"] == "tranche-not-found"

    await created(grants, people.manager, grant_id, "disbursements", disbursement("49999.99"))
    over = await post(grants, people.manager, grant_id, "disbursements", disbursement("0.02"))
    assert over.status_code == 422
    assert over.json()["code"] == "disbursement-exceeds-award"
    phone = await post(
        grants, people.manager, grant_id, "disbursements", disbursement("0.01", reference=PHONE)
    )
    assert phone.status_code == 422
    assert phone.json()["code"] == "identifier-in-text"
    await created(grants, people.manager, grant_id, "disbursements", disbursement("0.01"))
    stored = await rows_of(superuser, "disbursement", grant_id)
    assert sorted(row["amount"] for row in stored) == [Decimal("0.01"), Decimal("49999.99")]
    assert all(row["reference"] is None for row in stored)


async def test_a_payment_in_another_currency_is_converted_to_the_cent(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    computed = await created(grants, people.manager, grant_id, "disbursements", converted(None))
    assert computed["amount"] == "16.26"  # 1000.00 x 0.01626016 = 16.26016
    assert computed["paid_amount"] == "1000.00"
    assert computed["paid_currency"] == "MKD"
    assert computed["exchange_rate"] == "0.01626016"
    assert computed["rate_date"] == "2011-01-31"
    agreed = await created(grants, people.manager, grant_id, "disbursements", converted("16.26"))
    assert agreed["amount"] == "16.26"
    # Half-even to cents: 2.5 cents rounds to the even 2.
    even = await created(
        grants,
        people.manager,
        grant_id,
        "disbursements",
        converted(None, paid_amount="1.25", exchange_rate="0.02"),
    )
    assert even["amount"] == "0.02"

    refusals = {
        "conversion-mismatch": converted("16.27"),
        "conversion-incomplete": disbursement("16.26", paid_amount="1000.00", paid_currency="MKD"),
        "conversion-same-currency": converted(None, paid_currency="EUR", exchange_rate="1"),
        "disbursement-amount-required": disbursement(None),
    }
    for code, body in refusals.items():
        refused = await post(grants, people.manager, grant_id, "disbursements", body)
        assert refused.status_code == 422, (code, refused.text)
        assert refused.json()["code"] == code
    stored = await rows_of(superuser, "disbursement", grant_id)
    assert sorted((row["amount"], row["paid_amount"], row["exchange_rate"]) for row in stored) == [
        (Decimal("0.02"), Decimal("1.25"), Decimal("0.02000000")),
        (Decimal("16.26"), Decimal("1000.00"), Decimal("0.01626016")),
        (Decimal("16.26"), Decimal("1000.00"), Decimal("0.01626016")),
    ]


async def test_a_retried_disbursement_is_paid_once(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    body = converted(None)
    first = await post(grants, people.manager, grant_id, "disbursements", body, key="pay-1")
    again = await post(grants, people.manager, grant_id, "disbursements", body, key="pay-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(await rows_of(superuser, "disbursement", grant_id)) == 1


# Budget


async def test_the_budget_is_replaced_whole_under_if_match(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    path = money_path(grant_id, "budget")
    empty = await grants.get(path, headers=people.recipient.headers)
    assert empty.status_code == 200
    assert empty.headers["ETag"] == '"0"'
    assert empty.json() == {"currency": "EUR", "lines": [], "total": "0.00", "version": 0}

    lines = [line("staff", "15000"), line("services", "25000.00", "Shelter and counselling")]
    missing = await put_budget(grants, people.manager, grant_id, lines, etag=None)
    assert missing.status_code == 428
    assert missing.json()["code"] == "precondition-required"
    stale = await put_budget(grants, people.manager, grant_id, lines, etag='"1"')
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition-failed"

    first = await put_budget(grants, people.manager, grant_id, lines, etag='"0"')
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"1"'
    assert first.json() == {
        "currency": "EUR",
        "lines": [
            {
                "category": "services",
                "amount": "25000.00",
                "description": "Shelter and counselling",
            },
            {"category": "staff", "amount": "15000.00", "description": None},
        ],
        "total": "40000.00",
        "version": 1,
    }
    for party in readers(people):
        read = await grants.get(path, headers=party.headers)
        assert read.headers["ETag"] == '"1"'
        assert read.json() == first.json()

    stale_again = await put_budget(grants, people.manager, grant_id, lines, etag='"0"')
    assert stale_again.status_code == 412
    second = await put_budget(grants, people.manager, grant_id, [line("other", "3000")], etag='"1"')
    assert second.headers["ETag"] == '"2"'
    assert second.json()["lines"] == [
        {"category": "other", "amount": "3000.00", "description": None}
    ]
    stored = await rows_of(superuser, "budget_line", grant_id)
    assert [(row["category"], row["amount"]) for row in stored] == [("other", Decimal("3000.00"))]
    version = await superuser.fetchval(
        "SELECT budget_version FROM grant_award WHERE id = $1", grant_id
    )
    assert version == 2


async def test_a_budget_has_one_line_per_category_within_the_award_and_no_identifier(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller, awarded=Decimal("50000.00"))
    refusals = {
        "budget-category-repeated": [line("staff", "100"), line("staff", "200")],
        "budget-exceeds-award": [line("staff", "30000"), line("services", "20000.01")],
        "identifier-in-text": [line("services", "100", PHONE)],
    }
    for code, lines in refusals.items():
        refused = await put_budget(grants, people.manager, grant_id, lines, etag='"0"')
        assert refused.status_code == 422, (code, refused.text)
        assert refused.json()["code"] == code
    assert await rows_of(superuser, "budget_line", grant_id) == []
    whole = await put_budget(
        grants,
        people.manager,
        grant_id,
        [line("staff", "30000"), line("services", "20000.00")],
        etag='"0"',
    )
    assert whole.status_code == 200
    assert whole.json()["total"] == "50000.00"


async def test_only_the_managing_donor_sets_the_budget(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    lines = [line("staff", "100")]
    cofunder = await put_budget(grants, people.cofunder, grant_id, lines, etag='"0"')
    assert cofunder.status_code == 403
    assert cofunder.json()["code"] == "grant-not-managed-by-you"
    for no_permission in (people.viewer, people.recipient, people.other_ngo):
        refused = await put_budget(grants, no_permission, grant_id, lines, etag='"0"')
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
    hidden = await put_budget(grants, people.other_donor, grant_id, lines, etag='"0"')
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "grant-not-found"
    path = money_path(grant_id, "budget")
    await assert_hidden(grants, outsiders(people), path)
    await assert_refused(grants, (people.recipient_worker,), path)
    assert await rows_of(superuser, "budget_line", grant_id) == []


@pytest.mark.parametrize(
    ("status", "accepted"),
    [
        ("draft", True),
        ("awarded", True),
        ("active", True),
        ("closed", False),
        ("terminated", False),
    ],
)
async def test_the_budget_changes_until_the_grant_ends(
    grants: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    status: str,
    accepted: bool,
) -> None:
    people, grant_id = await new_grant(superuser, caller, status=status)
    response = await put_budget(grants, people.manager, grant_id, [line("staff", "1")], etag='"0"')
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 409
        assert response.json()["code"] == "grant-invalid-status"


# Expenditure


async def test_the_recipient_reports_expenditure_and_every_party_reads_it(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    first = await created(
        grants,
        people.recipient,
        grant_id,
        "expenditures",
        expenditure("12000.5", description="Shelter running costs, first half"),
    )
    assert first["amount"] == "12000.50"
    assert first["currency"] == "EUR"
    assert first["category"] == "services"
    assert first["period_start"] == "2011-01-01"
    second = await created(
        grants, people.recipient, grant_id, "expenditures", expenditure("10", category="staff")
    )

    path = money_path(grant_id, "expenditures")
    for party in readers(people):
        page = await grants.get(path, headers=party.headers, params={"limit": 1})
        assert page.status_code == 200, page.text
        assert page.json()["items"] == [first]
        rest = await grants.get(
            path, headers=party.headers, params={"cursor": page.json()["next_cursor"]}
        )
        assert rest.json() == {"items": [second], "next_cursor": None}
    await assert_hidden(grants, outsiders(people), path)
    await assert_refused(grants, (people.recipient_worker,), path)
    body = expenditure("1")
    await assert_hidden(grants, (people.other_ngo,), path, "POST", body)
    # Donors have no grant_report:submit; the NGO's caseworker neither.
    donors = (people.manager, people.cofunder, people.other_donor)
    await assert_refused(grants, (*donors, people.recipient_worker), path, "POST", body)
    assert len(await rows_of(superuser, "expenditure", grant_id)) == 2


async def test_expenditure_lies_within_the_grants_period(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    # Planned 2011-01-01 to 2012-12-31, started as planned.
    people, grant_id = await new_grant(superuser, caller)
    refusals = {
        "expenditure-period-invalid": expenditure("1", "2011-06-30", "2011-01-01"),
        "expenditure-outside-grant-period": expenditure("1", "2010-12-31", "2011-06-30"),
        "identifier-in-text": expenditure("1", description=PHONE),
    }
    for code, body in refusals.items():
        refused = await post(grants, people.recipient, grant_id, "expenditures", body)
        assert refused.status_code == 422, (code, refused.text)
        assert refused.json()["code"] == code
    late = expenditure("1", "2012-12-01", "2013-01-31")
    outside = await post(grants, people.recipient, grant_id, "expenditures", late)
    assert outside.json()["code"] == "expenditure-outside-grant-period"
    assert await rows_of(superuser, "expenditure", grant_id) == []
    # The grant ran a month longer than planned: its actual end widens the period.
    await superuser.execute(
        "UPDATE grant_award SET actual_end = '2013-01-31' WHERE id = $1", grant_id
    )
    await created(grants, people.recipient, grant_id, "expenditures", late)
    last_day = await created(
        grants,
        people.recipient,
        grant_id,
        "expenditures",
        expenditure("1", "2011-01-01", "2011-01-01"),
    )
    assert last_day["period_end"] == "2011-01-01"


@pytest.mark.parametrize(
    ("status", "accepted"),
    [
        ("draft", False),
        ("awarded", True),
        ("active", True),
        ("closed", False),
        ("terminated", False),
    ],
)
async def test_expenditure_is_reported_on_an_awarded_or_active_grant(
    grants: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    status: str,
    accepted: bool,
) -> None:
    people, grant_id = await new_grant(superuser, caller, status=status)
    response = await post(grants, people.recipient, grant_id, "expenditures", expenditure("5"))
    if accepted:
        assert response.status_code == 201, response.text
    else:
        assert response.status_code == 409
        assert response.json()["code"] == "grant-invalid-status"


async def test_a_retried_expenditure_is_reported_once(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    body = expenditure("250.00")
    first = await post(grants, people.recipient, grant_id, "expenditures", body, key="e-1")
    again = await post(grants, people.recipient, grant_id, "expenditures", body, key="e-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(await rows_of(superuser, "expenditure", grant_id)) == 1


# The summary


async def test_the_finances_sum_up_a_grant_to_the_cent(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller, awarded=Decimal("50000.00"))
    tranches = await money_on(grants, people, grant_id)
    path = money_path(grant_id, "finances")
    summary = await grants.get(path, headers=people.manager.headers)
    assert summary.status_code == 200, summary.text
    july = {**tranches[2], "disbursed": "16260.16"}
    assert summary.json() == {
        "grant_id": str(grant_id),
        "currency": "EUR",
        "awarded": "50000.00",
        "planned_in_tranches": "50000.00",
        "disbursed": "36260.16",
        "remaining_to_disburse": "13739.84",
        "spent": "27000.75",
        "balance": "9259.41",
        "by_category": [
            {
                "category": "services",
                "budgeted": "25000.00",
                "spent": "20000.50",
                "remaining": "4999.50",
            },
            {
                "category": "staff",
                "budgeted": "15000.00",
                "spent": "7000.25",
                "remaining": "7999.75",
            },
            {
                "category": "office_and_running_costs",
                "budgeted": "7000.00",
                "spent": "0.00",
                "remaining": "7000.00",
            },
            {"category": "other", "budgeted": "3000.00", "spent": "0.00", "remaining": "3000.00"},
        ],
        # 2011-01-01 to 2012-12-31 is over: 24 months; 27,000.75 / 24 = 1,125.03;
        # 9,259.41 / 1,125.03 = 8.23...
        "burn_rate": {
            "months_elapsed": 24,
            "spent_per_month": "1125.03",
            "months_of_balance_left": "8.2",
        },
        # The earliest tranche paid less than its amount: July's, paid in part.
        "next_tranche": july,
    }
    for party in (people.viewer, people.cofunder, people.recipient):
        read = await grants.get(path, headers=party.headers)
        assert read.json() == summary.json()
    await assert_hidden(grants, outsiders(people), path)
    await assert_refused(grants, (people.recipient_worker,), path)

    # Pay the rest of July's tranche: January 2012's is next.
    await created(
        grants,
        people.manager,
        grant_id,
        "disbursements",
        disbursement("3739.84", tranche_id=tranches[2]["id"]),
    )
    after = (await grants.get(path, headers=people.manager.headers)).json()
    assert after["next_tranche"]["id"] == tranches[1]["id"]
    assert after["remaining_to_disburse"] == "10000.00"


async def test_a_grant_without_money_sums_to_zero(
    grants: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people, grant_id = await new_grant(superuser, caller, awarded=Decimal("1000.00"))
    summary = (
        await grants.get(money_path(grant_id, "finances"), headers=people.recipient.headers)
    ).json()
    assert summary["awarded"] == "1000.00"
    assert summary["disbursed"] == summary["spent"] == summary["balance"] == "0.00"
    assert summary["remaining_to_disburse"] == "1000.00"
    assert summary["burn_rate"] == {
        "months_elapsed": 24,
        "spent_per_month": "0.00",
        "months_of_balance_left": None,
    }
    assert summary["next_tranche"] is None
    assert {c["category"]: c["budgeted"] for c in summary["by_category"]} == {
        "services": "0.00",
        "staff": "0.00",
        "office_and_running_costs": "0.00",
        "other": "0.00",
    }


def test_whole_months_count_both_days() -> None:
    assert whole_months(date(2011, 1, 1), date(2012, 12, 31)) == 24
    assert whole_months(date(2011, 1, 1), date(2011, 1, 31)) == 1
    assert whole_months(date(2011, 1, 1), date(2011, 1, 30)) == 0
    assert whole_months(date(2011, 1, 15), date(2011, 3, 14)) == 2
    assert whole_months(date(2011, 1, 15), date(2011, 3, 13)) == 1


def test_the_burn_rate_mid_grant() -> None:
    start, end = date(2011, 1, 1), date(2012, 12, 31)
    # 1 Jan to 14 Jul 2011: six whole months; 3,000.00 a month; 10,000.00 lasts 3.3.
    rate = burn_rate(start, end, Decimal("18000.00"), Decimal("10000.00"), date(2011, 7, 14))
    assert rate.months_elapsed == 6
    assert rate.spent_per_month == Decimal("3000.00")
    assert rate.months_of_balance_left == Decimal("3.3")
    # Before the start: at least one month; an overdrawn balance lasts no months.
    early = burn_rate(start, end, Decimal("100.00"), Decimal("-50.00"), date(2010, 12, 1))
    assert early.months_elapsed == 1
    assert early.months_of_balance_left == Decimal("0.0")
    # 0.01 over two years is 0.00 a month: no rate to divide by.
    slow = burn_rate(start, end, Decimal("0.01"), Decimal("5.00"), date(2013, 1, 1))
    assert slow.spent_per_month == Decimal("0.00")
    assert slow.months_of_balance_left is None


async def test_finances_of_grants_sums_a_period_for_a_donor_report(
    grants: httpx.AsyncClient,
    grants_app: FastAPI,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
) -> None:
    people, grant_id = await new_grant(superuser, caller, awarded=Decimal("50000.00"))
    await money_on(grants, people, grant_id)
    # A second grant of the same donor, in euros too, and one in another currency.
    second_id = await insert_grant(
        superuser, people, awarded=Decimal("8000.00"), cofunded=Decimal(0)
    )
    await created(
        grants, people.manager, second_id, "disbursements", disbursement("500", "2011-12-31")
    )
    await created(
        grants,
        people.recipient,
        second_id,
        "expenditures",
        expenditure("99.99", "2011-11-01", "2012-01-31"),
    )
    denars = await insert_grant(superuser, people, currency="MKD", cofunded=Decimal(0))

    async with grants_app.state.database.sessionmaker() as session:
        await bind_tenant(session, people.manager.org_id)
        both = [await session.get_one(Grant, grant_id), await session.get_one(Grant, second_id)]
        year = await finances_of_grants(session, both, date(2011, 1, 1), date(2011, 12, 31))
        with pytest.raises(ValueError, match="several currencies"):
            await finances_of_grants(
                session,
                [*both, await session.get_one(Grant, denars)],
                date(2011, 1, 1),
                date(2011, 12, 31),
            )
        nothing = await finances_of_grants(session, [], date(2011, 1, 1), date(2011, 12, 31))

    assert year.currency == "EUR"
    assert year.grants == 2
    assert year.awarded == Decimal("58000.00")
    # 20,000.00 + 16,260.16 (both disbursed on 2011 days) + 500.00
    assert year.disbursed == Decimal("36760.16")
    # The 99.99 ends in 2012: another period's.
    assert year.spent == Decimal("27000.75")
    assert {c.category: (c.budgeted, c.spent) for c in year.by_category} == {
        "services": (Decimal("25000.00"), Decimal("20000.50")),
        "staff": (Decimal("15000.00"), Decimal("7000.25")),
        "office_and_running_costs": (Decimal("7000.00"), Decimal("0.00")),
        "other": (Decimal("3000.00"), Decimal("0.00")),
    }
    assert nothing.currency is None
    assert nothing.awarded == nothing.disbursed == nothing.spent == Decimal("0.00")


# Underneath


async def test_row_level_security_hides_a_grants_money_from_other_organisations(
    grants: httpx.AsyncClient,
    caller: CallerFactory,
    superuser: asyncpg.Connection,
    runtime: asyncpg.Connection,
) -> None:
    people, grant_id = await new_grant(superuser, caller)
    await money_on(grants, people, grant_id)
    everything = {"tranche": 3, "disbursement": 2, "budget_line": 4, "expenditure": 3}
    for party in (people.manager, people.cofunder, people.recipient):
        assert await visible_counts(runtime, party.org_id, grant_id) == everything
    nothing = dict.fromkeys(everything, 0)
    for outsider in (people.other_donor, people.other_ngo):
        assert await visible_counts(runtime, outsider.org_id, grant_id) == nothing
    assert await visible_counts(runtime, uuid.uuid4(), grant_id) == nothing
