"""Structural rules: the kit never imports a service; each service has its own metadata."""

from __future__ import annotations

import ast
import asyncio
import importlib
from pathlib import Path

import pytest
from sqlmodel import SQLModel

import baton
from baton.migrations import MigrationTree
from baton.stack.databases import ServiceDatabase
from baton.stack.services import SERVICES, ServiceSpec

SERVICE_PACKAGES = {spec.module for spec in SERVICES}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_baton_never_imports_a_service() -> None:
    package_dir = Path(baton.__file__).parent
    offenders = {
        f"{path.relative_to(package_dir)}: {name}"
        for path in package_dir.rglob("*.py")
        for name in _imported_modules(path)
        if name.split(".")[0] in SERVICE_PACKAGES
    }
    assert offenders == set()


def test_each_service_has_a_metadata_of_its_own() -> None:
    metadatas = [importlib.import_module(f"{spec.module}.db").metadata for spec in SERVICES]
    assert len({id(metadata) for metadata in metadatas}) == len(SERVICES)
    assert all(metadata is not SQLModel.metadata for metadata in metadatas)
    assert all(metadata.naming_convention["pk"] == "pk_%(table_name)s" for metadata in metadatas)


@pytest.mark.parametrize("spec", SERVICES, ids=lambda spec: spec.route)
async def test_models_and_migrations_agree(
    service_databases: dict[str, ServiceDatabase], spec: ServiceSpec
) -> None:
    """`alembic check`: no model change is missing from the migrations; one head only."""
    tree = MigrationTree(spec.module)
    # Alembic's env runs its own event loop: keep it off this one.
    await asyncio.to_thread(tree.check, service_databases[spec.route].migration_url)
    assert len(tree.heads()) == 1
