"""What goes over the wire for reporting: requirements, submissions, reviews, compliance.

A report describes work and results, never a person: its narrative is screened
for identifiers and its figures are aggregates (counts and amounts under
snake_case names), so no figure can carry a name or a story.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from grants_api.vocabulary import ReportKind, RequirementStatus

MAX_FIGURES = 50
FIGURE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# A non-negative decimal written as a string, so no client's floating point rounds it.
DECIMAL_FIGURE = re.compile(r"\d{1,15}(\.\d{1,6})?")
LARGEST_WHOLE_FIGURE = 10**15 - 1


def _checked_figures(figures: dict[str, Any]) -> dict[str, int | str]:
    # Messages name a figure by its position: a rejected name or value is never echoed.
    if len(figures) > MAX_FIGURES:
        raise ValueError(f"at most {MAX_FIGURES} figures")
    checked: dict[str, int | str] = {}
    for position, (name, value) in enumerate(figures.items(), start=1):
        if not FIGURE_NAME.fullmatch(name):
            raise ValueError(
                f"the name of figure {position} is not snake_case "
                "(a lower-case letter, then up to 63 lower-case letters, digits or _)"
            )
        whole = isinstance(value, int) and not isinstance(value, bool)
        if whole and 0 <= value <= LARGEST_WHOLE_FIGURE:
            checked[name] = value
        elif isinstance(value, str) and DECIMAL_FIGURE.fullmatch(value):
            checked[name] = value
        else:
            raise ValueError(
                f"figure {position} is not an aggregate: give a non-negative whole number "
                'or a decimal string such as "12.5" (no text, no list, no object)'
            )
    return checked


Figures = Annotated[
    dict[str, Any],
    AfterValidator(_checked_figures),
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_FIGURES,
            "propertyNames": {"pattern": f"^{FIGURE_NAME.pattern}$"},
            "additionalProperties": {
                "oneOf": [
                    {"type": "integer", "minimum": 0, "maximum": LARGEST_WHOLE_FIGURE},
                    {"type": "string", "pattern": f"^{DECIMAL_FIGURE.pattern}$"},
                ]
            },
            "description": 'Aggregate figures only, e.g. {"persons_assisted": 42}',
            "examples": [
                {"persons_assisted": 42, "shelter_nights": 1250, "cost_per_night": "18.5"}
            ],
        }
    ),
]
# Blank text is no text: surrounding white space is dropped before the lengths count.
Narrative = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class RequirementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReportKind
    due_on: date


class RequirementUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_on: date


class RequirementRead(BaseModel):
    id: uuid.UUID
    grant_id: uuid.UUID
    kind: ReportKind
    due_on: date
    status: RequirementStatus = Field(
        description="`overdue` when due or sent back for revision and past `due_on` (UTC)"
    )
    submitted_late: bool = Field(description="The first report came after `due_on`")
    submitted_at: datetime | None = Field(description="When the latest report came")
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_comment: str | None = Field(description="The latest review's comment")
    version: int
    created_at: datetime


class SubmissionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period_start: date
    period_end: date
    narrative: Narrative = Field(
        description="The work and its results; refused if it seems to hold an identifier"
    )
    figures: Figures = Field(default_factory=dict)

    @model_validator(mode="after")
    def _period_runs_forward(self) -> Self:
        if self.period_end < self.period_start:
            raise ValueError("period_end comes on or after period_start")
        return self


class SubmissionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    requirement_id: uuid.UUID
    grant_id: uuid.UUID
    period_start: date
    period_end: date
    narrative: str
    figures: dict[str, int | str]
    submitted_by: str
    submitted_at: datetime


class AcceptRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Comment | None = None


class RevisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: Comment = Field(description="What the report lacks; required")


class ComplianceItem(BaseModel):
    requirement_id: uuid.UUID
    grant_id: uuid.UUID
    grant_identifier: str
    kind: ReportKind
    due_on: date
    status: RequirementStatus
    submitted_at: datetime | None = Field(description="When the latest report came")
    first_submitted_at: datetime | None = Field(description="When the first report came")
    submitted_late: bool = Field(description="The first report came after `due_on`")


class ReportingCompliance(BaseModel):
    """Where a set of grants stands with its reporting; the counts split `requirements`
    by shown status, except `submitted_late`, which counts across them."""

    requirements: int
    accepted: int
    submitted: int = Field(description="Awaiting the managing donor's review")
    due: int = Field(description="Not yet due")
    overdue: int
    revision_requested: int = Field(description="Sent back, and not yet past due")
    submitted_late: int
    items: list[ComplianceItem]
