"""Tables of intake: the idempotency keys of cases-api's retryable POSTs.

Intake itself needs no table of its own: a case opened from a referral carries the
referral's id (`case_file.referral_id`, unique), which makes intake idempotent.
The idempotency keys hold no identity and are keyed by organisation and caller,
so they need no row-level security; the stored responses must never hold an
identity (the endpoints that use them return none).
"""

from __future__ import annotations

from baton.idempotency import idempotency_table
from cases_api.db import CasesTable

IdempotencyKey = idempotency_table(CasesTable.metadata)
