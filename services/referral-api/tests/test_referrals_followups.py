"""The referrer's changes: answering a request for information, and editing a draft."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx

from baton.testing_issuer import CallerFactory
from referral_api.referrals.envelope import Envelope, EnvelopeUpdate
from referral_factories import (
    PLANTED,
    PLANTED_FAMILY,
    PLANTED_RISK,
    REFERRALS,
    Parties,
    awaiting_information,
    consent,
    edit,
    etag,
    packet,
    parties,
    step,
    submit,
)

# A risk summary the referrer adds in its answer: it must reach nobody but the recipient.
NEW_RISK = "Exploiter released on bail last week"
LATER = "2026-11-22T08:30:00Z"


def _leaks(text: str) -> list[str]:
    return [value for value in (*PLANTED, PLANTED_RISK, NEW_RISK) if value in text]


async def _provide(
    referrals: httpx.AsyncClient,
    people: Parties,
    referral_id: str,
    body: dict[str, Any],
    **headers: str,
) -> httpx.Response:
    return await step(referrals, people.referrer, referral_id, "provide-info", body, **headers)


async def _read(referrals: httpx.AsyncClient, who: Any, referral_id: str) -> dict[str, Any]:
    response = await referrals.get(f"{REFERRALS}/{referral_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    read: dict[str, Any] = response.json()
    return read


def test_an_update_names_every_envelope_field() -> None:
    assert set(EnvelopeUpdate.model_fields) == set(Envelope.model_fields)


async def test_the_referrers_answer_goes_back_to_the_recipient_to_decide(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    asked = await awaiting_information(referrals, people, consent=consent(["identity"]))
    rid = asked["id"]
    assert (asked["status"], asked["business_status"]) == ("on-hold", "awaiting-information")
    sealed_before = await superuser.fetchval(
        "SELECT wrapped_key FROM referral_packet WHERE referral_id = $1", uuid.UUID(rid)
    )
    answer = {
        "requested_services": ["legal", "medical"],
        "handover": None,
        "safety": {"immediate_danger": True, "do_not_contact_via": ["workplace", "family"]},
        # The person agreed again, to more: a new record, after the first.
        "consent": consent(["identity", "risk"], recorded_at=LATER),
        "packet": {**packet(), "risk_summary": NEW_RISK},
    }
    response = await _provide(referrals, people, rid, answer)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"3"'
    read = response.json()
    assert (read["status"], read["business_status"]) == ("received", "information-provided")
    assert _leaks(response.text) == []

    # The recipient's next read shows the new envelope, and still no identity.
    seen = await _read(referrals, people.caseworker, rid)
    assert seen["requested_services"] == ["legal", "medical"]
    assert seen["handover"] is None
    assert seen["safety"] == answer["safety"]
    assert seen["consent"]["scope"] == ["identity", "risk"]
    assert (seen["status"], seen["packet_state"]) == ("received", "sealed")
    assert _leaks(json.dumps(seen)) == []

    timeline = await referrals.get(f"{REFERRALS}/{rid}/timeline", headers=people.manager.headers)
    last = timeline.json()["items"][-1]
    assert (last["action"], last["from_status"], last["to_status"]) == (
        "provide-info",
        "on-hold",
        "received",
    )
    assert (last["actor"], last["business_status"]) == (
        people.referrer.subject,
        "information-provided",
    )
    rows = await superuser.fetch(
        "SELECT payload FROM outbox_message WHERE topic = 'referral.event' "
        "AND payload->>'referral_id' = $1 ORDER BY created_at",
        rid,
    )
    event = json.loads(rows[-1]["payload"])
    assert len(rows) == 3
    assert (event["event_type"], event["business_status"]) == (
        "referral.received",
        "information-provided",
    )
    assert _leaks(str([row["payload"] for row in rows])) == []

    # Re-sealed under a new key; the referrer's own update disclosed nothing.
    sealed_after = await superuser.fetchrow(
        "SELECT wrapped_key, ciphertext FROM referral_packet WHERE referral_id = $1",
        uuid.UUID(rid),
    )
    assert sealed_after is not None
    assert sealed_after["wrapped_key"] != sealed_before
    assert NEW_RISK.encode() not in sealed_after["ciphertext"]
    disclosed = await superuser.fetchval(
        "SELECT count(*) FROM packet_disclosure WHERE referral_id = $1", uuid.UUID(rid)
    )
    assert disclosed == 0

    # The recipient decides again; the packet it then receives is the new one, in scope.
    accepted = await step(referrals, people.manager, rid, "accept")
    assert accepted.status_code == 200, accepted.text
    released = await referrals.get(f"{REFERRALS}/{rid}/packet", headers=people.manager.headers)
    assert released.status_code == 200, released.text
    assert released.json()["field_groups"] == ["identity", "risk"]
    assert released.json()["packet"]["risk_summary"] == NEW_RISK
    assert released.json()["packet"]["identity"]["family_names"] == PLANTED_FAMILY
    assert released.json()["packet"]["needs_summary"] is None
    disclosures = await referrals.get(
        f"{REFERRALS}/{rid}/disclosures", headers=people.referrer.headers
    )
    assert [d["subject"] for d in disclosures.json()["items"]] == [people.manager.subject]


async def test_the_recipient_may_ask_again_after_an_answer(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    asked = await awaiting_information(referrals, people)
    first = await _provide(referrals, people, asked["id"], {"interpreter_needed": False})
    assert first.status_code == 200, first.text
    # The status first: an answer that could not be taken now is 409 whatever it holds.
    again = await _provide(referrals, people, asked["id"], {"consent": None})
    assert again.status_code == 409
    assert "`received` (information-provided)" in again.json()["detail"]
    assert "`on-hold` (awaiting-information)" in again.json()["detail"]
    asked_again = await step(
        referrals, people.caseworker, asked["id"], "request-info", {"reason_code": "guardian"}
    )
    assert asked_again.json()["business_status"] == "awaiting-information"
    second = await _provide(referrals, people, asked["id"], {})
    assert second.json()["business_status"] == "information-provided"


async def test_an_answer_is_the_referrers_only(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    asked = await awaiting_information(referrals, people)
    rid, version = asked["id"], '"2"'
    body = {"packet": packet()}
    by_manager = await step(referrals, people.manager, rid, "provide-info", body, version=version)
    assert (by_manager.status_code, by_manager.json()["code"]) == (403, "referral-wrong-party")
    by_worker = await step(referrals, people.caseworker, rid, "provide-info", body, version=version)
    assert (by_worker.status_code, by_worker.json()["code"]) == (403, "forbidden")
    stranger = caller("government", ["referrer"])
    hidden = await step(referrals, stranger, rid, "provide-info", body, version=version)
    assert hidden.status_code == 404
    for refused in (by_manager, by_worker, hidden):
        assert _leaks(refused.text) == []
    assert await etag(referrals, people.referrer, rid) == version


async def test_an_answer_needs_the_version_it_was_based_on(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    asked = await awaiting_information(referrals, people)
    path = f"{REFERRALS}/{asked['id']}/provide-info"
    missing = await referrals.post(path, json={}, headers=people.referrer.headers)
    assert missing.status_code == 428
    stale = await referrals.post(
        path, json={}, headers=people.referrer.with_headers(if_match='"1"')
    )
    assert stale.status_code == 412
    assert stale.headers["etag"] == '"2"'


async def test_widening_the_consent_needs_a_new_record(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    asked = await awaiting_information(referrals, people, consent=consent(["needs"]))
    rid = asked["id"]
    for widened in (
        consent(["needs", "identity"]),
        consent(["needs"], cross_border_consent=True),
        consent(["needs"], basis="vital_interest"),
        consent(["needs", "identity"], recorded_at="2026-11-19T10:00:00Z"),
    ):
        refused = await _provide(referrals, people, rid, {"consent": widened, "packet": packet()})
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "consent-record-required"
        assert _leaks(refused.text) == []
    assert await etag(referrals, people.referrer, rid) == '"2"'
    # Narrowing the record on file is the person's right: no new record needed.
    narrowed = await _provide(referrals, people, rid, {"consent": consent([])})
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["consent"]["scope"] == []


async def test_an_answer_keeps_to_the_rules_of_a_submission(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    asked = await awaiting_information(referrals, people)
    rid = asked["id"]
    cross_border = {"origin_country": "MK", "destination_country": "AL"}
    cases: tuple[tuple[dict[str, Any], str], ...] = (
        ({"consent": None}, "consent-required"),
        ({"cross_border": cross_border}, "cross-border-consent-required"),
        ({"is_child": True}, "guardian-required"),
        # Against the packet on file: its safe contact is by phone.
        ({"safety": {"do_not_contact_via": ["phone"]}}, "contact-channel-unsafe"),
        # Urgent without a reason is no envelope at all.
        ({"urgency_reason": None}, "envelope-invalid"),
    )
    for body, code in cases:
        refused = await _provide(referrals, people, rid, body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == code
        assert _leaks(refused.text) == []
    assert "`urgency_reason`" in refused.json()["detail"]
    unchanged = await _read(referrals, people.referrer, rid)
    assert (unchanged["version"], unchanged["status"], unchanged["is_child"]) == (
        2,
        "on-hold",
        False,
    )


async def test_an_answer_retried_with_its_idempotency_key_is_taken_once(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    asked = await awaiting_information(referrals, people)
    key = f"answer-{uuid.uuid4()}"
    body = {"requested_services": ["legal"]}
    first = await _provide(referrals, people, asked["id"], body, idempotency_key=key)
    again = await step(
        referrals,
        people.referrer,
        asked["id"],
        "provide-info",
        body,
        version='"2"',
        idempotency_key=key,
    )
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    timeline = await referrals.get(
        f"{REFERRALS}/{asked['id']}/timeline", headers=people.referrer.headers
    )
    assert [e["action"] for e in timeline.json()["items"]] == [
        "submitted",
        "request-info",
        "provide-info",
    ]


async def test_a_draft_is_edited_freely_and_checked_at_submission(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    draft = await submit(
        referrals, people.referrer, people.recipient, status="draft", consent=None, packet=None
    )
    rid = draft["id"]
    assert draft["packet_state"] == "none"
    # A child without a guardian yet, and a wider consent with no new record: a draft may.
    changed = await edit(
        referrals,
        people.referrer,
        rid,
        {
            "is_child": True,
            "priority": None,  # null keeps what cannot be empty
            "reflection_period": None,  # and clears what can
            "consent": consent(["identity"]),
            "packet": packet(),
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    body = changed.json()
    assert (body["status"], body["is_child"], body["priority"]) == ("draft", True, "urgent")
    assert (body["reflection_period"], body["packet_state"]) == (None, "sealed")
    assert _leaks(changed.text) == []
    mine = await referrals.get(f"{REFERRALS}/{rid}/packet", headers=people.referrer.headers)
    assert mine.json()["packet"]["identity"]["family_names"] == PLANTED_FAMILY

    refused = await step(referrals, people.referrer, rid, "submit")
    assert (refused.status_code, refused.json()["code"]) == (422, "guardian-required")
    guarded = await edit(
        referrals, people.referrer, rid, {"guardian": {"recorded": True, "type": "parent"}}
    )
    assert guarded.status_code == 200, guarded.text
    sent = await step(referrals, people.referrer, rid, "submit")
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "requested"

    # Once sent, a draft's edit is 409 naming the status; the timeline kept each edit.
    late = await edit(referrals, people.referrer, rid, {"is_child": False})
    assert late.status_code == 409
    assert "`requested`" in late.json()["detail"]
    timeline = await referrals.get(f"{REFERRALS}/{rid}/timeline", headers=people.manager.headers)
    assert [e["action"] for e in timeline.json()["items"]] == [
        "created",
        "edited",
        "edited",
        "submit",
    ]
    # The recipient heard of the draft only once it was sent: no event of its edits.
    events = await superuser.fetch(
        "SELECT payload->>'event_type' AS type FROM outbox_message "
        "WHERE topic = 'referral.event' AND payload->>'referral_id' = $1",
        rid,
    )
    assert [row["type"] for row in events] == ["referral.requested"]


async def test_a_drafts_packet_is_replaced_or_removed(
    referrals: httpx.AsyncClient, caller: CallerFactory, superuser: asyncpg.Connection
) -> None:
    people = parties(caller)
    draft = await submit(referrals, people.referrer, people.recipient, status="draft")
    rid = draft["id"]
    before = await superuser.fetchval(
        "SELECT wrapped_key FROM referral_packet WHERE referral_id = $1", uuid.UUID(rid)
    )
    replaced = await edit(referrals, people.referrer, rid, {"packet": {"risk_summary": NEW_RISK}})
    assert replaced.status_code == 200, replaced.text
    mine = await referrals.get(f"{REFERRALS}/{rid}/packet", headers=people.referrer.headers)
    assert mine.json()["packet"] == {
        "identity": None,
        "safe_contact": None,
        "needs_summary": None,
        "risk_summary": NEW_RISK,
    }
    after = await superuser.fetchval(
        "SELECT wrapped_key FROM referral_packet WHERE referral_id = $1", uuid.UUID(rid)
    )
    assert after != before

    removed = await edit(referrals, people.referrer, rid, {"packet": None})
    assert removed.json()["packet_state"] == "none"
    gone = await referrals.get(f"{REFERRALS}/{rid}/packet", headers=people.referrer.headers)
    assert gone.json()["code"] == "packet-not-recorded"
    rows = await superuser.fetchval(
        "SELECT count(*) FROM referral_packet WHERE referral_id = $1", uuid.UUID(rid)
    )
    assert rows == 0


async def test_a_draft_is_edited_by_its_referrer_only_and_from_its_version(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    draft = await submit(referrals, people.referrer, people.recipient, status="draft")
    rid, body = draft["id"], {"packet": packet(), "language": "mk"}
    # The recipient does not see a draft at all.
    unseen = await edit(referrals, people.manager, rid, body, version='"1"')
    assert unseen.status_code == 404
    worker = await edit(referrals, people.caseworker, rid, body, version='"1"')
    assert (worker.status_code, worker.json()["code"]) == (403, "forbidden")
    stranger = await edit(referrals, caller("government", ["referrer"]), rid, body, version='"1"')
    assert stranger.status_code == 404
    missing = await referrals.patch(
        f"{REFERRALS}/{rid}", json=body, headers=people.referrer.headers
    )
    assert missing.status_code == 428
    stale = await edit(referrals, people.referrer, rid, body, version='"5"')
    assert (stale.status_code, stale.headers["etag"]) == (412, '"1"')
    for refused in (unseen, worker, stranger, missing, stale):
        assert _leaks(refused.text) == []

    # A sent referral's recipient sees it, and is told it is not theirs to edit.
    sent = await submit(referrals, people.referrer, people.recipient)
    theirs = await edit(referrals, people.manager, sent["id"], body)
    assert (theirs.status_code, theirs.json()["code"]) == (403, "referral-wrong-party")


async def test_a_refused_edit_echoes_nothing(
    referrals: httpx.AsyncClient, caller: CallerFactory
) -> None:
    people = parties(caller)
    draft = await submit(referrals, people.referrer, people.recipient, status="draft")
    rid = draft["id"]
    refusals = (
        # An unknown field, holding a name.
        {"person_name": PLANTED_FAMILY},
        # A packet whose parts are malformed.
        {"packet": {"identity": {"given_names": PLANTED_FAMILY, "nickname": PLANTED_RISK}}},
        # A language that is no ISO 639 code.
        {"language": PLANTED_FAMILY},
        # An envelope that would no longer hold together.
        {"urgency_reason": None},
    )
    for body in refusals:
        refused = await edit(referrals, people.referrer, rid, body, version='"1"')
        assert refused.status_code == 422, refused.text
        assert _leaks(refused.text) == []
    assert refused.json()["code"] == "envelope-invalid"
    assert await etag(referrals, people.referrer, rid) == '"1"'


async def test_each_step_documents_every_problem_it_may_return(
    referrals: httpx.AsyncClient,
) -> None:
    document = (await referrals.get("/openapi.json")).json()
    step_path = f"{REFERRALS}/{{referral_id}}"

    def codes(path: str, method: str, status: str) -> str:
        described: str = document["paths"][path][method]["responses"][status]["description"]
        return described

    # Several problems share a status: each is listed, none displaces another.
    for leaf, status, expected in (
        ("/provide-info", "422", ("idempotency-key-reused", "consent-record-required")),
        ("/provide-info", "409", ("referral-invalid-transition", "idempotency-key-in-progress")),
        ("/submit", "409", ("referral-invalid-transition", "recipient-not-accepting")),
        ("/submit", "422", ("consent-required", "idempotency-key-reused")),
        ("/forward", "409", ("referral-invalid-transition", "recipient-not-accepting")),
        ("/forward", "422", ("recipient-invalid", "idempotency-key-reused")),
    ):
        described = codes(f"{step_path}{leaf}", "post", status)
        assert all(f"`{code}`" in described for code in expected), (leaf, described)
    edited = codes(step_path, "patch", "409")
    assert "`referral-invalid-transition`" in edited
