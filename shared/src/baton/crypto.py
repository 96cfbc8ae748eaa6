"""Field encryption primitives: AES-256-GCM, envelope keys and a keyed blind index.

Each record's secret fields are encrypted under a random data key; the data key
is stored wrapped (encrypted) under a master key named by its key id. Rotating
the master key therefore re-wraps 32-byte data keys, never re-encrypts records.
A blind index (HMAC-SHA256 under its own key) allows equality search without
storing plaintext or an unkeyed hash that could be brute-forced from a name list.

This module holds no table and no business rule: what goes in the associated
data, the wrap context or the blind index is the caller's choice. Key bytes never
appear in a repr, a str or an exception message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import struct
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
# The first byte of every blob names its format, so a later algorithm can be told apart.
_VERSION_1 = b"\x01"
_CURRENT_FILE = "current"
_KEY_SUFFIX = ".key"


class CryptoError(Exception):
    """Base of this module's errors; messages never contain key or plaintext bytes."""


class DecryptionFailed(CryptoError):
    """Wrong key, wrong associated data or context, or a tampered or truncated blob."""


class MasterKeyUnavailable(CryptoError):
    """The master key is not in the ring: answer 503, never fall back to plaintext."""


def new_data_key() -> bytes:
    """A fresh random 32-byte AES-256 key."""
    return secrets.token_bytes(KEY_BYTES)


def associated_data_from(*parts: str) -> bytes:
    """Unambiguous associated data from several values (e.g. organisation id, row id).

    Plain concatenation would make ("org-1", "2") and ("org-12", "") equal; each
    part is length-prefixed instead.
    """
    return _encode_parts(part.encode() for part in parts)


