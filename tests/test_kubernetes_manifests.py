"""The Kubernetes manifests: valid objects, every service's full set, and the walls between them.

No cluster and no kustomize binary: `build` renders a kustomization with the part of
kustomize the manifests use (resources, namespace, ConfigMap generators, strategic-merge
and JSON 6902 patches, images, replicas; generated names keep no hash suffix), and
every object is checked against the Kubernetes API's JSON schemas (kubernetes-validate,
strict: an unknown field fails).
"""

from __future__ import annotations

import copy
import ipaddress
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from pydantic import TypeAdapter

from baton.auth import TrustedIssuer
from baton.stack.__main__ import main as stack_command
from baton.stack.gateway import container_layout
from baton.stack.services import SERVICES, ServiceSpec
from baton.testing import REPOSITORY_ROOT

Manifest = dict[str, Any]

K8S = REPOSITORY_ROOT / "deploy/k8s"
BASE = K8S / "base"
BUILDS = [BASE, *sorted(path.parent for path in (K8S / "overlays").glob("*/kustomization.yaml"))]
BUILD_IDS = [path.relative_to(K8S).as_posix() for path in BUILDS]
# The oldest Kubernetes the manifests support, and the newest the library knows.
KUBERNETES_VERSIONS = ("1.31", kubernetes_validate.latest_version())
SECRETS_SCRIPT = K8S / "secrets.example.sh"
SERVICE_NAMES = [spec.name for spec in SERVICES]
# Who may open a connection to each service: the gateway, and the peers the code calls
# (ServiceClient to cases-api, client-credentials tokens, every service's JWKS fetch).
EXPECTED_CALLERS = {
    "identity-api": {"gateway", "identity-api", "cases-api", "referral-api", "grants-api"},
    "cases-api": {"gateway", "referral-api", "grants-api"},
    "referral-api": {"gateway"},
    "grants-api": {"gateway"},
}
PRIVATE_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"}
DATABASE_PORT = 5432
# A rule without peers or ports opens to everything.
ANY_PEER: list[Manifest] = [{"podSelector": {}, "namespaceSelector": {}}]


# --- A small kustomize -------------------------------------------------------------


def _documents(path: Path) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def _kustomization(directory: Path) -> Manifest:
    loaded: Manifest = yaml.safe_load((directory / "kustomization.yaml").read_text())
    return loaded


def _named_file(directory: Path, entry: str) -> tuple[str, Path]:
    """A generator's `key=path` (or bare `path`, keyed by its file name)."""
    key, _, path = entry.rpartition("=")
    return key or Path(path).name, directory / path


def _key_values(lines: list[str]) -> dict[str, str]:
    pairs = [line.strip().partition("=") for line in lines]
    return {key: value for key, _, value in pairs if key and not key.startswith("#")}


def _generate(directory: Path, generator: Manifest, objects: list[Manifest]) -> None:
    data = _key_values(generator.get("literals", []))
    for entry in generator.get("files", []):
        key, path = _named_file(directory, entry)
        data[key] = path.read_text()
    for env in generator.get("envs", []):
        data |= _key_values((directory / env).read_text().splitlines())
    name, behavior = generator["name"], generator.get("behavior", "create")
    existing = [o for o in _of_kind(objects, "ConfigMap") if o["metadata"]["name"] == name]
    if behavior == "create":
        assert not existing, f"{directory}: ConfigMap {name} generated twice"
        existing = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}]
        objects += existing
    assert len(existing) == 1, f"{directory}: {behavior} of ConfigMap {name}, which is not there"
    if behavior == "replace":
        existing[0]["data"] = {}
    existing[0].setdefault("data", {}).update(data)


def _select(objects: list[Manifest], target: Manifest) -> list[Manifest]:
    """The objects a patch target names (kind, name, `a=b,…` labels); none is an error."""
    assert set(target) <= {"kind", "name", "labelSelector"}, f"unsupported target {target}"
    terms = [term.partition("=") for term in target.get("labelSelector", "").split(",") if term]
    selected = [
        o
        for o in objects
        if o["kind"] == target.get("kind", o["kind"])
        and re.fullmatch(target.get("name", ".*"), o["metadata"]["name"])
        and all(o["metadata"].get("labels", {}).get(key) == value for key, _, value in terms)
    ]
    if not selected:
        raise LookupError(f"no object matches the patch target {target}")
    return selected


