"""docker-compose.yml, and the override of the `oidc` profile, are valid Compose files.

Checked against the Compose specification's own JSON schema, vendored unchanged in
`deploy/schemas/` (CI has only the repository, and no network).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, FormatChecker

from baton.testing import REPOSITORY_ROOT

SCHEMA_FILE = REPOSITORY_ROOT / "deploy/schemas/compose-spec.json"
COMPOSE_FILES = ("docker-compose.yml", "deploy/keycloak/compose.oidc.yaml")
# Formats the validator really checks. Compose's schema used custom ones in the past
# (`duration`, `ports`): jsonschema lets an unknown format pass without a word.
CHECKED_FORMATS = FormatChecker()


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return schema


def _formats(node: Any) -> Iterator[str]:
    """Every `format` keyword (a property *named* format has an object, not a string)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "format" and isinstance(value, str):
                yield value
            else:
                yield from _formats(value)
    elif isinstance(node, list):
        for item in node:
            yield from _formats(item)


def _validator() -> Draft7Validator:
    # Its `$schema` is https://json-schema.org/draft-07/schema, a spelling jsonschema
    # does not map to a draft: name the draft rather than let it guess.
    schema = _schema()
    assert "draft-07" in schema["$schema"]
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, format_checker=CHECKED_FORMATS)


def _errors(document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in _validator().iter_errors(document)
    ]


def test_the_vendored_schema_is_attributed() -> None:
    readme = (SCHEMA_FILE.parent / "README.md").read_text()
    assert "compose-spec/compose-spec" in readme
    assert "Apache-2.0" in readme


def test_every_format_the_schema_uses_is_checked() -> None:
    unchecked = set(_formats(_schema())) - set(CHECKED_FORMATS.checkers)
    assert unchecked == set(), "add a checker for these formats, or they pass unchecked"


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_the_compose_file_is_valid(name: str) -> None:
    document = yaml.safe_load((REPOSITORY_ROOT / name).read_text())
    assert _errors(document) == []


@pytest.mark.parametrize(
    ("mistake", "path"),
    [
        ({"services": {"api": {"depends_on": {"db": {"condition": "healthy"}}}}}, "depends_on"),
        ({"services": {"api": {"imag": "postgres:18"}}}, "api"),
        ({"services": {"api": {"image": "x"}}, "secrets": {"s": {"path": "x"}}}, "secrets"),
    ],
    ids=["unknown-condition", "misspelt-key", "secret-without-source"],
)
def test_the_schema_catches_mistakes(mistake: dict[str, Any], path: str) -> None:
    """The validator is live: a broken file does not pass (nor does a misspelt key)."""
    errors = _errors(mistake)
    assert errors, mistake
    assert any(path in error for error in errors), errors
