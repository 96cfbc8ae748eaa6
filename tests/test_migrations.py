"""Every service's models and its migrations agree (`alembic check` after `upgrade head`)."""

from __future__ import annotations

import pytest

from baton.migrations import MigrationTree
from baton.stack.databases import ServiceDatabase
from baton.stack.services import SERVICES, ServiceSpec


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.name)
def test_models_hold_no_change_that_no_migration_records(
    spec: ServiceSpec, service_databases: dict[str, ServiceDatabase]
) -> None:
    # `service_databases` ran `upgrade head`; `check` raises on any pending difference.
    MigrationTree(spec.module).check(service_databases[spec.route].migration_url)
