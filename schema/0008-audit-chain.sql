-- 0008-audit-chain.sql - the audit log becomes tamper-evident: every row
-- carries the hash that chains it to the row before it, and the signer's
-- signed checkpoints of that chain are kept beside it.
--
-- Applied by migrate.c in one transaction, which after this SQL runs one
-- step in C (store_audit_chain_step, src/store/audit.c): the rows written
-- before this migration get their hashes there, in id order, from the
-- first row on (its previous hash is 32 zero bytes), exactly as a new row
-- would. Their content was not protected before this moment; from the
-- first checkpoint on (the first `lanca serve` takes one at start) it is.
-- Never edit once released: add 0009-....sql.

-- BLAKE2b-256 of the row's content and the previous row's hash
-- (src/ca/auditseal.h defines the encoding).
ALTER TABLE audit ADD COLUMN hash BLOB;

-- Still append-only, with one exception that only the step above uses: a
-- row without a hash (one written before this migration) may receive one,
-- once, and nothing else about it may change.
-- @sqlite-only {
DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
WHEN OLD.hash IS NOT NULL OR NEW.hash IS NULL OR NEW.id IS NOT OLD.id
	OR NEW.at IS NOT OLD.at OR NEW.actor IS NOT OLD.actor
	OR NEW.event IS NOT OLD.event OR NEW.subject IS NOT OLD.subject
	OR NEW.detail IS NOT OLD.detail
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
-- @sqlite-only }
-- @postgresql-only {
-- DROP TRIGGER audit_no_update ON audit;
-- CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW
-- WHEN (OLD.hash IS NOT NULL OR NEW.hash IS NULL OR NEW.id IS DISTINCT FROM OLD.id
-- 	OR NEW.at IS DISTINCT FROM OLD.at OR NEW.actor IS DISTINCT FROM OLD.actor
-- 	OR NEW.event IS DISTINCT FROM OLD.event
-- 	OR NEW.subject IS DISTINCT FROM OLD.subject
-- 	OR NEW.detail IS DISTINCT FROM OLD.detail)
-- 	EXECUTE FUNCTION lanca_refuse('audit log is append-only');
-- @postgresql-only }

-- Every new row is chained: a row without its hash is refused. (The
-- column is BYTEA in PostgreSQL: a hash there is always a blob.)
-- @sqlite-only {
CREATE TRIGGER audit_chained BEFORE INSERT ON audit
WHEN typeof(NEW.hash) IS NOT 'blob' OR length(NEW.hash) != 32
BEGIN
	SELECT RAISE(ABORT, 'an audit row needs its chain hash');
END;
-- @sqlite-only }
-- @postgresql-only {
-- CREATE TRIGGER audit_chained BEFORE INSERT ON audit FOR EACH ROW
-- WHEN (NEW.hash IS NULL OR length(NEW.hash) <> 32)
-- 	EXECUTE FUNCTION lanca_refuse('an audit row needs its chain hash');
-- @postgresql-only }

-- Checkpoints: the signer's Ed25519 signature (keys/audit.key) over "row
-- row_id had hash head at time at" (src/ca/auditseal.h). Taken at least
-- hourly and after every CRL; `lanca audit verify` checks each against
-- the chain with keys/audit.pub.
CREATE TABLE audit_checkpoints (
	id		INTEGER PRIMARY KEY,
	row_id		INTEGER NOT NULL,
	head		BLOB NOT NULL CHECK (length(head) = 32),
	at		INTEGER NOT NULL,
	signature	BLOB NOT NULL CHECK (length(signature) = 64)
);

-- @sqlite-only {
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
	SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;

CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
	SELECT RAISE(ABORT, 'audit checkpoints are append-only');
END;
-- @sqlite-only }
-- @postgresql-only {
-- CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
-- 	FOR EACH ROW EXECUTE FUNCTION lanca_refuse('audit checkpoints are append-only');
--
-- CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
-- 	FOR EACH ROW EXECUTE FUNCTION lanca_refuse('audit checkpoints are append-only');
-- @postgresql-only }
