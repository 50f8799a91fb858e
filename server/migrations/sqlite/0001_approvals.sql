-- Approval requests and their decisions. `entry` is the full entry as served (JSON); the other
-- columns are what queries filter and order by.
CREATE TABLE approvals (
    id            TEXT PRIMARY KEY NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'granted', 'denied', 'expired')),
    requested_by  TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    decided_by    TEXT,
    decided_at_ms INTEGER,
    entry         TEXT NOT NULL
);
CREATE INDEX approvals_by_status ON approvals (status, created_at_ms);
