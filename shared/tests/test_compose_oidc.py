"""The `oidc` profile: a demo Keycloak whose tokens Baton accepts, and nothing more.

The realm's mappers are read as Keycloak applies them to an access token; the token
is then signed and verified by the kit's own verifier, for every service's audience.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import TypeAdapter

from baton.auth import OrgKind, TokenVerifier, TrustedIssuer
from baton.authz import ROLE_PERMISSIONS, Role, permissions_of
from baton.stack.gateway import container_layout, render
from baton.stack.programme import ORGANISATIONS
from baton.stack.services import SERVICES
from baton.testing import REPOSITORY_ROOT, envoy_validation
from baton.testing_issuer import TestIssuer
from compose_files import depends_on, mounts, oidc_override, published_ports, services

KEYCLOAK = REPOSITORY_ROOT / "deploy/keycloak"
REALM_FILE = KEYCLOAK / "baton-realm.json"
TRUSTED_ISSUERS_FILE = KEYCLOAK / "trusted-issuers.json"
OIDC_GATEWAY_CONFIG = "deploy/keycloak/envoy.compose-oidc.yaml"
ISSUERS = TypeAdapter(list[TrustedIssuer])
USER_PROFILE_PROVIDER = "org.keycloak.userprofile.UserProfileProvider"


def _realm() -> dict[str, Any]:
    realm: dict[str, Any] = json.loads(REALM_FILE.read_text())
    return realm


def _keycloak_issuer() -> TrustedIssuer:
    [issuer] = ISSUERS.validate_json(TRUSTED_ISSUERS_FILE.read_text())
    return issuer


def _client(client_id: str) -> dict[str, Any]:
    clients: list[dict[str, Any]] = _realm()["clients"]
    [client] = [c for c in clients if c["clientId"] == client_id]
    return client


def _user_profile() -> dict[str, Any]:
    [provider] = _realm()["components"][USER_PROFILE_PROVIDER]
    [config] = provider["config"]["kc.user.profile.config"]
    profile: dict[str, Any] = json.loads(config)
    return profile


def _put(claims: dict[str, Any], name: str, value: Any) -> None:
    """Keycloak nests a dotted claim name (`baton.org_kind`) into objects."""
    *parents, leaf = name.split(".")
    for parent in parents:
        claims = claims.setdefault(parent, {})
    claims[leaf] = value


def access_token_claims(
    client: dict[str, Any], user: dict[str, Any], user_id: str
) -> dict[str, Any]:
    """What Keycloak puts in `client`'s access token for `user`: its own claims, then
    each of the client's mappers. (Its default scopes are Keycloak's built-ins, `acr`
    and `web-origins`: they add nothing Baton reads.)"""
    realm = _realm()
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": _keycloak_issuer().issuer,
        "iat": now,
        "exp": now + realm["accessTokenLifespan"],
        "jti": str(uuid.uuid4()),
        "typ": "Bearer",
        "azp": client["clientId"],
        "scope": "openid",
    }
    roles = set(user["realmRoles"])
    if not client["fullScopeAllowed"]:
        [scoped] = [m["roles"] for m in realm["scopeMappings"] if m["client"] == client["clientId"]]
        roles &= set(scoped)
    audiences = []
    for mapper in client["protocolMappers"]:
        config = mapper["config"]
        if config.get("access.token.claim") != "true":
            continue
        kind = mapper["protocolMapper"]
        if kind == "oidc-sub-mapper":
            claims["sub"] = user_id
        elif kind == "oidc-audience-mapper":
            audiences.append(config["included.custom.audience"])
        elif kind == "oidc-usermodel-attribute-mapper":
            values = user["attributes"].get(config["user.attribute"], [])
            if values:
                multivalued = config["multivalued"] == "true"
                _put(claims, config["claim.name"], values if multivalued else values[0])
        elif kind == "oidc-usermodel-realm-role-mapper":
            assert config["multivalued"] == "true"
            _put(claims, config["claim.name"], sorted(roles))
        else:
            raise AssertionError(f"{kind}: teach this test what the mapper emits")
    if audiences:
        claims["aud"] = audiences[0] if len(audiences) == 1 else audiences
    return claims


def test_the_realm_keeps_keycloaks_own_scopes_and_staff_data_out_of_tokens() -> None:
    realm = _realm()
    assert realm["realm"] == "baton"
    assert realm["enabled"] is True
    # With a `clientScopes` list Keycloak would create only those, not its built-ins.
    assert "clientScopes" not in realm
    assert realm["registrationAllowed"] is False
    for client in realm["clients"]:
        # Staff names and addresses stay out of tokens unless a frontend asks for them.
        assert set(client["defaultClientScopes"]) <= {"acr", "web-origins"}, client["clientId"]


async def test_the_demo_users_tokens_pass_the_kits_verifier_for_every_service() -> None:
    keycloak = _keycloak_issuer()
    stand_in = TestIssuer()  # signs as Keycloak would, with an RS256 key of its own
    with stand_in.running():
        trusted = keycloak.model_copy(update={"jwks_url": stand_in.trusted.jwks_url})
        for spec in SERVICES:
            verifier = TokenVerifier([trusted], audience=spec.name)
            try:
                for client in _realm()["clients"]:
                    for user in _realm()["users"]:
                        user_id = str(uuid.uuid4())
                        claims = access_token_claims(client, user, user_id)
                        principal = await verifier.verify(stand_in.sign(claims))
                        assert principal.subject == user_id
                        assert str(principal.org_id) == user["attributes"]["org_id"][0]
                        assert principal.org_kind == user["attributes"]["org_kind"][0]
                        assert principal.roles == set(user["realmRoles"])
                        # Every role counts in the user's kind of organisation.
                        expected = set().union(
                            *(ROLE_PERMISSIONS[Role(r)] for r in principal.roles)
                        )
                        assert permissions_of(principal) == expected
            finally:
                await verifier.aclose()


def test_tokens_carry_baton_roles_only() -> None:
    realm = _realm()
    baton_roles = {role.value for role in Role}
    assert {role["name"] for role in realm["roles"]["realm"]} == baton_roles
    for client in realm["clients"]:
        # Otherwise Keycloak's own roles (offline_access, default-roles-baton) join them.
        assert client["fullScopeAllowed"] is False, client["clientId"]
    assert {m["client"]: set(m["roles"]) for m in realm["scopeMappings"]} == {
        client["clientId"]: baton_roles for client in realm["clients"]
    }


def test_only_administrators_set_a_users_organisation() -> None:
    """Users edit their own profile in Keycloak's account console: the attributes that
    place them in an organisation must not be theirs to change."""
    profile = _user_profile()
    declared = {attribute["name"]: attribute for attribute in profile["attributes"]}
    assert "unmanagedAttributePolicy" not in profile  # undeclared attributes never exist
    for client in _realm()["clients"]:
        for mapper in client["protocolMappers"]:
            if mapper["protocolMapper"] != "oidc-usermodel-attribute-mapper":
                continue
            # Keycloak 24+ drops attributes its user profile does not declare.
            attribute = declared[mapper["config"]["user.attribute"]]
            assert attribute["permissions"]["edit"] == ["admin"], attribute["name"]
    kinds = declared["org_kind"]["validations"]["options"]["options"]
    assert kinds == [kind.value for kind in OrgKind]
    pattern = declared["org_id"]["validations"]["pattern"]["pattern"]
    assert re.fullmatch(pattern, str(uuid.uuid4()))
    assert not re.fullmatch(pattern, "not-an-organisation")


def test_the_demo_users_belong_to_the_demo_programme_and_say_so() -> None:
    organisations = {str(org.id): org.kind.value for org in ORGANISATIONS}
    kinds = set()
    for user in _realm()["users"]:
        [org_id] = user["attributes"]["org_id"]
        [org_kind] = user["attributes"]["org_kind"]
        assert organisations[org_id] == org_kind, user["username"]
        kinds.add((org_kind, tuple(user["realmRoles"])))
        [credential] = user["credentials"]
        assert credential["value"].startswith("demo-only-"), user["username"]
        assert user["username"].startswith("demo-")
    assert kinds == {("ngo", ("caseworker",)), ("donor", ("donor_viewer",))}


def test_the_frontend_signs_in_with_pkce_and_never_with_a_password() -> None:
    frontend = _client("baton-frontend")
    assert frontend["publicClient"] is True
    assert frontend["standardFlowEnabled"] is True
    assert frontend["attributes"]["pkce.code.challenge.method"] == "S256"
    assert frontend["implicitFlowEnabled"] is False
    assert frontend["directAccessGrantsEnabled"] is False
    assert "*" not in frontend["redirectUris"]
    assert all(
        uri.startswith(f"{origin}/")
        for uri in frontend["redirectUris"]
        for origin in frontend["webOrigins"]
    )


def test_the_profile_runs_keycloak_where_the_trusted_issuer_says() -> None:
    keycloak_service = services()["keycloak"]
    issuer = _keycloak_issuer()
    realm = _realm()
    assert keycloak_service["profiles"] == ["oidc"]
    assert keycloak_service["command"][0] == "start-dev"
    assert "--import-realm" in keycloak_service["command"]
    [realm_mount] = mounts(keycloak_service)
    assert (REPOSITORY_ROOT / realm_mount.source).resolve() == REALM_FILE
    assert realm_mount.target.startswith("/opt/keycloak/data/import/")
    # Browsers, and so `iss`, use the published address; the network uses the service name.
    public = keycloak_service["environment"]["KC_HOSTNAME"]
    assert issuer.issuer == f"{public}/realms/{realm['realm']}"
    [port] = published_ports(keycloak_service)
    assert (urlsplit(public).hostname, urlsplit(public).port) == (port.host_ip, port.host_port)
    jwks = urlsplit(issuer.jwks_url)
    assert (jwks.hostname, jwks.port) == ("keycloak", port.container_port)
    assert jwks.path == f"/realms/{realm['realm']}/protocol/openid-connect/certs"
    assert realm["defaultSignatureAlgorithm"] in issuer.algorithms
    assert realm["accessTokenLifespan"] <= issuer.max_lifetime_seconds
    assert issuer.audience is None  # each service checks its own name in `aud`
    assert "healthcheck" in keycloak_service
    # Keycloak takes its admin password from the environment: the entrypoint reads the secret.
    [secret] = keycloak_service["secrets"]
    assert f"/run/secrets/{secret}" in " ".join(keycloak_service["entrypoint"])


def test_the_override_adds_keycloak_to_every_services_trusted_issuers() -> None:
    override = oidc_override()["services"]
    for spec in SERVICES:
        variable = f"{spec.env_prefix}TRUSTED_ISSUERS"
        base = ISSUERS.validate_json(services()[spec.name]["environment"][variable])
        trusting = ISSUERS.validate_json(override[spec.name]["environment"][variable])
        assert trusting == [*base, _keycloak_issuer()], spec.name
    gateway = override["gateway"]
    [base_config] = mounts(services()["gateway"])
    [config] = mounts(gateway)
    assert (config.source, config.target) == (f"./{OIDC_GATEWAY_CONFIG}", base_config.target)
    assert depends_on(gateway) == {"keycloak": "service_healthy"}


def _oidc_layout_rendering() -> str:
    origins = _client("baton-frontend")["webOrigins"]
    layout = container_layout(external_issuers=[_keycloak_issuer()], cors_origins=origins)
    return render(REPOSITORY_ROOT, layout)


def test_the_oidc_gateway_configuration_is_the_rendered_template() -> None:
    committed = (REPOSITORY_ROOT / OIDC_GATEWAY_CONFIG).read_text()
    assert committed == _oidc_layout_rendering(), (
        'regenerate: BATON_EXTERNAL_ISSUERS="$(cat deploy/keycloak/trusted-issuers.json)"'
        " BATON_CORS_ORIGINS=http://127.0.0.1:3000 python -m baton.stack gateway-config"
        f" --output {OIDC_GATEWAY_CONFIG}"
    )
    [listener] = yaml.safe_load(committed)["static_resources"]["listeners"]
    [published] = published_ports(services()["gateway"])
    assert listener["address"]["socket_address"]["port_value"] == published.container_port


def test_envoy_accepts_the_oidc_gateway_configuration(tmp_path: Path) -> None:
    config = tmp_path / "envoy.yaml"
    config.write_text(_oidc_layout_rendering())
    result = envoy_validation(config)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("client_id", ["baton-frontend", "baton-demo-cli"])
def test_every_client_gives_every_service_its_audience(client_id: str) -> None:
    audiences = {
        m["config"]["included.custom.audience"]
        for m in _client(client_id)["protocolMappers"]
        if m["protocolMapper"] == "oidc-audience-mapper"
    }
    assert audiences == {spec.name for spec in SERVICES}
