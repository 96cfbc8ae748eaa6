"""Field encryption: AES-256-GCM blobs, envelope keys with rotation, blind index, names."""

from __future__ import annotations

import base64
import hashlib
import re
import stat
from pathlib import Path

import pytest

from baton.crypto import (
    BlindIndex,
    CryptoError,
    DecryptionFailed,
    MasterKeyRing,
    MasterKeyUnavailable,
    WrappedKey,
    associated_data_from,
    decrypt,
    encrypt,
    new_data_key,
    normalise_name,
)

AAD = associated_data_from("org-1", "beneficiary-1")
CONTEXT = b"beneficiary-1"


def _spellings(secret: bytes) -> list[str]:
    """Every way key bytes could plausibly leak into text."""
    return [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        base64.b64encode(secret).decode().rstrip("="),
        repr(secret),
        str(list(secret)),
    ]


def _assert_hidden(text: str, *secrets: bytes) -> None:
    for secret in secrets:
        for spelling in _spellings(secret):
            assert spelling not in text


def _flip(blob: bytes, bit: int) -> bytes:
    flipped = bytearray(blob)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def _ring(*key_ids: str, current: str | None = None) -> tuple[MasterKeyRing, dict[str, bytes]]:
    keys = {key_id: new_data_key() for key_id in key_ids}
    return MasterKeyRing(keys, current or key_ids[0]), keys


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# AES-256-GCM blobs


def test_a_blob_decrypts_to_its_plaintext() -> None:
    key = new_data_key()
    assert len(key) == 32
    blob = encrypt(key, b"Ardita Krasniqi", AAD)
    assert b"Ardita" not in blob
    assert decrypt(key, blob, AAD) == b"Ardita Krasniqi"


def test_a_blob_is_version_nonce_ciphertext_and_tag() -> None:
    blob = encrypt(new_data_key(), b"12345", AAD)
    assert blob[0] == 1
    assert len(blob) == 1 + 12 + 5 + 16


def test_the_same_plaintext_encrypts_differently_each_time() -> None:
    key = new_data_key()
    first, second = encrypt(key, b"same", AAD), encrypt(key, b"same", AAD)
    assert first != second
    assert first[1:13] != second[1:13]  # fresh nonce
    assert decrypt(key, first, AAD) == decrypt(key, second, AAD) == b"same"


def test_data_keys_are_random() -> None:
    assert len({new_data_key() for _ in range(20)}) == 20


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(associated_data_from("org-1", "beneficiary-2"), id="another-row"),
        pytest.param(associated_data_from("org-2", "beneficiary-1"), id="another-organisation"),
        pytest.param(b"", id="none"),
    ],
)
def test_a_blob_does_not_decrypt_with_other_associated_data(other: bytes) -> None:
    key = new_data_key()
    blob = encrypt(key, b"secret", AAD)
    with pytest.raises(DecryptionFailed):
        decrypt(key, blob, other)


def test_associated_data_parts_cannot_be_shifted() -> None:
    assert associated_data_from("org-1", "2") != associated_data_from("org-12", "")
    assert associated_data_from("ab", "c") != associated_data_from("a", "bc")
    assert associated_data_from("a") != associated_data_from("a", "")


def test_a_blob_does_not_decrypt_with_another_key() -> None:
    blob = encrypt(new_data_key(), b"secret", AAD)
    with pytest.raises(DecryptionFailed):
        decrypt(new_data_key(), blob, AAD)


def test_a_flipped_bit_anywhere_is_refused() -> None:
    key = new_data_key()
    blob = encrypt(key, b"Krasniqi", AAD)
    for bit in range(len(blob) * 8):
        with pytest.raises(DecryptionFailed):
            decrypt(key, _flip(blob, bit), AAD)


@pytest.mark.parametrize("length", [0, 1, 28])
def test_a_truncated_blob_is_refused(length: int) -> None:
    key = new_data_key()
    blob = encrypt(key, b"", AAD)
    assert len(blob) == 29
    with pytest.raises(DecryptionFailed):
        decrypt(key, blob[:length], AAD)