# Lists that strategic merge combines item by item (the others are replaced whole).
MERGE_KEYS = {"containers": "name", "volumes": "name", "env": "name", "volumeMounts": "mountPath"}


def _strategic_merge(target: Manifest, patch: Manifest) -> None:
    for key, value in patch.items():
        current = target.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            _strategic_merge(current, value)
        elif isinstance(value, list) and isinstance(current, list) and key in MERGE_KEYS:
            merge_key = MERGE_KEYS[key]
            for item in value:
                same = [old for old in current if old.get(merge_key) == item.get(merge_key)]
                if same:
                    _strategic_merge(same[0], item)
                else:
                    current.append(copy.deepcopy(item))
        else:
            target[key] = copy.deepcopy(value)


def _json_patch(document: Manifest, operation: Manifest) -> None:
    """RFC 6902 add, replace and remove; replace and remove need their target to exist."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
    parent: Any = document
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last, op, value = parts[-1], operation["op"], copy.deepcopy(operation.get("value"))
    assert op in {"add", "replace", "remove"}, f"this test does not implement {op}"
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op in {"replace", "remove"}:
            del parent[index]  # an IndexError: the target is missing
        if op in {"add", "replace"}:
            parent.insert(index, value)
    elif op == "add":
        parent[last] = value
    elif last not in parent:
        raise KeyError(f"{operation['path']} is not in {document['metadata']['name']}")
    elif op == "replace":
        parent[last] = value
    else:
        del parent[last]


def _patch(directory: Path, entry: Manifest, objects: list[Manifest]) -> None:
    text = entry["patch"] if "patch" in entry else (directory / entry["path"]).read_text()
    patch = yaml.safe_load(text)
    if isinstance(patch, list):
        for document in _select(objects, entry["target"]):
            for operation in patch:
                _json_patch(document, operation)
        return
    target = entry.get("target") or {"kind": patch["kind"], "name": patch["metadata"]["name"]}
    for document in _select(objects, target):
        _strategic_merge(document, patch)


def _set_image(image: Manifest, objects: list[Manifest]) -> None:
    containers = [c for pod in _pods(objects) for c in _containers(pod)]
    matching = [c for c in containers if c["image"].partition(":")[0] == image["name"]]
    if not matching:
        raise LookupError(f"no container runs the image {image['name']}")
    for container in matching:
        name, _, tag = container["image"].partition(":")
        container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"


KUSTOMIZATION_FIELDS = {
    "apiVersion",
    "kind",
    "namespace",
    "resources",
    "configMapGenerator",
    "patches",
    "images",
    "replicas",
}


def build(directory: Path) -> list[Manifest]:
    """The objects `kubectl apply -k directory` would send (without generated-name hashes)."""
    spec = _kustomization(directory)
    unsupported = set(spec) - KUSTOMIZATION_FIELDS
    assert not unsupported, f"{directory}: teach this test's kustomize {unsupported}"
    objects: list[Manifest] = []
    for entry in spec.get("resources", []):
        path = directory / entry
        objects += build(path) if path.is_dir() else _documents(path)
    for generator in spec.get("configMapGenerator", []):
        _generate(directory, generator, objects)
    for document in objects:
        if "namespace" in spec and document["kind"] != "Namespace":
            document["metadata"]["namespace"] = spec["namespace"]
    for entry in spec.get("patches", []):
        _patch(directory, entry, objects)
    for image in spec.get("images", []):
        _set_image(image, objects)
    for replicas in spec.get("replicas", []):
        for document in _select(objects, {"kind": "Deployment", "name": replicas["name"]}):
            document["spec"]["replicas"] = replicas["count"]
    return objects


# --- Reading the rendered objects --------------------------------------------------


@dataclass(frozen=True)
class Pod:
    """The pods of a Deployment or a Job, as their template describes them."""

    owner: str  # the Deployment's or Job's name
    namespace: str
    labels: dict[str, str]
    spec: Manifest


def _pods(objects: list[Manifest]) -> list[Pod]:
    return [
        Pod(
            o["metadata"]["name"],
            o["metadata"].get("namespace", "default"),
            o["spec"]["template"]["metadata"]["labels"],
            o["spec"]["template"]["spec"],
        )
        for o in objects
        if o["kind"] in {"Deployment", "Job"}
    ]


def _pod(objects: list[Manifest], owner: str) -> Pod:
    [pod] = [pod for pod in _pods(objects) if pod.owner == owner]
    return pod


def _containers(pod: Pod) -> list[Manifest]:
    return [*pod.spec.get("initContainers", []), *pod.spec["containers"]]


def _of_kind(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [o for o in objects if o["kind"] == kind]


def _one(objects: list[Manifest], kind: str, name: str) -> Manifest:
    [found] = [o for o in _of_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def _selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions); {} selects everything."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, values = labels.get(expression["key"]), expression.get("values", [])
        holds = {
            "In": value is not None and value in values,
            "NotIn": value is None or value not in values,
            "Exists": value is not None,
            "DoesNotExist": value is None,
        }[expression["operator"]]
        if not holds:
            return False
    return True


def _settings(objects: list[Manifest], pod: Pod) -> dict[str, str]:
    """The environment a pod's first container gets from ConfigMaps."""
    container = pod.spec["containers"][0]
    values: dict[str, str] = {}
    for source in container.get("envFrom", []):
        values |= _one(objects, "ConfigMap", source["configMapRef"]["name"])["data"]
    for variable in container.get("env", []):
        if reference := variable.get("valueFrom", {}).get("configMapKeyRef"):
            config_map = _one(objects, "ConfigMap", reference["name"])
            values[variable["name"]] = config_map["data"][reference["key"]]
    return values


