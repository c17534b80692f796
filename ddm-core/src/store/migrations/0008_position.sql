-- 0008: the queue's order (aria2's changePosition, `ddm serve`): the runner claims queued jobs
-- by position, then id. Never edit after release; add a new numbered file instead.
--
--   position  the job's place in the queue order; a new job goes last (its id, set by the
--             trigger below), a job moved gets the place it was moved to.
ALTER TABLE jobs ADD COLUMN position INTEGER;
UPDATE jobs SET position = id;
CREATE TRIGGER jobs_position AFTER INSERT ON jobs WHEN NEW.position IS NULL
BEGIN
    UPDATE jobs SET position = NEW.id WHERE id = NEW.id;
END;
CREATE INDEX jobs_queue ON jobs (state, position, id);
