"""Schema fuzzing: every service's published OpenAPI document against what it answers.

Schemathesis generates requests from each service's own document, as every demo
persona, through the real gateway, both valid requests and ones that break the
document. Whatever comes back must be no 5xx, a status the operation documents,
and a body that matches the schema documented for that status.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from baton.stack.personas import PersonaTokens
from baton.stack.runner import Stack
from baton.stack.services import SERVICES
from matrix_world import ANONYMOUS
from matrix_world import PERSONAS as MATRIX_PERSONAS

pytestmark = pytest.mark.e2e

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Every role once (another NGO's caseworker is the caseworker role again).
PERSONAS = [
    persona for persona in MATRIX_PERSONAS if persona not in {ANONYMOUS, "other-ngo-caseworker"}
]
# Per operation, persona and mode: enough to reach validation, refusal and not-found
# paths everywhere, within the suite's time budget.
EXAMPLES = 3


def _fuzz(operation: Any, mode: GenerationMode, base_url: str, headers: dict[str, str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

    call()


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("route", [spec.route for spec in SERVICES])
def test_every_answer_is_one_the_document_promises(
    stack: Stack, tokens: PersonaTokens, route: str, persona: str
) -> None:
    base_url = f"{stack.gateway_url}/{route}"
    document = httpx.get(f"{base_url}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    headers = {"authorization": f"Bearer {tokens(persona)}"}
    failures: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself must be valid
        operation = result.ok()
        has_input = bool(operation.definition.raw.get("parameters")) or operation.body
        # A request without parameters or body has nothing to break.
        for mode in GenerationMode if has_input else [GenerationMode.POSITIVE]:
            try:
                _fuzz(operation, mode, base_url, headers)
            except Exception as failure:  # every operation is tried; all failures reported
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert not failures, "\n\n".join(failures)
