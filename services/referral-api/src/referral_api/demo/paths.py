"""The ways a demo referral goes, as the steps each party takes, and how long each takes.

A path names the steps after creation (`action`, or `action:reason_code` to
fix the reason); a forward's child has steps of its own, and the parent may go
on once the child was declined. `Walk` checks every step against the lifecycle.
Late steps are as common as the clocks make them: a missed deadline escalates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from referral_api.referrals.lifecycle import Action
from referral_api.referrals.vocabulary import (
    CancelReason,
    FailReason,
    HoldReason,
    InformationNeeded,
    Priority,
    RejectReason,
)


@dataclass(frozen=True)
class Path:
    steps: tuple[str, ...] = ()
    # Saved as a draft first (then `submit` is a step, if it is ever sent).
    draft: bool = False
    # When `steps` end in a forward: the child referral's steps, and the parent's
    # own once its child was declined.
    child: tuple[str, ...] | None = None
    after: tuple[str, ...] = ()


WORKED = ("acknowledge", "accept", "start")
ANSWERED = ("acknowledge", "request-info", "provide-info")

PATHS: Mapping[str, Path] = {
    "draft": Path(draft=True),
    "draft-cancelled": Path(("cancel",), draft=True),
    "drafted": Path(("submit", *WORKED, "complete"), draft=True),
    "requested": Path(),
    "received": Path(("acknowledge",)),
    "awaiting": Path(("acknowledge", "request-info")),
    "answered": Path(ANSWERED),
    "accepted": Path(("acknowledge", "accept")),
    "in-progress": Path(WORKED),
    "paused": Path((*WORKED, "hold")),
    "completed": Path((*WORKED, "complete")),
    "completed-after-information": Path((*ANSWERED, "accept", "start", "complete")),
    "completed-after-pause": Path((*WORKED, "hold", "start", "complete")),
    "rejected": Path(("acknowledge", "reject")),
    "rejected-unseen": Path(("reject",)),
    "failed": Path((*WORKED, "fail")),
    "failed-before-contact": Path(("acknowledge", "accept", "fail")),
    "cancelled": Path(("cancel",)),
    "cancelled-awaiting": Path(("acknowledge", "request-info", "cancel")),
    "entered-in-error": Path(("cancel:entered_in_error",)),
    "forwarded": Path(("acknowledge", "forward"), child=()),
    "transferred": Path(("acknowledge", "forward"), child=(*WORKED, "complete")),
    "transferred-working": Path(("acknowledge", "forward"), child=WORKED),
    "forward-declined": Path(
        ("acknowledge", "forward"),
        child=("acknowledge", "reject"),
        after=("accept", "start", "complete"),
    ),
}

# The programme years: every referral ended long ago.
HISTORY_PATHS: Mapping[str, float] = {
    "completed": 46,
    "completed-after-information": 5,
    "completed-after-pause": 5,
    "drafted": 2,
    "rejected": 9,
    "rejected-unseen": 3,
    "failed": 8,
    "failed-before-contact": 2,
    "cancelled": 5,
    "cancelled-awaiting": 1,
    "entered-in-error": 2,
    "draft-cancelled": 1,
    "transferred": 8,
    "forward-declined": 3,
}
# The last weeks: every state of the lifecycle, open ones most.
RECENT_PLAN: tuple[tuple[str, int], ...] = (
    ("draft", 3),
    ("requested", 5),
    ("received", 4),
    ("awaiting", 3),
    ("answered", 2),
    ("forwarded", 2),
    ("accepted", 5),
    ("in-progress", 6),
    ("paused", 2),
    ("completed", 2),
    ("transferred-working", 2),
    ("rejected", 3),
    ("failed", 1),
    ("cancelled", 2),
    ("entered-in-error", 1),
)

DAY = 24 * 60
# Minutes after the previous step: (shortest, longest). The clocks' deadlines (from
# submission: acknowledge in 1 h, 4 h or 2 working days; decide in 4 h, 24 h or 5
# days; first contact 48 h after acceptance) fall near the end of each range, so
# about one step in ten comes late.
ACKNOWLEDGE = {
    Priority.immediate: (5, 68),
    Priority.urgent: (15, 265),
    Priority.routine: (60, 3_200),
}
DECIDE = {
    Priority.immediate: (20, 215),
    Priority.urgent: (60, 1_250),
    Priority.routine: (240, 5_600),
}
DELAYS: Mapping[str, tuple[float, float]] = {
    "submit": (10, 2 * DAY),
    "request-info": (30, DAY),
    "provide-info": (120, 3 * DAY),
    "start": (60, 3_150),
    "hold": (7 * DAY, 120 * DAY),
    "complete": (14 * DAY, 240 * DAY),
    "fail": (3 * DAY, 120 * DAY),
    "cancel": (30, 3 * DAY),
}
REASONS: Mapping[Action, Mapping[str, float]] = {
    Action.reject: {
        RejectReason.no_capacity: 35,
        RejectReason.outside_mandate: 15,
        RejectReason.not_eligible: 15,
        RejectReason.safety_concern: 8,
        RejectReason.person_declined: 15,
        RejectReason.duplicate: 7,
        RejectReason.other: 5,
    },
    Action.cancel: {
        CancelReason.person_declined: 30,
        CancelReason.person_unreachable: 20,
        CancelReason.referred_elsewhere: 20,
        CancelReason.no_longer_needed: 15,
        CancelReason.duplicate: 10,
        CancelReason.other: 5,
    },
    Action.hold: {
        HoldReason.awaiting_capacity: 25,
        HoldReason.person_unreachable: 20,
        HoldReason.safety_assessment: 15,
        HoldReason.medical_treatment: 20,
        HoldReason.legal_proceedings: 15,
        HoldReason.other: 5,
    },
    Action.fail: {
        FailReason.lost_contact: 40,
        FailReason.person_declined: 20,
        FailReason.person_left: 20,
        FailReason.safety_incident: 8,
        FailReason.returned_to_exploiter: 7,
        FailReason.other: 5,
    },
    Action.request_info: {
        InformationNeeded.consent_scope: 20,
        InformationNeeded.needs_assessment: 30,
        InformationNeeded.risk_assessment: 30,
        InformationNeeded.guardian: 10,
        InformationNeeded.handover: 10,
    },
}


def delay_range(action: str, priority: Priority) -> tuple[float, float]:
    if action == "acknowledge":
        return ACKNOWLEDGE[priority]
    if action in ("accept", "reject", "forward"):
        return DECIDE[priority]
    return DELAYS[action]
