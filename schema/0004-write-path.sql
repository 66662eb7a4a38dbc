-- 0004-write-path.sql - fewer index pages written per enrollment.
--
-- Applied by migrate.c in one transaction after 0003. Never edit once
-- released: add 0005-....sql.
--
-- Every index is a b-tree page written per insertion into it, and an
-- index on a random key (a key id, a device id) is a different page for
-- every enrollment. This migration keeps the indexes a query uses and
-- drops those nothing reads.

-- A request's state changes (pending -> issued) while its key does not:
-- an index on (key_id, state) rewrote a random page of it at every
-- issuance. A key has one or two requests, so the key alone finds them
-- and the state is read from the row.
DROP INDEX requests_key_state;
CREATE INDEX requests_key ON requests (key_id);

-- No query looks certificates up by their CA or audit rows by their event
-- (the log is read in order of id). A later query that needs one adds it.
DROP INDEX certificates_ca_id;
DROP INDEX audit_event;
