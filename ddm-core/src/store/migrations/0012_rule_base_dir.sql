-- 0012: routing rules (issue 18.1). Never edit after release; add a new numbered file
-- instead. (0011 is the schedules' and cleanup's.)
--
--   base_dir  the directory the job was added for (the current directory, serve.dir) when
--             a `[[rule]]` sent it to another (`dest_dir` is where it saves): `ddm get` of
--             the same URL from there finds the job again. NULL: not moved by a rule.
--
-- The `rule` column (0010) holds the rule that routed the job as JSON: {"index": N,
-- "name": "video" or null, "why": "the name \"a.mp4\" matches \"*.mp4\""}.
ALTER TABLE jobs ADD COLUMN base_dir BLOB;
