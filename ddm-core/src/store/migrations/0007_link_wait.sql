-- 0007: a job whose download link expired waits for a fresh one instead of failing.
-- Never edit after release; add a new numbered file instead.
--
-- The state CHECK of 0001 cannot be altered in place, so the table is rebuilt with the same
-- columns in the same order, plus:
--   waiting   why the job waits for a fresh link (NULL: it does not). Set while its runner
--             holds it (state 'running') and once it rests (state 'waiting').
--   link_gen  bumped each time the job is given a new link (`set-url`, `get`/`add` attaching
--             a fresh link): a runner working the job picks the new link up.
CREATE TABLE jobs_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    url           TEXT    NOT NULL,
    final_url     TEXT,
    dest_dir      TEXT    NOT NULL,
    file_name     TEXT,
    name_fixed    INTEGER NOT NULL DEFAULT 0,
    size          INTEGER,
    etag          TEXT,
    last_modified TEXT,
    ranges        INTEGER,
    piece_size    INTEGER,
    bitmap        BLOB,
    state         TEXT    NOT NULL
                  CHECK (state IN ('queued','running','waiting','paused','done','failed')),
    error         TEXT,
    settings      TEXT    NOT NULL DEFAULT '{}',
    bytes_done    INTEGER NOT NULL DEFAULT 0,
    speed         INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    error_kind    TEXT,
    part_dev      INTEGER,
    part_ino      INTEGER,
    part_born     INTEGER,
    conns         INTEGER,
    protocol      TEXT,
    dir_dev       INTEGER,
    dir_ino       INTEGER,
    dir_born      INTEGER,
    waiting       TEXT,
    link_gen      INTEGER NOT NULL DEFAULT 0
);
INSERT INTO jobs_new (id, url, final_url, dest_dir, file_name, name_fixed, size, etag,
    last_modified, ranges, piece_size, bitmap, state, error, settings, bytes_done, speed,
    created_at, updated_at, error_kind, part_dev, part_ino, part_born, conns, protocol,
    dir_dev, dir_ino, dir_born)
SELECT id, url, final_url, dest_dir, file_name, name_fixed, size, etag,
    last_modified, ranges, piece_size, bitmap, state, error, settings, bytes_done, speed,
    created_at, updated_at, error_kind, part_dev, part_ino, part_born, conns, protocol,
    dir_dev, dir_ino, dir_born
FROM jobs;
-- Ids are never reused: the new table goes on from the highest id ever given, not from the
-- highest one left.
DELETE FROM sqlite_sequence WHERE name = 'jobs_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'jobs_new', seq FROM sqlite_sequence WHERE name = 'jobs';
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs (state, id);
CREATE INDEX jobs_by_name ON jobs (dest_dir, file_name);