def encrypt(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """AES-256-GCM: version byte + 12-byte random nonce + ciphertext and tag.

    `associated_data` is authenticated, not stored: decryption needs the same
    bytes, which binds the ciphertext to its row (a copied blob does not decrypt).
    """
    _check_key(key)
    nonce = secrets.token_bytes(NONCE_BYTES)
    # The version byte is authenticated too, so it cannot be swapped for another format.
    sealed = AESGCM(key).encrypt(nonce, plaintext, _VERSION_1 + associated_data)
    return _VERSION_1 + nonce + sealed


def decrypt(key: bytes, blob: bytes, associated_data: bytes) -> bytes:
    """The plaintext of `encrypt`'s blob; raises DecryptionFailed rather than return garbage."""
    _check_key(key)
    if len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
        raise DecryptionFailed("ciphertext is truncated")
    if blob[:1] != _VERSION_1:
        raise DecryptionFailed("unknown ciphertext version")
    nonce = blob[1 : 1 + NONCE_BYTES]
    sealed = blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, sealed, _VERSION_1 + associated_data)
    except InvalidTag:
        raise DecryptionFailed(
            "ciphertext failed authentication (wrong key, associated data or tampered)"
        ) from None


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under the master key `key_id` (store both columns)."""

    key_id: str
    # Not key bytes in the clear, but kept out of logs all the same.
    ciphertext: bytes = field(repr=False)


class MasterKeyRing:
    """Master keys by key id; exactly one is current and wraps new data keys.

    Old keys stay in the ring until every data key they wrapped has been re-wrapped
    (`rewrap`); only then may their files be deleted.

    A ring is read once: a running process sees a key added by `add_key` in another
    process only after it loads the ring again (e.g. on restart).
    """

    def __init__(self, keys: Mapping[str, bytes], current_key_id: str) -> None:
        for key_id, key in keys.items():
            if not key_id:
                raise ValueError("a master key id must not be empty")
            if len(key) != KEY_BYTES:
                # Name the key id only: the message may end up in a log.
                raise ValueError(f"master key {key_id!r} must be {KEY_BYTES} bytes")
        if current_key_id not in keys:
            raise MasterKeyUnavailable(f"current master key {current_key_id!r} is not in the ring")
        # A private copy: the caller's mapping may change later.
        self._keys = dict(keys)
        self._current_key_id = current_key_id

    def __repr__(self) -> str:
        key_ids = ", ".join(repr(key_id) for key_id in sorted(self._keys))
        return f"MasterKeyRing(current={self._current_key_id!r}, key_ids=[{key_ids}])"

    @property
    def current_key_id(self) -> str:
        """The key id that wraps new data keys."""
        return self._current_key_id

    @property
    def key_ids(self) -> frozenset[str]:
        """Every key id this ring can unwrap."""
        return frozenset(self._keys)

    def wrap(self, data_key: bytes, *, context: bytes) -> WrappedKey:
        """Encrypt `data_key` under the current master key, bound to `context`.

        `context` (e.g. the beneficiary's id) must be given again to unwrap, so a
        wrapped key copied onto another record is refused.
        """
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"a data key must be {KEY_BYTES} bytes")
        key_id = self._current_key_id
        ciphertext = encrypt(self._keys[key_id], data_key, _wrap_aad(context, key_id))
        return WrappedKey(key_id=key_id, ciphertext=ciphertext)

    def unwrap(self, wrapped: WrappedKey, *, context: bytes) -> bytes:
        """The data key; MasterKeyUnavailable if its key id is not in the ring,
        DecryptionFailed if the wrapped key was tampered with or `context` differs."""
        master_key = self._keys.get(wrapped.key_id)
        if master_key is None:
            raise MasterKeyUnavailable(f"master key {wrapped.key_id!r} is not in the ring")
        try:
            data_key = decrypt(master_key, wrapped.ciphertext, _wrap_aad(context, wrapped.key_id))
        except DecryptionFailed:
            raise DecryptionFailed(
                "wrapped data key failed authentication (wrong context or tampered)"
            ) from None
        if len(data_key) != KEY_BYTES:
            raise DecryptionFailed("wrapped data key has the wrong length")
        return data_key

    def rewrap(self, wrapped: WrappedKey, *, context: bytes) -> WrappedKey:
        """`wrapped` moved under the current master key (the same object if it already is).

        The data key, and so every ciphertext made with it, is unchanged. A key
        already under the current master key is still unwrapped once, so a wrong
        `context` fails here whichever key wrapped it.
        """
        data_key = self.unwrap(wrapped, context=context)
        if wrapped.key_id == self._current_key_id:
            return wrapped
        return self.wrap(data_key, context=context)

    @classmethod
    def load(cls, directory: Path) -> MasterKeyRing:
        """Every `<key_id>.key` file in `directory`; the current one is named in `current`.

        Raises MasterKeyUnavailable if there is no key or no valid `current` file.
        """
        keys = {
            path.name.removesuffix(_KEY_SUFFIX): _read_key_file(path)
            for path in sorted(directory.glob(f"*{_KEY_SUFFIX}"))
            if path.is_file()
        }
        if not keys:
            raise MasterKeyUnavailable(f"no master key in {directory}")
        current_path = directory / _CURRENT_FILE
        try:
            current_key_id = current_path.read_text().strip()
        except FileNotFoundError:
            raise MasterKeyUnavailable(f"{current_path} is missing") from None
        return cls(keys, current_key_id)

    @classmethod
    def load_or_create(cls, directory: Path) -> MasterKeyRing:
        """`load`, creating the first key on first run (development convenience)."""
        # Two processes racing here each add a key; both files stay and `current`
        # names one of them, so everything either wrapped still unwraps.
        if not any(directory.glob(f"*{_KEY_SUFFIX}")):
            cls.add_key(directory)
        return cls.load(directory)

    @staticmethod
    def add_key(directory: Path) -> str:
        """Rotation: write a new master key, make it current, return its key id.

        The old keys stay: they are needed until every data key has been re-wrapped.
        Processes that already loaded the ring keep wrapping with the old key until
        they load it again.
        """
        _private_directory(directory)
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        # The timestamp first, so key ids sort by creation.
        key_id = f"mk-{stamp}-{secrets.token_hex(3)}"
        _create_file(directory / f"{key_id}{_KEY_SUFFIX}", _encode_key(new_data_key()))
        # Only once the key file is durable may `current` name it.
        _replace_file(directory / _CURRENT_FILE, f"{key_id}\n".encode())
        return key_id


class BlindIndex:
    """Keyed HMAC-SHA256 over normalised identity parts, for equality search without plaintext.

    Without the key, an index value cannot be checked against a list of likely
    names, unlike a plain hash. Rotating this key means recomputing every index.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"a blind index key must be at least {KEY_BYTES} bytes")
        self._key = bytes(key)

    def __repr__(self) -> str:
        return "BlindIndex(key=<hidden>)"

    def of(self, *parts: str) -> bytes:
        """32-byte HMAC over the parts, each length-prefixed so ("ab", "c") != ("a", "bc").

        Pass values already normalised (`normalise_name` for names, ISO format for
        dates): this method does not normalise, because name normalisation (token
        sorting) would be wrong for other values.
        """
        if not parts:
            raise ValueError("a blind index needs at least one part")
        message = _encode_parts(part.encode() for part in parts)
        return hmac.new(self._key, message, hashlib.sha256).digest()

    @classmethod
    def load_or_create(cls, path: Path) -> BlindIndex:
        """The key in `path` (base64), made on first run as a 0600 file in a 0700 directory.

        Losing this file makes every stored index unmatchable: back it up.
        """
        if not path.exists():
            _private_directory(path.parent)
            try:
                _create_file(path, _encode_key(new_data_key()))
            except FileExistsError:
                pass  # Another process made it first: use theirs, or indices would diverge.
        return cls(_read_key_file(path))