def test_decryption_failures_are_crypto_errors_without_key_bytes() -> None:
    key = new_data_key()
    with pytest.raises(CryptoError) as caught:
        decrypt(key, encrypt(new_data_key(), b"secret", AAD), AAD)
    assert isinstance(caught.value, DecryptionFailed)
    _assert_hidden(str(caught.value), key)


@pytest.mark.parametrize("length", [0, 16, 24, 31, 33])
def test_only_256_bit_keys_are_accepted(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt(bytes(length), b"secret", AAD)
    with pytest.raises(ValueError, match="32 bytes"):
        decrypt(bytes(length), bytes(40), AAD)


# Envelope: wrapping data keys under master keys


def test_a_wrapped_data_key_unwraps() -> None:
    ring, _ = _ring("mk-a")
    data_key = new_data_key()
    wrapped = ring.wrap(data_key, context=CONTEXT)
    assert wrapped.key_id == "mk-a"
    assert data_key not in wrapped.ciphertext
    assert ring.unwrap(wrapped, context=CONTEXT) == data_key


def test_the_current_key_wraps() -> None:
    ring, _ = _ring("mk-a", "mk-b", current="mk-b")
    assert ring.current_key_id == "mk-b"
    assert ring.key_ids == frozenset({"mk-a", "mk-b"})
    assert ring.wrap(new_data_key(), context=CONTEXT).key_id == "mk-b"


def test_a_wrapped_key_does_not_unwrap_with_another_context() -> None:
    ring, _ = _ring("mk-a")
    wrapped = ring.wrap(new_data_key(), context=b"beneficiary-1")
    with pytest.raises(DecryptionFailed):
        ring.unwrap(wrapped, context=b"beneficiary-2")


def test_a_wrapped_key_is_bound_to_its_key_id() -> None:
    # Relabelling the ciphertext with another key id of the ring is refused, even if
    # that key held the same bytes: the key id is in the associated data.
    shared_bytes = new_data_key()
    ring = MasterKeyRing({"mk-a": shared_bytes, "mk-b": shared_bytes}, "mk-a")
    wrapped = ring.wrap(new_data_key(), context=CONTEXT)
    relabelled = WrappedKey(key_id="mk-b", ciphertext=wrapped.ciphertext)
    with pytest.raises(DecryptionFailed):
        ring.unwrap(relabelled, context=CONTEXT)


def test_a_flipped_bit_in_a_wrapped_key_is_refused() -> None:
    ring, _ = _ring("mk-a")
    wrapped = ring.wrap(new_data_key(), context=CONTEXT)
    for bit in range(len(wrapped.ciphertext) * 8):
        tampered = WrappedKey(key_id="mk-a", ciphertext=_flip(wrapped.ciphertext, bit))
        with pytest.raises(DecryptionFailed):
            ring.unwrap(tampered, context=CONTEXT)


def test_an_unknown_key_id_is_unavailable() -> None:
    ring, _ = _ring("mk-a")
    wrapped = ring.wrap(new_data_key(), context=CONTEXT)
    other, _ = _ring("mk-b")
    with pytest.raises(MasterKeyUnavailable, match="mk-a"):
        other.unwrap(wrapped, context=CONTEXT)
    with pytest.raises(MasterKeyUnavailable):
        other.rewrap(wrapped, context=CONTEXT)


def test_an_empty_ring_is_unavailable() -> None:
    with pytest.raises(MasterKeyUnavailable):
        MasterKeyRing({}, "mk-a")


def test_the_current_key_must_be_in_the_ring() -> None:
    with pytest.raises(MasterKeyUnavailable, match="mk-b"):
        MasterKeyRing({"mk-a": new_data_key()}, "mk-b")


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_master_keys_must_be_32_bytes(length: int) -> None:
    bad = b"\xab" * length
    with pytest.raises(ValueError, match="mk-a") as caught:
        MasterKeyRing({"mk-a": bad}, "mk-a")
    if bad:
        _assert_hidden(str(caught.value), bad)


def test_only_32_byte_data_keys_are_wrapped() -> None:
    ring, _ = _ring("mk-a")
    with pytest.raises(ValueError, match="32 bytes"):
        ring.wrap(bytes(16), context=CONTEXT)


def test_the_ring_keeps_its_own_copy_of_the_keys() -> None:
    keys = {"mk-a": new_data_key()}
    ring = MasterKeyRing(keys, "mk-a")
    wrapped = ring.wrap(new_data_key(), context=CONTEXT)
    keys["mk-a"] = new_data_key()
    keys["mk-b"] = new_data_key()
    assert ring.key_ids == frozenset({"mk-a"})
    ring.unwrap(wrapped, context=CONTEXT)


def test_rewrapping_under_the_current_key_returns_the_same_object() -> None:
    ring, _ = _ring("mk-a")
    wrapped = ring.wrap(new_data_key(), context=CONTEXT)
    assert ring.rewrap(wrapped, context=CONTEXT) is wrapped


def test_rewrapping_checks_the_context_even_under_the_current_key() -> None:
    ring, _ = _ring("mk-a")
    wrapped = ring.wrap(new_data_key(), context=CONTEXT)
    with pytest.raises(DecryptionFailed):
        ring.rewrap(wrapped, context=b"beneficiary-2")


def test_rewrapping_keeps_the_context_binding() -> None:
    old, keys = _ring("mk-a")
    wrapped = old.wrap(new_data_key(), context=CONTEXT)
    new = MasterKeyRing({**keys, "mk-b": new_data_key()}, "mk-b")
    moved = new.rewrap(wrapped, context=CONTEXT)
    assert moved.key_id == "mk-b"
    with pytest.raises(DecryptionFailed):
        new.unwrap(moved, context=b"beneficiary-2")


# Master keys on disk


def test_rotation_keeps_old_keys_until_everything_is_rewrapped(tmp_path: Path) -> None:
    directory = tmp_path / "master-keys"
    first = MasterKeyRing.load_or_create(directory)
    old_id = first.current_key_id
    data_keys = {f"b-{n}".encode(): new_data_key() for n in range(3)}
    wrapped = {context: first.wrap(key, context=context) for context, key in data_keys.items()}
    encrypted = encrypt(data_keys[b"b-0"], b"Ardita", AAD)

    new_id = MasterKeyRing.add_key(directory)
    assert new_id != old_id
    rotated = MasterKeyRing.load(directory)
    assert rotated.current_key_id == new_id
    assert rotated.key_ids == {old_id, new_id}
    # Data keys wrapped before the rotation still unwrap.
    for context, key in data_keys.items():
        assert rotated.unwrap(wrapped[context], context=context) == key

    # Re-wrap all but one, then delete the old key's file.
    rewrapped = {
        context: rotated.rewrap(wrapped[context], context=context) for context in [b"b-0", b"b-1"]
    }
    assert {item.key_id for item in rewrapped.values()} == {new_id}
    (directory / f"{old_id}.key").unlink()

    after = MasterKeyRing.load(directory)
    assert after.key_ids == {new_id}
    for context, item in rewrapped.items():
        assert after.unwrap(item, context=context) == data_keys[context]
    # The data key is unchanged, so records need no re-encryption.
    data_key = after.unwrap(rewrapped[b"b-0"], context=b"b-0")
    assert decrypt(data_key, encrypted, AAD) == b"Ardita"
    with pytest.raises(MasterKeyUnavailable, match=old_id):
        after.unwrap(wrapped[b"b-2"], context=b"b-2")


def test_key_ids_name_their_creation_time(tmp_path: Path) -> None:
    key_id = MasterKeyRing.add_key(tmp_path / "keys")
    assert re.fullmatch(r"mk-\d{14}-[0-9a-f]{6}", key_id)
    assert (tmp_path / "keys" / "current").read_text().strip() == key_id


def test_adding_a_key_makes_it_current_each_time(tmp_path: Path) -> None:
    key_ids = [MasterKeyRing.add_key(tmp_path) for _ in range(3)]
    assert len(set(key_ids)) == 3
    ring = MasterKeyRing.load(tmp_path)
    assert ring.current_key_id == key_ids[-1]
    assert ring.key_ids == set(key_ids)
    # No temporary file is left behind.
    assert {path.name for path in tmp_path.iterdir()} == {"current"} | {
        f"{key_id}.key" for key_id in key_ids
    }


def test_loading_an_empty_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyUnavailable):
        MasterKeyRing.load(tmp_path)
    with pytest.raises(MasterKeyUnavailable):
        MasterKeyRing.load(tmp_path / "missing")


