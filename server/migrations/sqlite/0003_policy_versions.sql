-- Published policy versions: every publish (a push, a rollback, a change of the watched policy
-- folder) is one row, numbered 1, 2, 3, ... `policy_set` is the canonical policy set served
-- (JSON, what the diff compares and a rollback re-publishes); `files` the pushed files (JSON
-- object name -> text; empty for a folder change); `tests` the suite results (JSON).
CREATE TABLE policy_versions (
    version          INTEGER PRIMARY KEY NOT NULL,
    published_at_ms  INTEGER NOT NULL,
    published_by     TEXT NOT NULL,
    reason           TEXT NOT NULL,
    source           TEXT NOT NULL CHECK (source IN ('push', 'rollback', 'folder')),
    rolled_back_from INTEGER,
    digest           TEXT NOT NULL,
    policy_set       TEXT NOT NULL,
    files            TEXT NOT NULL,
    tests            TEXT NOT NULL
);
