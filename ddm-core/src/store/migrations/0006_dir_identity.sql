-- 0006: the identity of a job's destination directory (st_dev, st_ino, birth time), recorded
-- when the job creates its .part file there. A later run opens the directory again and refuses
-- it if it is not the same one (swapped for a symlink or another directory). NULL: not yet known.
ALTER TABLE jobs ADD COLUMN dir_dev INTEGER;
ALTER TABLE jobs ADD COLUMN dir_ino INTEGER;
ALTER TABLE jobs ADD COLUMN dir_born INTEGER;   -- birth time, ns (NULL where unknown)
