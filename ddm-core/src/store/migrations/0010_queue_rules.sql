-- 0010: queue rules (issue 18): priorities, start times, dependencies, the routing rule
-- chosen. Never edit after release; add a new numbered file instead.
--
--   priority    claimed first when higher (`ddm add --priority`: high 10, normal 0, low -10,
--               or a number from -100 to 100); among equal priorities the queue position,
--               then the id, decide.
--   not_before  epoch seconds before which the job is not claimed (`--at`, `--in`); NULL:
--               any time.
--   after_job   the id of a job that must be done before this one is claimed (`--after`);
--               NULL: none. A dependency that fails (or is removed before it is done) fails
--               this job.
--   rule        the `[[rule]]` of the config that routed the job, and why it matched (shown
--               by `status`); NULL: none applied (yet).
ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN not_before INTEGER;
ALTER TABLE jobs ADD COLUMN after_job INTEGER;
ALTER TABLE jobs ADD COLUMN rule TEXT;
DROP INDEX IF EXISTS jobs_queue;
CREATE INDEX jobs_queue ON jobs (state, priority DESC, position, id);
CREATE INDEX jobs_after ON jobs (after_job) WHERE after_job IS NOT NULL;