def _volume_at(pod: Pod, container: Manifest, path: str) -> Manifest:
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == path]
    volumes: list[Manifest] = pod.spec["volumes"]
    [volume] = [v for v in volumes if v["name"] == mount["name"]]
    return volume


def _secret_sources(volume: Manifest) -> list[Manifest]:
    """The Secrets a volume shows, each as {name, items?, optional?}."""
    if "secret" in volume:
        return [{**volume["secret"], "name": volume["secret"]["secretName"]}]
    return [source["secret"] for source in volume.get("projected", {}).get("sources", [])]


def _script_secrets() -> dict[str, set[str]]:
    """Secret name -> keys, from the example's `secret generic|tls NAME --from-file=KEY=…`."""
    secrets: dict[str, set[str]] = {}
    for line in SECRETS_SCRIPT.read_text().replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["secret"]:
            files = [
                w.split("=")[1] for w in words if w.startswith("--from-file=") and "=" in w[12:]
            ]
            secrets[words[2]] = {*files, *(["tls.crt", "tls.key"] if words[1] == "tls" else [])}
    return secrets


# --- Network policies ---------------------------------------------------------------


def _applies(policy: Manifest, pod: Pod, direction: str) -> bool:
    spec = policy["spec"]
    return (
        policy["metadata"]["namespace"] == pod.namespace
        and direction in spec.get("policyTypes", ["Ingress"])
        and _selects(spec["podSelector"], pod.labels)
    )


def _rules(pod: Pod, objects: list[Manifest], direction: str) -> Iterator[tuple[str, Manifest]]:
    """(policy name, rule) for the `direction` rules of every policy that selects the pod."""
    for policy in _of_kind(objects, "NetworkPolicy"):
        if _applies(policy, pod, direction):
            for rule in policy["spec"].get(direction.lower(), []):
                yield policy["metadata"]["name"], rule


def _isolated(pod: Pod, objects: list[Manifest], direction: str) -> bool:
    return any(_applies(p, pod, direction) for p in _of_kind(objects, "NetworkPolicy"))


def _port_open(rule: Manifest, port: int, protocol: str) -> bool:
    return not rule.get("ports") or any(
        p.get("protocol", "TCP") == protocol and p.get("port") in (None, port)
        for p in rule["ports"]
    )


def _peer_is(peer: Manifest, pod: Pod, namespace: str, objects: list[Manifest]) -> bool:
    """Whether a rule's peer (in a policy of `namespace`) is this pod."""
    if "ipBlock" in peer:
        return False  # the manifests' address blocks name hosts outside the cluster
    if "namespaceSelector" not in peer:
        return pod.namespace == namespace and _selects(peer.get("podSelector", {}), pod.labels)
    namespace_labels = {"kubernetes.io/metadata.name": pod.namespace}
    for declared in _of_kind(objects, "Namespace"):
        if declared["metadata"]["name"] == pod.namespace:
            namespace_labels |= declared["metadata"].get("labels", {})
    return _selects(peer["namespaceSelector"], namespace_labels) and _selects(
        peer.get("podSelector", {}), pod.labels
    )


