-- 0001: jobs and host policy. Never edit after release; add a new numbered file instead.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url           TEXT    NOT NULL,             -- the URL as the user (or HAR) gave it
    final_url     TEXT,                         -- after redirects; NULL until probed
    dest_dir      TEXT    NOT NULL,
    file_name     TEXT,                         -- NULL until chosen (unless -o)
    name_fixed    INTEGER NOT NULL DEFAULT 0,   -- 1 when the user chose the name
    size          INTEGER,                      -- NULL: unknown
    etag          TEXT,
    last_modified TEXT,
    ranges        INTEGER,                      -- NULL: not probed; 0/1
    piece_size    INTEGER,
    bitmap        BLOB,                         -- completion bitmap, one bit per piece
    state         TEXT    NOT NULL CHECK (state IN ('queued','running','paused','done','failed')),
    error         TEXT,                         -- last error (failed jobs)
    settings      TEXT    NOT NULL DEFAULT '{}',-- per-job settings as JSON
    bytes_done    INTEGER NOT NULL DEFAULT 0,   -- durable bytes (what the bitmap claims)
    speed         INTEGER,                      -- bytes/s at the last checkpoint while running
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX jobs_by_state ON jobs (state, id);

CREATE TABLE hosts (
    host            TEXT    PRIMARY KEY,        -- scheme://host:port
    max_connections INTEGER,                    -- learned cap (server refused more)
    recommended     INTEGER,                    -- from `ddm bench --save`
    updated_at      INTEGER NOT NULL
);
