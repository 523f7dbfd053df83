-- A leaner event log (PostgreSQL). Keep in step with ../sqlite/0005_lean_event_log.sql.
--
-- Every event insert pays one B-tree insert per index, and ingestion is insert-bound: the
-- per-workspace index goes, as no query reads events by workspace alone.
DROP INDEX events_by_workspace;
