"""Free text is checked for obvious personal identifiers before grants-api keeps it.

grants-api must never hold a victim's identity. Narratives, descriptions and
comments are written by people who may paste a phone number, an e-mail address
or a document number without thinking; such text is refused with a problem that
says which kind was found and in which field, never the value itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from grants_api.exceptions import IdentifierInText

# Order matters: the first kind found is the one named.
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("e-mail address", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    # International numbers, or national ones starting with 0, with the usual separators.
    (
        "phone number",
        re.compile(
            r"(?<![\w.])(?:\+|00)\d[\d ()./-]{6,}\d"
            r"|(?<![\w.,])0\d{2,3}[ /.-]?\d{3}[ .-]?\d{3,4}(?!\w|[.,]\d)"
        ),
    ),
    # Passport and identity-card numbers: letters then digits, or long digit runs.
    (
        "document number",
        re.compile(r"\b[A-Z]{1,3}[ -]?\d{6,9}\b|\b\d{9,13}\b"),
    ),
)


def identifier_kind(text: str) -> str | None:
    """The kind of identifier `text` seems to hold, or None."""
    for kind, pattern in PATTERNS:
        if pattern.search(text):
            return kind
    return None


def screen(fields: Mapping[str, str | None]) -> None:
    """Refuse (422 `identifier-in-text`) if any field's text seems to hold an identifier."""
    for name, text in fields.items():
        if text is None:
            continue
        kind = identifier_kind(text)
        if kind is not None:
            raise IdentifierInText(
                f"The field `{name}` seems to hold a {kind}. Reports and descriptions "
                "describe work and results, never a person: remove it and send again."
            )
