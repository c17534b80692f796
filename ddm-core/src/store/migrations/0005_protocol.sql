-- The protocol of the job's last first answer (`HTTP/1.1`, `HTTP/2`), for `status --json`.
-- NULL until a request was answered.
ALTER TABLE jobs ADD COLUMN protocol TEXT;
