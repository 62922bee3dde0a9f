"""The SQLite schema of the service's store, with its version."""

from __future__ import annotations

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    device_quota INTEGER NOT NULL,
    commercial INTEGER NOT NULL,
    admin_key_hash TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trusted_certificates (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    service TEXT NOT NULL CHECK (service IN ('bootstrap', 'lwm2m')),
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
    enrollment_mode INTEGER NOT NULL,
    certificate TEXT NOT NULL,
    subject TEXT NOT NULL,
    issuer TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (account_id, name)
);
CREATE TABLE IF NOT EXISTS enrollments (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    enrollment_identity TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    claimed_at TEXT,
    enrolled_device_id TEXT
);
CREATE TABLE IF NOT EXISTS developer_certificates (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    endpoint_name TEXT NOT NULL,
    state TEXT NOT NULL,
    device_key TEXT,
    ca_id TEXT,
    mechanism TEXT NOT NULL,
    execution_mode INTEGER NOT NULL,
    developer_certificate_id TEXT,
    lwm2m_mode TEXT NOT NULL,
    bootstrapped_timestamp TEXT,
    bootstrap_expiration_date TEXT,
    connector_expiration_date TEXT,
    lifetime INTEGER,
    registration_location TEXT,
    endpoint_type TEXT,
    binding TEXT,
    resources TEXT NOT NULL,
    registered_at TEXT,
    last_seen TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS devices_by_endpoint ON devices (account_id, endpoint_name);
CREATE INDEX IF NOT EXISTS devices_by_key ON devices (account_id, device_key);
CREATE INDEX IF NOT EXISTS devices_by_devcert ON devices (developer_certificate_id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT,
    account_id TEXT,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    state_change INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_device ON events (device_id);
CREATE TABLE IF NOT EXISTS denials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reason TEXT NOT NULL,
    endpoint_name TEXT,
    account_id TEXT,
    enrollment_identity TEXT,
    fingerprint TEXT,
    trusted_certificate_id TEXT,
    created_at TEXT NOT NULL
);
"""
