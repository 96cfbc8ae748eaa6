"""The referral's state machine: which party may take which step from which status.

FHIR Task statuses, with `on-hold` meaning two things: before acceptance (the
recipient asked for information, or forwarded the referral and waits) and after
it (the work paused). `accepted` tells them apart. Pure rules, no I/O.

A request for information puts the referral `on-hold` (`awaiting-information`);
the referrer's answer (`provide-info`) takes it to `received`
(`information-provided`): in FHIR Task terms the performer has it again and is
evaluating whether to take it on, so it can accept, reject, forward, or ask again.
Not `requested`: the referral was seen already, and its acknowledgement clock stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from referral_api.referrals.exceptions import InvalidTransition
from referral_api.referrals.vocabulary import BusinessStatus, CancelReason, ReferralStatus

S = ReferralStatus


class Action(StrEnum):
    submit = "submit"
    acknowledge = "acknowledge"
    accept = "accept"
    reject = "reject"
    request_info = "request-info"
    start = "start"
    hold = "hold"
    complete = "complete"
    fail = "fail"
    cancel = "cancel"
    forward = "forward"
    provide_info = "provide-info"


class Party(StrEnum):
    referrer = "referrer"
    recipient = "recipient"


class Phase(StrEnum):
    """Which side of acceptance a step belongs to (decides what `on-hold` allows)."""

    before = "before"
    after = "after"


@dataclass(frozen=True)
class Step:
    party: Party
    sources: frozenset[ReferralStatus]
    target: ReferralStatus
    phase: Phase
    business_status: BusinessStatus | None = None
    # The business status the source must carry, when the status alone does not say.
    awaiting: BusinessStatus | None = None


def _step(
    party: Party,
    sources: set[ReferralStatus],
    target: ReferralStatus,
    phase: Phase,
    business_status: BusinessStatus | None = None,
    awaiting: BusinessStatus | None = None,
) -> Step:
    return Step(party, frozenset(sources), target, phase, business_status, awaiting)


_DECIDABLE = {S.requested, S.received, S.on_hold}
_WORKED = {S.accepted, S.in_progress, S.on_hold}

STEPS: Mapping[Action, Step] = {
    Action.submit: _step(Party.referrer, {S.draft}, S.requested, Phase.before),
    Action.cancel: _step(
        Party.referrer, {S.draft, S.requested, S.received, S.on_hold}, S.cancelled, Phase.before
    ),
    Action.acknowledge: _step(Party.recipient, {S.requested}, S.received, Phase.before),
    Action.accept: _step(Party.recipient, _DECIDABLE, S.accepted, Phase.before),
    Action.reject: _step(Party.recipient, _DECIDABLE, S.rejected, Phase.before),
    Action.forward: _step(
        Party.recipient, _DECIDABLE, S.on_hold, Phase.before, BusinessStatus.forwarded
    ),
    Action.request_info: _step(
        Party.recipient,
        {S.requested, S.received},
        S.on_hold,
        Phase.before,
        BusinessStatus.awaiting_information,
    ),
    Action.provide_info: _step(
        Party.referrer,
        {S.on_hold},
        S.received,
        Phase.before,
        BusinessStatus.information_provided,
        awaiting=BusinessStatus.awaiting_information,
    ),
    Action.start: _step(Party.recipient, {S.accepted, S.on_hold}, S.in_progress, Phase.after),
    Action.hold: _step(
        Party.recipient, {S.received, S.accepted, S.in_progress}, S.on_hold, Phase.after
    ),
    Action.complete: _step(Party.recipient, {S.in_progress}, S.completed, Phase.after),
    Action.fail: _step(Party.recipient, _WORKED, S.failed, Phase.after),
}


def _allowed_from(
    step: Step, status: ReferralStatus, business_status: str | None, accepted: bool
) -> bool:
    if status not in step.sources:
        return False
    if step.awaiting is not None and business_status != step.awaiting:
        return False
    if status != S.on_hold:
        return True
    # A hold before acceptance can only be decided; one after it only worked on.
    return accepted == (step.phase is Phase.after)


def check(
    action: Action, status: ReferralStatus, business_status: str | None, *, accepted: bool
) -> Step:
    """The step `action` takes from `status`; 409 naming the current status otherwise."""
    step = STEPS[action]
    # A forwarded referral waits for the provider it went to: nobody moves it meanwhile.
    waiting = business_status == BusinessStatus.forwarded
    if waiting or not _allowed_from(step, status, business_status, accepted):
        current = f"`{status}`" + (f" ({business_status})" if business_status else "")
        awaiting = f" ({step.awaiting})" if step.awaiting else ""
        sources = ", ".join(f"`{source}`{awaiting}" for source in sorted(step.sources))
        raise InvalidTransition(
            f"The referral is {current}; `{action}` is possible from {sources} only"
            + (", and not while a forwarded referral is pending." if waiting else ".")
        )
    return step


def target_of(step: Step, reason_code: str | None) -> ReferralStatus:
    """Where the step leads; a cancellation as entered in error ends `entered-in-error`."""
    if step.target == S.cancelled and reason_code == CancelReason.entered_in_error:
        return S.entered_in_error
    return step.target