def _lets(
    pod: Pod, other: Pod, direction: str, port: int, objects: list[Manifest], protocol: str
) -> bool:
    """Whether the pod's `direction` policies let a connection with `other` through."""
    peers = "to" if direction == "Egress" else "from"
    return not _isolated(pod, objects, direction) or any(
        _port_open(rule, port, protocol)
        and any(_peer_is(p, other, pod.namespace, objects) for p in rule.get(peers, ANY_PEER))
        for _, rule in _rules(pod, objects, direction)
    )


def _admits(destination: Pod, source: Pod, port: int, objects: list[Manifest]) -> bool:
    """The destination's ingress policies alone let the source in."""
    return _lets(destination, source, "Ingress", port, objects, "TCP")


def _allows(
    source: Pod, destination: Pod, port: int, objects: list[Manifest], protocol: str = "TCP"
) -> bool:
    """Both the source's egress and the destination's ingress let the connection through."""
    return _lets(source, destination, "Egress", port, objects, protocol) and _lets(
        destination, source, "Ingress", port, objects, protocol
    )


# --- The files ----------------------------------------------------------------------


def _kustomization_inputs() -> tuple[set[Path], set[Path]]:
    """(resources, other inputs: patch files, generator files) named by every kustomization."""
    resources: set[Path] = set()
    inputs: set[Path] = set()
    for file in K8S.rglob("kustomization.yaml"):
        directory, spec = file.parent, _kustomization(file.parent)
        resources |= {(directory / entry).resolve() for entry in spec.get("resources", [])}
        inputs |= {
            (directory / p["path"]).resolve() for p in spec.get("patches", []) if "path" in p
        }
        for generator in spec.get("configMapGenerator", []):
            inputs |= {_named_file(directory, f)[1].resolve() for f in generator.get("files", [])}
            inputs |= {(directory / env).resolve() for env in generator.get("envs", [])}
    return resources, inputs


def test_every_kustomization_names_only_files_that_exist() -> None:
    resources, inputs = _kustomization_inputs()
    assert not [path for path in resources | inputs if not path.exists()]
    assert not [p for p in resources if p.is_dir() and not (p / "kustomization.yaml").exists()]


def test_every_manifest_file_is_applied_and_holds_valid_objects() -> None:
    resources, inputs = _kustomization_inputs()
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml" or path.resolve() in inputs:
            continue
        assert path.resolve() in resources, f"{path} is in no kustomization: never applied"
        for document in _documents(path):
            for version in KUBERNETES_VERSIONS:
                kubernetes_validate.validate(document, version, strict=True)


def test_no_secret_is_committed() -> None:
    for path in K8S.rglob("*.yaml"):
        for document in _documents(path):
            if document.get("kind") == "Secret":
                assert not {"data", "stringData"} & set(document), path
    for file in K8S.rglob("kustomization.yaml"):
        assert "secretGenerator" not in _kustomization(file.parent), file
    # The example takes every value from the operator's files, never from its own text.
    assert "--from-literal" not in SECRETS_SCRIPT.read_text()
    assert len(_script_secrets()) >= len(SERVICES)


