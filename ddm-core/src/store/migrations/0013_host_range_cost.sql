-- 0013: what a host's range answers cost (issue 15.1). Never edit after release; add a new
-- numbered file instead.
--
--   ranges_cheap  1: a range answer came as fast as a plain GET's (a new job's first request
--                 on this host asks a ranged window, so nothing is cut); 0: range answers
--                 cost the server think time (an object store: a new job asks plainly);
--                 NULL: not measured yet (a new job asks plainly, and measures).
ALTER TABLE hosts ADD COLUMN ranges_cheap INTEGER;
