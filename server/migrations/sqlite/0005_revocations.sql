-- Revocations and kill switches, moved here from `<state-dir>/revocations.json` (imported once at
-- the first start that finds the file; it is then renamed `revocations.json.imported`).
-- `revoked` and `kill_switches` are what is in effect now (one row per item, in the order added);
-- `revocation_events` is the history: every add and lift with who, when and why.
CREATE TABLE revoked (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('token', 'agent', 'subject', 'grant')),
    -- The id, or for a grant the grant as JSON.
    value       TEXT NOT NULL,
    added_at_ms INTEGER NOT NULL,
    added_by    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    UNIQUE (kind, value)
);
CREATE TABLE kill_switches (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL CHECK (kind IN ('all', 'agent', 'action')),
    -- The agent or action ('' for `all`).
    name       TEXT NOT NULL,
    on_at_ms   INTEGER NOT NULL,
    on_by      TEXT NOT NULL,
    reason     TEXT NOT NULL,
    UNIQUE (kind, name)
);
CREATE TABLE revocation_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms       INTEGER NOT NULL,
    by_identity TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('revoke', 'kill_switch_on', 'kill_switch_off')),
    -- What it applied to (JSON: the body's non-empty lists).
    target      TEXT NOT NULL,
    reason      TEXT NOT NULL
);
-- The snapshot version of the latest change (policy publish, revocation, kill switch, start):
-- bumped in the same transaction as the change, so every replica signs the same version for the
-- same state. Milliseconds since the epoch, or one more than the last.
CREATE TABLE snapshot_revision (
    id      INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO snapshot_revision (id, version) VALUES (1, 0);