# --- The rendered deployments -------------------------------------------------------


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_every_rendered_object_is_valid(directory: Path, version: str) -> None:
    objects = build(directory)  # a patch whose target is missing fails here
    for document in objects:
        kubernetes_validate.validate(document, version, strict=True)
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_every_service_has_all_its_objects(directory: Path) -> None:
    objects = build(directory)
    for name in [*SERVICE_NAMES, "gateway"]:
        deployment, pod = _one(objects, "Deployment", name), _pod(objects, name)
        assert deployment["spec"]["replicas"] >= 2
        assert _selects(deployment["spec"]["selector"], pod.labels)
        [port] = pod.spec["containers"][0]["ports"]
        assert port["containerPort"] == (8080 if name == "gateway" else 8000)
        service = _one(objects, "Service", name)["spec"]
        assert service["type"] == "ClusterIP"
        assert _selects({"matchLabels": service["selector"]}, pod.labels)
        assert [(p["port"], p["targetPort"]) for p in service["ports"]] == [
            (port["containerPort"], port["name"])
        ]
        budget = _one(objects, "PodDisruptionBudget", name)["spec"]
        assert budget["minAvailable"] == 1
        assert _selects(budget["selector"], pod.labels)
        autoscaler = _one(objects, "HorizontalPodAutoscaler", name)
        assert autoscaler["apiVersion"] == "autoscaling/v2"
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert autoscaler["spec"]["scaleTargetRef"] == target
        assert [m["resource"]["name"] for m in autoscaler["spec"]["metrics"]] == ["cpu"]
        # The autoscaler starts from the Deployment's replicas and may only add to them.
        assert autoscaler["spec"]["minReplicas"] == deployment["spec"]["replicas"]
        assert autoscaler["spec"]["maxReplicas"] > autoscaler["spec"]["minReplicas"]
        assert list(_rules(pod, objects, "Ingress")), f"no NetworkPolicy lets anyone reach {name}"
    for name in SERVICE_NAMES:
        api, migration = _pod(objects, name), _pod(objects, f"{name}-migrate")
        job = _one(objects, "Job", f"{name}-migrate")["spec"]
        assert job["template"]["spec"]["restartPolicy"] == "Never"
        assert job["backoffLimit"] > 0
        assert migration.labels["app.kubernetes.io/name"] == name
        [container] = migration.spec["containers"]
        assert container["args"] == ["migrate"]
        assert container["image"] == api.spec["containers"][0]["image"]
        assert container["image"].rpartition("/")[2].startswith(f"{name}:")


@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_probes_ask_healthz_and_readyz_on_the_served_port(directory: Path) -> None:
    objects = build(directory)
    for name in SERVICE_NAMES:
        [container] = _pod(objects, name).spec["containers"]
        [port] = container["ports"]
        served = ["serve", "--host", "0.0.0.0", "--port", str(port["containerPort"])]
        assert container["args"] == served
        probes = {kind: container[kind]["httpGet"] for kind in ("livenessProbe", "readinessProbe")}
        assert probes["livenessProbe"]["path"] == "/healthz"
        assert probes["readinessProbe"]["path"] == "/readyz"
        assert container["startupProbe"]["httpGet"] == probes["livenessProbe"]
        assert {probe["port"] for probe in probes.values()} == {port["name"]}


@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_every_container_has_requests_and_limits(directory: Path) -> None:
    for pod in _pods(build(directory)):
        for container in _containers(pod):
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) >= {"cpu", "memory"}, (pod.owner, bound)


@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_no_container_runs_as_root_or_can_become_it(directory: Path) -> None:
    for pod in _pods(build(directory)):
        assert pod.spec["automountServiceAccountToken"] is False
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(pod.spec)
        assert not [v for v in pod.spec["volumes"] if "hostPath" in v]
        for container in _containers(pod):
            context = pod.spec["securityContext"] | container["securityContext"]
            assert context["runAsNonRoot"] is True, pod.owner
            assert context["runAsUser"] > 0, pod.owner
            assert context.get("runAsGroup", 1) > 0, pod.owner
            assert context["allowPrivilegeEscalation"] is False, pod.owner
            assert context.get("privileged", False) is False, pod.owner
            assert context["readOnlyRootFilesystem"] is True, pod.owner
            assert context["capabilities"] == {"drop": ["ALL"]}, pod.owner
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, pod.owner
            # The one writable place: a scratch /tmp that dies with the pod.
            assert "emptyDir" in _volume_at(pod, container, "/tmp"), pod.owner


@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_pods_read_secrets_as_files_the_example_creates(directory: Path) -> None:
    objects = build(directory)
    created = _script_secrets()
    for pod in _pods(objects):
        for container in _containers(pod):
            assert "secretRef" not in str(container.get("envFrom")), pod.owner
            assert "secretKeyRef" not in str(container.get("env")), pod.owner
        for volume in pod.spec["volumes"]:
            for source in _secret_sources(volume):
                assert source["name"] in created, (pod.owner, source["name"])
                keys = {item["key"] for item in source.get("items", [])}
                assert keys <= created[source["name"]], (pod.owner, source["name"])
    for ingress in _of_kind(objects, "Ingress"):
        assert {tls["secretName"] for tls in ingress["spec"]["tls"]} <= set(created)


