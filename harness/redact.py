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
# Device Management access/API keys, and the local service's operator key.
_API_KEY = re.compile(r"\b(?:ak|op)_[A-Za-z0-9_-]{8,}")
# user:password@ in URLs.
_URL_PASSWORD = re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s/@]+@")
# label=value / label: value / "label": "value" where the label ends with a password or token word
# (db_password, clientSecret, X-Auth-Token, ...).
_LABELLED_VALUE = re.compile(
    r"(?i)(password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key|psk)(?![A-Za-z0-9])"
    r"([\"']?[ \t]*[:=][ \t]*)(\"[^\"\r\n]*\"|'[^'\r\n]*'|[^\s&,;\"']+)"
)
# A hex or base64 blob after a label that ends with key/secret/psk ("PSK key: 0a1b...", "PrivateKey MHcC...").
_KEY_BLOB = re.compile(
    r"(?i)(key|secret|psk)(?![A-Za-z0-9])"
    r"([\"']?[ \t]*[:=]?[ \t]*[\"']?)"
    r"((?:[0-9a-f]{2}[: ]?){8,}|(?=[A-Za-z]*[0-9+/])[A-Za-z0-9+/_-]{16,}={0,2})"
)
# Every label of _LABELLED_VALUE and _KEY_BLOB contains one of these (lower case).
_LABEL_WORDS = ("pass", "pwd", "secret", "token", "key", "psk")


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


def _redact_labelled(line: str) -> str:
    """Redact password/token values and key/secret blobs in one line."""
    line = _LABELLED_VALUE.sub(
        lambda m: m[0] if REDACTED in m[3] else f"{m[1]}{m[2]}{_quoted(m[3])}", line
    )
    return _KEY_BLOB.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", line)


def redact(text: str) -> str:
    """Return text with private keys, JWTs, bearer tokens, API keys, passwords and key blobs replaced."""
    if not text:
        return text
    # Each pattern runs only when a cheap substring test says it can match: logs are long.
    lower = text.lower()
    if "private key-----" in lower:
        text = _PEM_KEY.sub(_pem_replacement, text)
    if "eyJ" in text:
        text = _JWT.sub(REDACTED, text)
    if "authorization" in lower:
        text = _AUTH_HEADER.sub(lambda m: f"{m[1]}{m[2] + ' ' if m[2] else ''}{REDACTED}", text)
    if "bearer" in lower:
        text = _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", text)
    if "ak_" in text or "op_" in text:
        text = _API_KEY.sub(REDACTED, text)
    if "://" in text and "@" in text:
        text = _URL_PASSWORD.sub(lambda m: f"{m[1]}{REDACTED}@", text)
    if any(word in lower for word in _LABEL_WORDS):
        # Labelled values never span lines: only lines that name a secret need the slow patterns.
        text = "".join(
            _redact_labelled(line) if any(word in line.lower() for word in _LABEL_WORDS) else line
            for line in text.splitlines(keepends=True)
        )
    return text