def test_loading_without_a_current_file_is_unavailable(tmp_path: Path) -> None:
    MasterKeyRing.add_key(tmp_path)
    (tmp_path / "current").unlink()
    with pytest.raises(MasterKeyUnavailable, match="current"):
        MasterKeyRing.load(tmp_path)


def test_loading_a_current_file_naming_a_deleted_key_is_unavailable(tmp_path: Path) -> None:
    old_id = MasterKeyRing.add_key(tmp_path)
    new_id = MasterKeyRing.add_key(tmp_path)
    (tmp_path / f"{new_id}.key").unlink()
    with pytest.raises(MasterKeyUnavailable, match=new_id):
        MasterKeyRing.load(tmp_path)
    assert (tmp_path / f"{old_id}.key").exists()


def test_a_corrupt_key_file_is_refused_without_its_content(tmp_path: Path) -> None:
    key_id = MasterKeyRing.add_key(tmp_path)
    (tmp_path / f"{key_id}.key").write_text("not base64!")
    with pytest.raises(CryptoError) as caught:
        MasterKeyRing.load(tmp_path)
    assert "not base64!" not in str(caught.value)


def test_load_or_create_makes_private_files_once(tmp_path: Path) -> None:
    directory = tmp_path / "secrets" / "master-keys"
    ring = MasterKeyRing.load_or_create(directory)
    assert _mode(directory) == 0o700
    key_file = directory / f"{ring.current_key_id}.key"
    assert _mode(key_file) == 0o600
    assert _mode(directory / "current") == 0o600
    assert len(base64.b64decode(key_file.read_text().strip(), validate=True)) == 32

    wrapped = ring.wrap(new_data_key(), context=CONTEXT)
    again = MasterKeyRing.load_or_create(directory)
    assert again.key_ids == ring.key_ids
    again.unwrap(wrapped, context=CONTEXT)


