-- API keys made with `POST /v1/admin/keys` (`act admin keys create`): kept as the SHA-256 of the
-- key only (the key itself is shown once). The credentials file's keys (or dev mode's) are the
-- bootstrap credentials and are not in this table. A revoked key keeps its row (who, when).
CREATE TABLE api_keys (
    id             TEXT PRIMARY KEY NOT NULL,
    key_sha256     TEXT NOT NULL UNIQUE,
    identity       TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('agent', 'issuer', 'approver', 'admin')),
    agents         TEXT NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    created_by     TEXT NOT NULL,
    revoked_at_ms  INTEGER,
    revoked_by     TEXT,
    rotated_from   TEXT
);
