-- 0009: progress finer than pieces. Never edit after release; add a new numbered file
-- instead.
--
--   partial  byte ranges written and fdatasync'ed that cover no whole piece (a paused,
--            interrupted or crashed job's segment fronts), as (start, end) pairs of
--            little-endian u64; kept beside the bitmap so a resume fetches only what is
--            missing, not the rest of every begun piece. NULL: none.
ALTER TABLE jobs ADD COLUMN partial BLOB;