def test_a_ring_never_shows_its_keys(tmp_path: Path) -> None:
    ring, keys = _ring("mk-a", "mk-b")
    for text in (repr(ring), str(ring), f"{ring}"):
        assert "mk-a" in text
        assert "mk-b" in text
        _assert_hidden(text, *keys.values())

    loaded = MasterKeyRing.load_or_create(tmp_path)
    key_bytes = base64.b64decode((tmp_path / f"{loaded.current_key_id}.key").read_text())
    _assert_hidden(repr(loaded), key_bytes)


def test_a_wrapped_key_never_shows_its_bytes() -> None:
    ring, keys = _ring("mk-a")
    data_key = new_data_key()
    wrapped = ring.wrap(data_key, context=CONTEXT)
    for text in (repr(wrapped), str(wrapped)):
        assert "mk-a" in text
        _assert_hidden(text, data_key, wrapped.ciphertext, keys["mk-a"])


# Blind index


def test_a_blind_index_is_deterministic_per_key() -> None:
    key = new_data_key()
    index = BlindIndex(key)
    value = index.of("ardita krasniqi", "1990-04-01")
    assert len(value) == 32
    assert BlindIndex(key).of("ardita krasniqi", "1990-04-01") == value
    assert index.of("ardita krasniqi", "1990-04-02") != value
    assert BlindIndex(new_data_key()).of("ardita krasniqi", "1990-04-01") != value