# Letters NFKD does not decompose, spelled as their usual ASCII transliteration.
_TRANSLITERATIONS = str.maketrans(
    {
        "đ": "dj",  # Serbian/Croatian/Bosnian: Đorđe = Djordje
        "ð": "dj",  # Icelandic eth, typed for the identical-looking capital Đ
        "ł": "l",
        "ß": "ss",
        "ø": "o",
        "æ": "ae",
        "œ": "oe",
        "\u0131": "i",  # dotless i (Turkish names in the Balkans)
    }
)
# Removed rather than turned into a space: O'Brien = OBrien. Apostrophe, right and
# left single quotation marks, modifier letter apostrophe, grave and acute accents.
_APOSTROPHES = str.maketrans(dict.fromkeys("'\u2019\u2018\u02bc`\u00b4", None))


def normalise_name(value: str) -> str:
    """A person's name reduced for matching: case, accents, spacing and word order ignored.

    "Krasniqi Ardita", "ARDITA  KRASNIQI" and "Ardíta Krasniqi" all give
    "ardita krasniqi". Accents are dropped in every script (Cyrillic letters stay
    Cyrillic), which favours finding possible duplicates over telling near names
    apart. Punctuation other than apostrophes separates words.
    """
    text = value.translate(_APOSTROPHES).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    # Nonspacing marks are the accents; spacing marks (e.g. Devanagari vowels) are letters.
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    mapped = stripped.translate(_TRANSLITERATIONS)
    words = "".join(
        ch if ch.isalnum() or unicodedata.category(ch).startswith("M") else " " for ch in mapped
    )
    return " ".join(sorted(words.split()))


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"an AES-256 key must be {KEY_BYTES} bytes")


def _encode_parts(parts: Iterable[bytes]) -> bytes:
    # Length prefixes make the encoding prefix-free: no two part lists share bytes.
    return b"".join(struct.pack(">Q", len(part)) + part for part in parts)


def _wrap_aad(context: bytes, key_id: str) -> bytes:
    return _encode_parts([context, key_id.encode()])


def _encode_key(key: bytes) -> bytes:
    return base64.b64encode(key) + b"\n"


def _read_key_file(path: Path) -> bytes:
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except binascii.Error:
        raise CryptoError(f"{path} is not base64") from None
    if len(key) < KEY_BYTES:
        raise CryptoError(f"{path} holds fewer than {KEY_BYTES} bytes")
    return key


def _private_directory(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)


def _write_temporary(directory: Path, content: bytes) -> Path:
    """A new 0600 file with `content`, flushed to disk, under a name no reader looks for."""
    path = directory / f".tmp-{secrets.token_hex(8)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def _create_file(path: Path, content: bytes) -> None:
    """Create `path` whole or not at all; FileExistsError if it exists.

    Written aside then hard-linked: a concurrent reader never sees a half-written key.
    """
    temporary = _write_temporary(path.parent, content)
    try:
        os.link(temporary, path)
    finally:
        temporary.unlink()
    _fsync_directory(path.parent)


def _replace_file(path: Path, content: bytes) -> None:
    """Replace `path` atomically: readers see the old content or the new, never a mix."""
    temporary = _write_temporary(path.parent, content)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the new directory entry itself survive a crash.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
