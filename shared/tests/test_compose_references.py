"""Everything docker-compose.yml names exists: build inputs, mounted files, volumes,
services it depends on, and exactly the secret files `make compose-secrets` writes."""

from __future__ import annotations

import re
import stat
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from baton.stack.compose import OPERATOR_SECRETS, SECRETS_DIRECTORY, write_compose_secrets
from baton.stack.services import SERVICES
from baton.testing import REPOSITORY_ROOT
from compose_files import (
    DOCKERFILE,
    compose,
    depends_on,
    mounts,
    oidc_override,
    services,
    spec_of_image,
)

SECRETS_EXAMPLE = REPOSITORY_ROOT / "deploy/docker/secrets.example.md"


def _dockerfile_args() -> set[str]:
    return set(re.findall(r"^ARG (\w+)", DOCKERFILE.read_text(), re.M))


def test_every_build_is_a_service_folder_with_its_module() -> None:
    builds = {name: s["build"] for name, s in services().items() if "build" in s}
    assert builds, "no service is built"
    for name, build in builds.items():
        assert (REPOSITORY_ROOT / build["context"]).resolve() == REPOSITORY_ROOT, name
        assert (REPOSITORY_ROOT / build["dockerfile"]).resolve() == DOCKERFILE, name
        args = build["args"]
        assert set(args) == _dockerfile_args(), name
        [spec] = [spec for spec in SERVICES if spec.name == args["SERVICE"]]
        assert args["MODULE"] == spec.module, name
        folder = REPOSITORY_ROOT / "services" / spec.name
        assert (folder / "src" / spec.module / "__main__.py").is_file(), name
        # The Dockerfile installs `--package baton-${SERVICE}` from the lock.
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        assert project["name"] == f"baton-{spec.name}", name
        assert spec_of_image(services()[name]["image"]) == spec, name


def _copied_sources() -> set[str]:
    """What the build stage copies from the context (not `--from` another stage)."""
    sources = set()
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            sources.update(line.split()[1:-1])
    return sources


def test_the_build_copies_the_whole_workspace_and_no_more() -> None:
    """`uv sync --frozen` reads every workspace member, even for one service's package;
    the ignore file beside the Dockerfile lets nothing else (secrets, .data) be sent."""
    workspace = tomllib.loads((REPOSITORY_ROOT / "pyproject.toml").read_text())
    members = workspace["tool"]["uv"]["workspace"]["members"]
    copied = _copied_sources()
    assert {"pyproject.toml", "uv.lock"} <= copied
    assert {member.split("/")[0] for member in members} <= copied
    ignore = Path(f"{DOCKERFILE}.dockerignore").read_text().splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "*"
    assert {rule.removeprefix("!") for rule in rules if rule.startswith("!")} == copied


def test_every_service_image_is_built_here_once() -> None:
    built = [s["image"] for s in services().values() if "build" in s]
    assert len(built) == len(set(built)) == len(SERVICES)
    for name, service in services().items():
        if spec_of_image(service.get("image", "")) is not None:
            assert service["image"] in built, f"{name} runs an image nothing builds"


@pytest.mark.parametrize(
    "document", [compose, oidc_override], ids=["docker-compose", "oidc-override"]
)
def test_every_bind_mount_is_a_file_of_the_repository(
    document: Callable[[], dict[str, Any]],
) -> None:
    binds = [m for s in document()["services"].values() for m in mounts(s) if m.is_bind]
    assert binds
    for mount in binds:
        assert mount.source.startswith("./deploy/"), mount
        assert (REPOSITORY_ROOT / mount.source).is_file(), mount


def test_every_named_volume_is_declared_and_used() -> None:
    used = {m.source for s in services().values() for m in mounts(s) if not m.is_bind}
    assert used == set(compose()["volumes"])


def test_volumes_of_our_images_are_folders_the_image_gives_its_user() -> None:
    """A new named volume copies the image's folder, owner included; elsewhere it is
    root's, and the services (uid 10001) could not write their keys."""
    prepared = set(re.findall(r"(/var/lib/baton/[\w-]+)", DOCKERFILE.read_text()))
    for name, service in services().items():
        if spec_of_image(service.get("image", "")) is None:
            continue
        targets = {m.target for m in mounts(service)}
        assert targets <= prepared, name
        # Every path a setting points into lies on one of the service's volumes.
        for variable, value in service.get("environment", {}).items():
            if str(value).startswith("/var/lib/"):
                assert any(str(value).startswith(t) for t in targets), f"{name}: {variable}"


@pytest.mark.parametrize(
    "document", [compose, oidc_override], ids=["docker-compose", "oidc-override"]
)
def test_every_dependency_is_a_service(document: Callable[[], dict[str, Any]]) -> None:
    known = set(services())
    for name, service in document()["services"].items():
        assert name in known, f"{name} is not a service of docker-compose.yml"
        assert set(depends_on(service)) <= known - {name}, name


def test_secret_files_are_the_ones_compose_secrets_writes(tmp_path: Path) -> None:
    written = {path.name for path in write_compose_secrets(tmp_path / "secrets")}
    declared = compose()["secrets"]
    assert set(declared) == written
    for name, source in declared.items():
        assert Path(source["file"]) == Path(".") / SECRETS_DIRECTORY / name, name


def test_every_secret_used_is_declared_and_every_declared_one_used() -> None:
    used = {secret for s in services().values() for secret in s.get("secrets", [])}
    assert used == set(compose()["secrets"])


def test_compose_secrets_keeps_what_exists_and_hides_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    first = {path.name: path.read_text() for path in write_compose_secrets(folder)}
    (folder / "referrals_intake_client_id").write_text("client-of-the-operator")
    again = {path.name: path.read_text() for path in write_compose_secrets(folder)}
    assert again["referrals_intake_client_id"] == "client-of-the-operator"
    assert {k: v for k, v in again.items() if k != "referrals_intake_client_id"} == {
        k: v for k, v in first.items() if k != "referrals_intake_client_id"
    }
    assert all(first[name] == "" for name in OPERATOR_SECRETS)
    assert len(first["keycloak_admin_password"]) >= 32
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {stat.S_IMODE((folder / name).stat().st_mode) for name in again} == {0o644}


def test_the_secrets_folder_is_never_committed() -> None:
    folder = SECRETS_DIRECTORY.as_posix()
    assert f"{folder}/" in (REPOSITORY_ROOT / ".gitignore").read_text().splitlines()
    if not (REPOSITORY_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run(
        ["git", "ls-files", "--", folder],
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert tracked == ""


def test_the_example_documents_every_secret() -> None:
    example = SECRETS_EXAMPLE.read_text()
    undocumented = {name for name in compose()["secrets"] if f"`{name}`" not in example}
    assert undocumented == set()
    filled_by_the_operator = example.split("Filled in by you", 1)[1]
    assert all(f"`{name}`" in filled_by_the_operator for name in OPERATOR_SECRETS)
