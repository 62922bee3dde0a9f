"""JWT application keys: verify a token against an application's verification keys."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from harness.cloud.rest.errors import unauthorized
from harness.cloud.rest.verification_certs import parse_verification_cert

ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512")
_EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}


@dataclass(frozen=True)
class KeyCandidate:
    """One verification key of the application, as the verifier needs it."""

    id: str
    name: str
    status: str  # ACTIVE | INACTIVE
    certificate: str  # PEM


def _fits(alg: str, public_key: Any) -> bool:
    if alg.startswith(("RS", "PS")):
        return isinstance(public_key, rsa.RSAPublicKey)
    return isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name == _EC_CURVES[alg]


def token_algorithm(token: str) -> str:
    """The `alg` of a token's header, or a 401 if the token is not a JWT or the alg is not allowed."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise unauthorized("The bearer token is not a well-formed JWT; send a JWT signed with "
                           "your verification key's private key.", "invalid_token") from None
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise unauthorized(f"JWT algorithm {str(alg)[:10]!r} is not allowed; sign with one of "
                           f"{', '.join(ALLOWED_ALGORITHMS)}.", "invalid_token")
    return alg


def verify_application_jwt(token: str, application_id: str, keys: Sequence[KeyCandidate],
                           now: dt.datetime | None = None) -> dict[str, Any]:
    """Return the claims of a token signed by an active, unexpired key; else raise a 401 saying why."""
    alg = token_algorithm(token)
    if not keys:
        raise unauthorized(f"Application {application_id} has no verification keys; upload one "
                           "before using JWTs.", "invalid_token")
    signer: KeyCandidate | None = None
    public_key: Any = None
    for key in keys:
        candidate = parse_verification_cert(key.certificate).cert.public_key()
        if not _fits(alg, candidate):
            continue
        try:
            jwt.decode(token, candidate, algorithms=[alg],
                       options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                                "verify_aud": False, "verify_iss": False})
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidTokenError:
            continue
        signer, public_key = key, candidate
        break
    if signer is None:
        raise unauthorized(f"The JWT signature does not match any verification key of application "
                           f"{application_id} for {alg}; sign with the private key of one of its "
                           "keys.", "invalid_token")
    if signer.status != "ACTIVE":
        raise unauthorized(f"Verification key {signer.name!r} that signed the JWT is inactive; "
                           "reactivate it or sign with an active key.", "invalid_token")
    if parse_verification_cert(signer.certificate).expired(now):
        raise unauthorized(f"Verification key {signer.name!r} that signed the JWT has an expired "
                           "certificate; update its certificate or use another key.", "invalid_token")
    try:
        claims = jwt.decode(token, public_key, algorithms=[alg], options={"require": ["exp"],
                                                                           "verify_aud": False})
    except jwt.ExpiredSignatureError:
        raise unauthorized("The JWT has expired (exp is in the past); sign a new one.",
                           "token_expired") from None
    except jwt.MissingRequiredClaimError:
        raise unauthorized("The JWT has no exp claim; add an expiration time (exp) and sign again.",
                           "invalid_token") from None
    except jwt.InvalidTokenError as exc:
        raise unauthorized(f"The JWT is not valid ({exc}); sign a new one.", "invalid_token") from None
    for name in ("exp", "nbf", "iat"):  # RFC 7519: a NumericDate is a JSON number, not a string
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise unauthorized(f"The JWT's {name} claim is {type(value).__name__}, not a number "
                               "of seconds (NumericDate); sign it with a numeric {name}."
                               .replace("{name}", name), "invalid_token")
    return claims

