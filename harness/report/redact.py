"""Remove secrets (private keys, tokens, API keys, passwords, key blobs) from text before it is stored."""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

# A PEM private-key block of any kind (EC, RSA, ENCRYPTED, OPENSSH, PKCS#8): complete, or cut short
# (a console log that ends mid-key), then the BEGIN line plus its header and base64 lines.
_PEM_KEY = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----"
    r"(?:(?P<body>(?:(?!-----BEGIN ).)*?)-----END \1PRIVATE KEY-----"
    r"|(?:[ \t]*\r?\n[ \t]*(?:\[REDACTED\]|[A-Za-z0-9+/=]+|(?:Proc-Type|DEK-Info):[^\r\n]*)"
    r"[ \t]*(?=\r?\n|\Z))*)",
    re.DOTALL,
)
# JSON Web Tokens (JWS: 3 parts, JWE: 5 parts); the header always starts with base64url('{"').
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*){1,4}")
# An HTTP Authorization header value, whatever its scheme.
_AUTH_HEADER = re.compile(
    r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?)(?:(bearer|basic|digest|token|apikey)\s+)?[^\s\"',;]+"
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]+")
# Device Management access/API keys.
_API_KEY = re.compile(r"\bak_[A-Za-z0-9_-]{8,}")
# user:password@ in URLs.
_URL_PASSWORD = re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s/@]+@")
# label=value / label: value / "label": "value" where the label names a password or token.
_SECRET_LABEL = (
    r"[A-Za-z0-9_.-]*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|psk)"
)
_LABELLED_VALUE = re.compile(
    rf"(?i)(?<![A-Za-z0-9_.-])({_SECRET_LABEL})(?![A-Za-z0-9])"
    r"([\"']?[ \t]*[:=][ \t]*)(\"[^\"\r\n]*\"|'[^'\r\n]*'|[^\s&,;\"']+)"
)
# A hex or base64 blob after a label that names a key or secret ("PSK key: 0a1b...", "private key MHcC...").
_KEY_BLOB = re.compile(
    r"(?i)(?<![A-Za-z0-9_.-])([A-Za-z0-9_.-]*(?:key|secret|psk))(?![A-Za-z0-9])"
    r"([\"']?[ \t]*[:=]?[ \t]*[\"']?)"
    r"((?:[0-9a-f]{2}[: ]?){8,}|(?=[A-Za-z]*[0-9+/])[A-Za-z0-9+/_-]{16,}={0,2})"
)


def _quoted(value: str) -> str:
    """Replace a value by the marker, keeping its quotes so JSON/YAML stays parseable."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return f"{value[0]}{REDACTED}{value[0]}"
    return REDACTED


def _pem_replacement(match: re.Match[str]) -> str:
    """Keep the BEGIN/END lines of a private-key block and drop its body."""
    label = f"{match[1]}PRIVATE KEY-----"
    if match["body"] is None:
        return f"-----BEGIN {label}\n{REDACTED}"
    return f"-----BEGIN {label}\n{REDACTED}\n-----END {label}"


def redact(text: str) -> str:
    """Return text with private keys, JWTs, bearer tokens, API keys, passwords and key blobs replaced."""
    if not text:
        return text
    text = _PEM_KEY.sub(_pem_replacement, text)
    text = _JWT.sub(REDACTED, text)
    text = _AUTH_HEADER.sub(lambda m: f"{m[1]}{m[2] + ' ' if m[2] else ''}{REDACTED}", text)
    text = _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _API_KEY.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: f"{m[1]}{REDACTED}@", text)
    text = _LABELLED_VALUE.sub(
        lambda m: m[0] if REDACTED in m[3] else f"{m[1]}{m[2]}{_quoted(m[3])}", text
    )
    return _KEY_BLOB.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
