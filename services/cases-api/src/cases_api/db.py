"""The table base of cases-api: its own registry and metadata, apart from other services'."""

from __future__ import annotations

from sqlmodel import SQLModel

from baton.db import new_registry


class CasesTable(SQLModel, registry=new_registry()):
    """Base of every cases-api table; `CasesTable.metadata` is what its migrations track."""


def load_models() -> None:
    """Import every table module so the metadata is complete (migrations, checks)."""
    from cases_api.access import models as _access  # noqa: F401
    from cases_api.assessments import models as _assessments  # noqa: F401
    from cases_api.audit import models as _audit  # noqa: F401
    from cases_api.beneficiaries import models as _beneficiaries  # noqa: F401
    from cases_api.cases import models as _cases  # noqa: F401
    from cases_api.consents import models as _consents  # noqa: F401
    from cases_api.intake import models as _intake  # noqa: F401
    from cases_api.notes import models as _notes  # noqa: F401
    from cases_api.plans import models as _plans  # noqa: F401
    from cases_api.secondary import models as _secondary  # noqa: F401
    from cases_api.statistics import models as _statistics  # noqa: F401


metadata = CasesTable.metadata
