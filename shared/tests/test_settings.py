"""Settings come from prefixed variables, or from secret files."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from baton.settings import SECRETS_DIR_VARIABLE, load_settings
from cases_api.config import CasesSettings
from grants_api.config import GrantsSettings


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASES_DATABASE_URL", "postgresql+asyncpg://cases@h/cases")
    monkeypatch.setenv("GRANTS_DATABASE_URL", "postgresql+asyncpg://grants@h/grants")
    assert load_settings(CasesSettings).database_url.get_secret_value().endswith("/cases")
    assert load_settings(GrantsSettings).database_url.get_secret_value().endswith("/grants")
    assert load_settings(CasesSettings).root_path == "/cases"


def test_a_secret_may_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CASES_DATABASE_URL", raising=False)
    (tmp_path / "cases_database_url").write_text("postgresql+asyncpg://from-file@h/cases\n")
    monkeypatch.setenv(SECRETS_DIR_VARIABLE, str(tmp_path))
    settings = load_settings(CasesSettings)
    assert settings.database_url.get_secret_value() == "postgresql+asyncpg://from-file@h/cases"
    assert settings.migrations_url == settings.database_url.get_secret_value()


def test_secrets_never_show_in_a_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASES_DATABASE_URL", "postgresql+asyncpg://u:hunter2@h/cases")
    assert "hunter2" not in repr(load_settings(CasesSettings))


def test_a_missing_database_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CASES_DATABASE_URL", raising=False)
    monkeypatch.delenv(SECRETS_DIR_VARIABLE, raising=False)
    with pytest.raises(ValidationError, match="database_url"):
        load_settings(CasesSettings)


@pytest.mark.parametrize("environment", ["development", "production"])
def test_row_level_security_alone_is_refused_outside_tests(environment: str) -> None:
    url = "postgresql+asyncpg://cases@h/cases"
    with pytest.raises(ValidationError, match="test_row_level_security_alone"):
        CasesSettings(database_url=url, environment=environment, test_row_level_security_alone=True)
    switched = CasesSettings(
        database_url=url, environment="test", test_row_level_security_alone=True
    )
    assert switched.test_row_level_security_alone