@pytest.mark.parametrize("spec", SERVICES, ids=SERVICE_NAMES)
def test_settings_find_their_secret_files_and_only_migrations_get_the_owner_login(
    spec: ServiceSpec,
) -> None:
    objects = build(BASE)
    runtime = f"{spec.env_prefix}DATABASE_URL".lower()
    owner = f"{spec.env_prefix}MIGRATION_DATABASE_URL".lower()
    logins = {spec.name: {runtime}, f"{spec.name}-migrate": {runtime, owner}}
    for pod in (_pod(objects, name) for name in logins):
        settings = _settings(objects, pod)
        container = pod.spec["containers"][0]
        volume = _volume_at(pod, container, settings["BATON_SECRETS_DIR"])
        files = {item["path"] for source in _secret_sources(volume) for item in source["items"]}
        assert files & {runtime, owner} == logins[pod.owner], pod.owner
        assert settings[f"{spec.env_prefix}ENVIRONMENT"] == "production"
    api = _pod(objects, spec.name)
    settings = _settings(objects, api)
    TypeAdapter(list[TrustedIssuer]).validate_json(settings[f"{spec.env_prefix}TRUSTED_ISSUERS"])
    # Keys come from read-only Secret volumes: a pod never generates one.
    for variable, path in settings.items():
        if variable.endswith(("_KEYS_DIR", "_KEY_FILE")):
            folder = path if variable.endswith("_DIR") else str(Path(path).parent)
            volume = _volume_at(api, api.spec["containers"][0], folder)
            assert "secret" in volume, variable
            if variable.endswith("_FILE"):
                assert Path(path).name in _script_secrets()[volume["secret"]["secretName"]]


