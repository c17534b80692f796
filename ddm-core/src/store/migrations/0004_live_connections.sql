-- Connections a running job has open, recorded with each checkpoint (like `speed`), so that
-- `status` and `top` in another terminal can show them. NULL when the job is not running.
ALTER TABLE jobs ADD COLUMN conns INTEGER;
