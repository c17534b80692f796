-- 0002: typed errors, the identity of the file a job created, byte-exact directories.
-- Never edit after release; add a new numbered file instead.
ALTER TABLE jobs ADD COLUMN error_kind TEXT;      -- model::ErrorKind of a failed job
-- The .part file the job created (O_EXCL): st_dev, st_ino and birth time. The final rename keeps the
-- inode, so the same identity recognises the finished file. NULL: nothing created yet.
ALTER TABLE jobs ADD COLUMN part_dev INTEGER;
ALTER TABLE jobs ADD COLUMN part_ino INTEGER;
ALTER TABLE jobs ADD COLUMN part_born INTEGER;   -- birth time, ns (NULL where unknown)
-- Directories are stored as the bytes the OS gave (a path need not be UTF-8).
UPDATE jobs SET dest_dir = CAST(dest_dir AS BLOB);
CREATE INDEX jobs_by_name ON jobs (dest_dir, file_name);