@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_the_gateway_runs_the_rendered_template_for_the_public_url(
    directory: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    objects = build(directory)
    platform = _one(objects, "ConfigMap", "baton-platform")["data"]
    issuers = TypeAdapter(list[TrustedIssuer]).validate_json(platform["trusted-issuers"])
    public_url = platform["issuer"].removesuffix("/identity")
    assert issuers[0] == container_layout(public_url).issuers[0].trusted
    identity = _settings(objects, _pod(objects, "identity-api"))
    assert identity["IDENTITY_ISSUER"] == platform["issuer"]
    # The command the README gives, with the deployment's external issuers and origins.
    external = TypeAdapter(list[TrustedIssuer]).dump_json(issuers[1:]).decode()
    monkeypatch.setenv("BATON_EXTERNAL_ISSUERS", external)
    monkeypatch.setenv("BATON_CORS_ORIGINS", platform["cors-origins"])
    monkeypatch.delenv("BATON_OTEL_COLLECTOR", raising=False)
    rendered = tmp_path / "envoy.yaml"
    command = ["gateway-config", "--public-url", public_url, "--output", str(rendered)]
    assert stack_command(["--root", str(REPOSITORY_ROOT), *command]) == 0
    envoy_yaml = _one(objects, "ConfigMap", "gateway-config")["data"]["envoy.yaml"]
    assert envoy_yaml == rendered.read_text(), (
        f"stale: python -m baton.stack {' '.join(command[:-2])} --output <envoy.yaml>"
    )
    [ingress] = _of_kind(objects, "Ingress")
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    hosts |= {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
    assert hosts == {urlsplit(public_url).hostname}
    # Envoy's upstreams are this namespace's Services, by name and port.
    envoy = yaml.safe_load(envoy_yaml)["static_resources"]
    services = {
        (o["metadata"]["name"], p["port"])
        for o in _of_kind(objects, "Service")
        for p in o["spec"]["ports"]
    }
    for cluster in envoy["clusters"]:
        for endpoints in cluster["load_assignment"]["endpoints"]:
            for endpoint in endpoints["lb_endpoints"]:
                address = endpoint["endpoint"]["address"]["socket_address"]
                assert (address["address"], address["port_value"]) in services
    gateway = _pod(objects, "gateway")
    [envoy_container] = gateway.spec["containers"]
    listener = envoy["listeners"][0]["address"]["socket_address"]
    assert envoy_container["ports"][0]["containerPort"] == listener["port_value"]
    config = Path(envoy_container["args"][envoy_container["args"].index("-c") + 1])
    volume = _volume_at(gateway, envoy_container, str(config.parent))
    assert volume["configMap"]["name"] == "gateway-config"
    assert config.name == "envoy.yaml"


# --- The walls ------------------------------------------------------------------------


@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_the_namespace_denies_everything_not_named(directory: Path) -> None:
    objects = build(directory)
    assert [
        p
        for p in _of_kind(objects, "NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not {"ingress", "egress"} & set(p["spec"])
    ]
    kube_dns = Pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, {})
    for pod in _pods(objects):
        assert _isolated(pod, objects, "Ingress"), pod.owner
        assert _isolated(pod, objects, "Egress"), pod.owner
        assert _allows(pod, kube_dns, 53, objects, "UDP"), pod.owner
        for policy, rule in _rules(pod, objects, "Egress"):
            assert rule.get("to"), f"{policy} lets {pod.owner} reach anyone"
            assert rule.get("ports"), f"{policy} lets {pod.owner} reach any port"
        for policy, rule in _rules(pod, objects, "Ingress"):
            # Only the gateway takes requests from the Ingress controller, wherever it runs.
            assert rule.get("from") or pod.owner == "gateway", f"{policy}: open to anyone"


@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_only_the_gateway_and_named_peers_reach_each_service(directory: Path) -> None:
    objects = build(directory)
    pods = _pods(objects)
    # A pod of another namespace wearing the gateway's labels is still a stranger.
    impostor = Pod("impostor", "elsewhere", _pod(objects, "gateway").labels, {})
    for name, expected in EXPECTED_CALLERS.items():
        service = _pod(objects, name)
        assert {pod.owner for pod in pods if _allows(pod, service, 8000, objects)} == expected
        # The service's own policies hold the line, whatever the callers' egress says.
        admitted = {pod.owner for pod in [*pods, impostor] if _admits(service, pod, 8000, objects)}
        assert admitted == expected, name
    # Every peer a service is configured to call is one it may reach.
    for spec in SERVICES:
        caller = _pod(objects, spec.name)
        settings = _settings(objects, caller)
        issuers = yaml.safe_load(settings[f"{spec.env_prefix}TRUSTED_ISSUERS"])
        urls = [v for k, v in settings.items() if k.endswith("_URL")]
        for url in [*urls, *(issuer["jwks_url"] for issuer in issuers)]:
            peer = urlsplit(url)
            assert peer.hostname in SERVICE_NAMES, url
            assert _allows(caller, _pod(objects, peer.hostname), peer.port or 80, objects), url


@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_each_service_reaches_its_own_database_and_no_other(directory: Path) -> None:
    objects = build(directory)
    for pod in _pods(objects):
        database_rules = [
            (policy, rule)
            for policy, rule in _rules(pod, objects, "Egress")
            if _port_open(rule, DATABASE_PORT, "TCP")
        ]
        service = pod.labels["app.kubernetes.io/name"]
        if service == "gateway":
            assert not database_rules
            continue
        [(policy, rule)] = database_rules
        assert policy == f"{service}-database", pod.owner
        assert rule["ports"] == [{"port": DATABASE_PORT, "protocol": "TCP"}]
        [peer] = rule["to"]
        assert ipaddress.ip_network(peer["ipBlock"]["cidr"]).num_addresses <= 16, pod.owner
    for name in SERVICE_NAMES:
        policy = _one(objects, "NetworkPolicy", f"{name}-database")["spec"]["podSelector"]
        selected = {pod.owner for pod in _pods(objects) if _selects(policy, pod.labels)}
        assert selected == {name, f"{name}-migrate"}


@pytest.mark.parametrize("directory", BUILDS, ids=BUILD_IDS)
def test_only_referral_webhooks_leave_the_cluster_and_only_to_public_https(directory: Path) -> None:
    objects = build(directory)
    for pod in _pods(objects):
        outside = [
            rule
            for policy, rule in _rules(pod, objects, "Egress")
            if not policy.endswith("-database") and any("ipBlock" in p for p in rule["to"])
        ]
        if pod.owner != "referral-api":
            assert not outside, pod.owner
            continue
        [webhooks] = outside
        assert webhooks["ports"] == [{"port": 443, "protocol": "TCP"}]
        blocks = [peer["ipBlock"] for peer in webhooks["to"]]
        [ipv4] = [block for block in blocks if block["cidr"] == "0.0.0.0/0"]
        assert set(ipv4["except"]) >= PRIVATE_RANGES
        assert all(block["except"] for block in blocks), "the cluster's own addresses stay out"
