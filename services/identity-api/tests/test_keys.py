"""Signing keys: published before they sign, kept while their tokens live, withdrawn by deletion."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from identity_api.tokens.keys import KeyStore


def test_first_run_makes_one_key_that_signs_at_once(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys", "ES256", reload_seconds=0)
    keys.ensure_one()
    keys.ensure_one()
    assert len(list((tmp_path / "keys").glob("*.json"))) == 1
    assert oct((tmp_path / "keys").stat().st_mode & 0o777) == "0o700"
    key = keys.signing_key()
    assert oct((tmp_path / "keys" / f"{key.kid}.json").stat().st_mode & 0o777) == "0o600"
    assert [k.kid for k in keys.published(300, 30)] == [key.kid]


def test_a_new_key_is_published_before_it_signs(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path, "ES256", reload_seconds=0)
    keys.ensure_one()
    first = keys.signing_key()
    pending = keys.add(activation_delay_seconds=600)
    assert keys.signing_key().kid == first.kid
    assert {k.kid for k in keys.published(300, 30)} == {first.kid, pending.kid}


def test_a_replaced_key_stays_published_until_its_tokens_expire(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path, "ES256", reload_seconds=0)
    keys.ensure_one()
    first = keys.signing_key()
    second = keys.add(activation_delay_seconds=0)
    time.sleep(0.01)
    assert keys.signing_key().kid == second.kid
    assert {k.kid for k in keys.published(300, 30)} == {first.kid, second.kid}
    # Once longer ago than a token lives, the old key is gone and prune deletes it.
    assert {k.kid for k in keys.published(0, 0)} == {second.kid}
    assert keys.prune(0, 0) == [first.kid]
    assert not (tmp_path / f"{first.kid}.json").exists()


def test_deleting_a_key_file_withdraws_it(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path, "ES256", reload_seconds=0)
    keys.ensure_one()
    first = keys.signing_key()
    second = keys.add(activation_delay_seconds=0)
    (tmp_path / f"{first.kid}.json").unlink()
    assert [k.kid for k in keys.published(300, 30)] == [second.kid]


def test_withdrawing_a_key_removes_it_but_never_the_last_signer(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path, "ES256", reload_seconds=60)
    keys.ensure_one()
    first = keys.signing_key()
    with pytest.raises(ValueError, match="no other key"):
        keys.withdraw(first.kid)
    pending = keys.add(activation_delay_seconds=600)
    with pytest.raises(ValueError, match="no other key"):
        keys.withdraw(first.kid)  # the successor does not sign yet
    second = keys.add(activation_delay_seconds=0)
    keys.withdraw(first.kid)
    assert {k.kid for k in keys.published(300, 30)} == {second.kid, pending.kid}
    with pytest.raises(KeyError):
        keys.withdraw(first.kid)
