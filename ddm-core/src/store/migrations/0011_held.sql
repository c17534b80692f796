-- 0011: schedules (issue 18.2). Never edit after release; add a new numbered file instead.
--
--   held   why a paused job is paused by the schedule (the window that holds the queue), not
--          by its user: the runner puts it back in the queue when the window ends. NULL: a
--          user's pause (or not paused). `ddm pause` of a held job makes it the user's.
ALTER TABLE jobs ADD COLUMN held TEXT;
