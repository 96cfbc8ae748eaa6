"""The only module that touches python-jose: signing, JWKs and verification.

python-jose's defaults are unsafe: without `algorithms` it accepts an HS256 token
whose HMAC key is a public key, and without `require_*` it accepts tokens that
lack `aud` or `exp`. Every call here pins the algorithm and requires the claims,
so the rest of Baton never calls the library directly (a test enforces it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jose import jwk, jwt
from jose.exceptions import JOSEError

SigningAlgorithm = Literal["ES256", "ES384", "RS256", "RS384", "RS512", "PS256"]
# Asymmetric only: never `none`, never HS* (a shared secret would let any verifier mint tokens).
ASYMMETRIC_ALGORITHMS: frozenset[str] = frozenset(
    {"ES256", "ES384", "RS256", "RS384", "RS512", "PS256"}
)
_KEY_TYPE = {"ES": "EC", "RS": "RSA", "PS": "RSA"}


class TokenInvalid(Exception):
    """The token is not acceptable; the message is safe to show (no token content)."""


def generate_private_key(algorithm: SigningAlgorithm) -> str:
    """A new private key in PKCS#8 PEM for `algorithm`."""
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "ES384":
        key = ec.generate_private_key(ec.SECP384R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def public_jwk(private_key_pem: str, *, kid: str, algorithm: SigningAlgorithm) -> dict[str, Any]:
    """The public half of a private key as a JWK (for a JWKS document)."""
    public = jwk.construct(private_key_pem, algorithm).public_key().to_dict()
    return {**public, "kid": kid, "alg": algorithm, "use": "sig"}


def sign(
    claims: Mapping[str, Any], private_key_pem: str, *, kid: str, algorithm: SigningAlgorithm
) -> str:
    return jwt.encode(dict(claims), private_key_pem, algorithm=algorithm, headers={"kid": kid})


def unverified_header(token: str) -> dict[str, Any]:
    try:
        header: dict[str, Any] = jwt.get_unverified_header(token)
    except JOSEError as exc:
        raise TokenInvalid("malformed token") from exc
    return header


def unverified_claims(token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.get_unverified_claims(token)
    except JOSEError as exc:
        raise TokenInvalid("malformed token") from exc
    return claims


def verify(
    token: str,
    key: Mapping[str, Any],
    *,
    algorithms: Sequence[str],
    issuer: str,
    audience: str,
    leeway_seconds: int,
) -> dict[str, Any]:
    """Check signature, `iss`, `aud`, `exp`, `nbf` and `iat`; return the claims."""
    allowed = [alg for alg in algorithms if alg in ASYMMETRIC_ALGORITHMS]
    header_alg = unverified_header(token).get("alg")
    if header_alg not in allowed:
        raise TokenInvalid("algorithm not allowed")
    # The key itself must be of the algorithm's family (a key-confusion guard).
    key_alg = key.get("alg")
    if (key_alg is not None and key_alg != header_alg) or key.get("kty") != _KEY_TYPE[
        str(header_alg)[:2]
    ]:
        raise TokenInvalid("key does not match the token's algorithm")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            dict(key),
            algorithms=[str(header_alg)],
            audience=audience,
            issuer=issuer,
            options={
                "verify_signature": True,
                "verify_aud": True,
                "verify_iat": True,
                "verify_exp": True,
                "verify_nbf": True,
                "verify_iss": True,
                "verify_sub": True,
                "verify_jti": True,
                "verify_at_hash": False,
                "require_aud": True,
                "require_iat": True,
                "require_exp": True,
                "require_iss": True,
                "require_nbf": False,
                "require_sub": True,
                "leeway": leeway_seconds,
            },
        )
    except JOSEError as exc:
        raise TokenInvalid(_reason(exc)) from exc
    return claims


def _reason(exc: JOSEError) -> str:
    name = type(exc).__name__
    if "missing" in str(exc):
        return str(exc).lower().replace('"', "")
    if name == "ExpiredSignatureError":
        return "token expired"
    if name == "JWTClaimsError":
        # Its messages name the claim (audience, issuer, nbf...), never a value.
        return str(exc).lower() or "claims invalid"
    return "signature or format invalid"
