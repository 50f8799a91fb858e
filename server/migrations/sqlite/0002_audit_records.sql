-- Ingested audit records, kept queryable for the console's audit explorer. The audit log file
-- (`--audit-log`) stays the append-only evidence; this table is its bounded, indexed copy.
-- `seq` orders by arrival and bounds the table (the oldest rows beyond the limit are deleted).
CREATE TABLE audit_records (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    at_ms       INTEGER NOT NULL,
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
