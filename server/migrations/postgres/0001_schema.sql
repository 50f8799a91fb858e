-- The PostgreSQL schema: the same tables as the SQLite migrations 0001-0005 (see those files for
-- what each column means), with BIGINT for milliseconds and counters and BIGSERIAL for arrival
-- order. Later changes get their own numbered file here and in ../sqlite.
CREATE TABLE approvals (
    id            TEXT PRIMARY KEY NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'denied', 'expired')),
    requested_by  TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    decided_by    TEXT,
    decided_at_ms BIGINT,
    entry         TEXT NOT NULL
);
CREATE INDEX approvals_by_status ON approvals (status, created_at_ms);

CREATE TABLE audit_records (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    at_ms       BIGINT NOT NULL,
    credential  TEXT NOT NULL,
    instance    TEXT NOT NULL,
    agent       TEXT,
    subject     TEXT,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    record      TEXT NOT NULL
);
CREATE INDEX audit_by_time ON audit_records (at_ms);
CREATE INDEX audit_by_agent ON audit_records (agent, at_ms);
CREATE INDEX audit_by_subject ON audit_records (subject, at_ms);
CREATE INDEX audit_by_reason ON audit_records (reason, at_ms);
CREATE INDEX audit_by_action ON audit_records (action, at_ms);

CREATE TABLE policy_versions (
    version          BIGINT PRIMARY KEY NOT NULL,
    published_at_ms  BIGINT NOT NULL,
    published_by     TEXT NOT NULL,
    reason           TEXT NOT NULL,
    source           TEXT NOT NULL CHECK (source IN ('push', 'rollback', 'folder')),
    rolled_back_from BIGINT,
    digest           TEXT NOT NULL,
    policy_set       TEXT NOT NULL,
    files            TEXT NOT NULL,
    tests            TEXT NOT NULL
);

CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY NOT NULL,
    key_sha256     TEXT NOT NULL UNIQUE,
    identity       TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('agent', 'issuer', 'approver', 'admin')),
    agents         TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    created_by     TEXT NOT NULL,
    revoked_at_ms  BIGINT,
    revoked_by     TEXT,
    rotated_from   TEXT
);

CREATE TABLE revoked (
    seq         BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('token', 'agent', 'subject', 'grant')),
    value       TEXT NOT NULL,
    added_at_ms BIGINT NOT NULL,
    added_by    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    UNIQUE (kind, value)
);
CREATE TABLE kill_switches (
    seq        BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('all', 'agent', 'action')),
    name       TEXT NOT NULL,
    on_at_ms   BIGINT NOT NULL,
    on_by      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    UNIQUE (kind, name)
);
CREATE TABLE revocation_events (
    seq         BIGSERIAL PRIMARY KEY,
    at_ms       BIGINT NOT NULL,
    by_identity TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('revoke', 'kill_switch_on', 'kill_switch_off')),
    target      TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE TABLE snapshot_revision (
    id      INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO snapshot_revision (id, version) VALUES (1, 0);
