"""A referral's life replayed by the lifecycle's own rules, for the demo.

Each step goes through `lifecycle.check` and sets what `transitions.take_step`
sets (when the referral was seen, decided, accepted, first contacted, and the
clocks), so every timeline the seed writes is one the API could have written. A
deadline missed before now becomes the `escalated` event the deadline handler
would have recorded at that moment; one still ahead is returned, to be scheduled.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from referral_api.config import ReferralSettings
from referral_api.referrals import clocks
from referral_api.referrals.clocks import Clock
from referral_api.referrals.lifecycle import Action, check, target_of
from referral_api.referrals.transitions import DECISIONS, SEEN
from referral_api.referrals.vocabulary import TERMINAL_STATUSES, ReferralStatus

Row = dict[str, Any]


@dataclass(frozen=True)
class Actor:
    """Who takes a step: a staff member's subject and organisation; None for the service."""

    subject: str | None
    organisation_id: uuid.UUID | None


SERVICE = Actor(None, None)


class Walk:
    """One referral's row and timeline, moved step by step."""

    def __init__(
        self,
        row: Row,
        settings: ReferralSettings,
        now: datetime,
        new_id: Callable[[], uuid.UUID],
        *,
        recent: bool,
    ) -> None:
        self.row, self.settings, self.now, self.new_id = row, settings, now, new_id
        self.recent = recent
        self.events: list[Row] = []
        # The column keeps the latest decision; the decision clock asks about the first.
        self.first_decision: datetime | None = None

    @property
    def status(self) -> ReferralStatus:
        return ReferralStatus(self.row["status"])

    @property
    def last_moment(self) -> datetime:
        moment: datetime = self.events[-1]["created_at"]
        return moment

    def after(self, minutes: float) -> datetime:
        """`minutes` after the last event; a recent referral's steps all lie in the past."""
        moment = self.last_moment + timedelta(minutes=minutes)
        if self.recent and moment >= self.now:
            moment = self.last_moment + (self.now - self.last_moment) / 2
        return moment

    def _record(
        self, action: str, actor: Actor, from_status: str | None, at: datetime, reason: str | None
    ) -> None:
        self.events.append(
            {
                "id": self.new_id(),
                "referral_id": self.row["id"],
                "referrer_organisation_id": self.row["referrer_organisation_id"],
                "recipient_organisation_id": self.row["recipient_organisation_id"],
                "actor": actor.subject,
                "actor_organisation_id": actor.organisation_id,
                "action": action,
                "from_status": from_status,
                "to_status": self.row["status"],
                "business_status": self.row["business_status"],
                "reason_code": reason,
                "created_at": at,
            }
        )

    def _arm(self, at: datetime) -> None:
        priority = self.row["priority"]
        self.row["submitted_at"] = at
        self.row["acknowledge_due_at"] = clocks.acknowledge_deadline(self.settings, priority, at)
        self.row["decision_due_at"] = clocks.decision_deadline(self.settings, priority, at)

    def create(self, at: datetime, actor: Actor, *, draft: bool) -> None:
        """Saved as a draft, or submitted at once (`created` / `submitted`, as the API)."""
        self.row |= {"created_at": at, "updated_at": at, "version": 1}
        self.row["status"] = ReferralStatus.draft if draft else ReferralStatus.requested
        if not draft:
            self._arm(at)
        self._record("created" if draft else "submitted", actor, None, at, None)

    def take(self, action: Action, at: datetime, actor: Actor, reason: str | None = None) -> None:
        row = self.row
        accepted = row["accepted_at"] is not None
        step = check(action, self.status, row["business_status"], accepted=accepted)
        from_status = row["status"]
        if action is Action.submit:
            row["status"] = ReferralStatus.requested
            self._arm(at)
        else:
            row["status"] = target_of(step, reason)
            row["business_status"] = step.business_status
        if action in SEEN and row["acknowledged_at"] is None:
            row["acknowledged_at"] = at
        if action in DECISIONS:
            row["decided_at"] = at
            self.first_decision = self.first_decision or at
        if action is Action.accept:
            row["accepted_at"] = at
            row["first_contact_due_at"] = clocks.first_contact_deadline(self.settings, at)
        if action is Action.start and row["first_contact_at"] is None:
            row["first_contact_at"] = at
        row["version"] += 1
        row["updated_at"] = at
        self._record(action.value, actor, from_status, at, reason)

    def settle(self, action: str, status: ReferralStatus, business: str, at: datetime) -> None:
        """The service moves a forwarded parent when its child is accepted or declined."""
        from_status = self.row["status"]
        self.row |= {"status": status, "business_status": business, "updated_at": at}
        self.row["version"] += 1
        self._record(action, SERVICE, from_status, at, None)

    def _state_at(self, moment: datetime) -> Row:
        return [event for event in self.events if event["created_at"] <= moment][-1]

    def escalate(self) -> list[tuple[Clock, datetime]]:
        """Record each deadline missed before now; returns those still to come."""
        done = {
            Clock.acknowledge: self.row["acknowledged_at"],
            Clock.decision: self.first_decision,
            Clock.first_contact: self.row["first_contact_at"],
        }
        due = {
            Clock.acknowledge: self.row["acknowledge_due_at"],
            Clock.decision: self.row["decision_due_at"],
            Clock.first_contact: self.row["first_contact_due_at"],
        }
        ahead: list[tuple[Clock, datetime]] = []
        escalations: list[Row] = []
        for clock in Clock:
            moment = due[clock]
            if moment is None or (done[clock] is not None and done[clock] <= moment):
                continue
            state = self._state_at(moment)
            if state["to_status"] in TERMINAL_STATUSES:
                continue  # the handler finds it ended: nothing to escalate
            if moment > self.now:
                ahead.append((clock, moment))
                continue
            escalations.append(
                {
                    **state,
                    "id": self.new_id(),
                    "actor": None,
                    "actor_organisation_id": None,
                    "action": "escalated",
                    "from_status": state["to_status"],
                    "reason_code": clock.value,
                    "created_at": moment,
                }
            )
        self.events = sorted(self.events + escalations, key=lambda event: event["created_at"])
        return ahead