def test_blind_index_parts_cannot_be_shifted() -> None:
    index = BlindIndex(new_data_key())
    assert index.of("ab", "c") != index.of("a", "bc")
    assert index.of("a", "b") != index.of("ab")
    assert index.of("a") != index.of("a", "")


def test_a_blind_index_is_not_a_plain_hash() -> None:
    value = BlindIndex(new_data_key()).of("ardita krasniqi")
    assert value != hashlib.sha256(b"ardita krasniqi").digest()


def test_a_blind_index_needs_a_long_key_and_a_part() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        BlindIndex(bytes(31))
    BlindIndex(bytes(64))
    with pytest.raises(ValueError, match="part"):
        BlindIndex(new_data_key()).of()


def test_a_blind_index_never_shows_its_key() -> None:
    key = new_data_key()
    index = BlindIndex(key)
    for text in (repr(index), str(index)):
        _assert_hidden(text, key)


def test_the_blind_index_key_is_made_once_in_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "blind-index.key"
    index = BlindIndex.load_or_create(path)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    key = base64.b64decode(path.read_text().strip(), validate=True)
    assert len(key) == 32
    _assert_hidden(repr(index), key)
    assert BlindIndex.load_or_create(path).of("x") == index.of("x") == BlindIndex(key).of("x")
    assert [item.name for item in path.parent.iterdir()] == ["blind-index.key"]


# Names


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Ardita Krasniqi", "ARDITA  KRASNIQI"),
        ("Ardita Krasniqi", "Ardíta Krasniqi"),
        ("Ardita Krasniqi", "Krasniqi Ardita"),
        ("Ardita Krasniqi", " ardita\tkrasniqi\n"),
        ("Đorđe Petrović", "Djordje Petrovic"),
        ("ĐORĐE PETROVIĆ", "djordje petrovic"),
        ("Łukasz", "Lukasz"),
        ("Strauß", "Strauss"),
        ("Søren", "Soren"),
        ("Ærøskøbing", "aeroskobing"),
        ("Y\u0131ld\u0131z", "Yildiz"),  # dotless i
        ("İlhan", "Ilhan"),
        ("Ștefan Ţurcanu", "Stefan Turcanu"),
        ("Şerban", "Serban"),
        ("Dželal Hodžić", "Dzelal Hodzic"),
        ("Arbër Çela", "Arber Cela"),
        ("Jean-Pierre", "Jean Pierre"),
        ("O'Brien", "OBrien"),
        ("O\u2019Brien", "O'Brien"),
        ("\uff21\uff32\uff24\uff29\uff34\uff21", "ardita"),  # full-width ARDITA
        ("ДРАГАН ЈОВАНОВИЋ", "Јовановић Драган"),
        ("Йордан", "йордан"),
    ],
)
def test_equivalent_names_normalise_alike(left: str, right: str) -> None:
    assert normalise_name(left) == normalise_name(right)


def test_a_name_normalises_to_sorted_lower_case_words() -> None:
    assert normalise_name("  Krasniqi,  ARDÍTA ") == "ardita krasniqi"
    assert normalise_name("Đorđe") == "djordje"
    assert normalise_name("Драган") == "драган"
    assert normalise_name(" - ") == ""


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Ardita Krasniqi", "Ardita Berisha"),
        ("Ardita Krasniqi", "Ardita Krasniq"),
        ("Ardita Krasniqi", "Ardita"),
        ("Ardita Krasniqi", "Ardita Krasniqi Krasniqi"),
        ("Ana Marija", "Anamarija"),
        ("Jovan", "Јован"),  # Cyrillic is not transliterated
        ("Marko 1", "Marko 2"),
    ],
)
def test_different_names_normalise_differently(left: str, right: str) -> None:
    assert normalise_name(left) != normalise_name(right)
