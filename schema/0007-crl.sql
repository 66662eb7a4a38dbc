-- 0007-crl.sql - revocation reasons as RFC 5280 codes, and the CRLs.
--
-- Applied by migrate.c in one transaction after 0006. Never edit once
-- released: add 0008-....sql.

-- revoke_reason now holds the word of an RFC 5280 reason code (ca/crl.h's
-- table: unspecified, keyCompromise, superseded, ...); what an admin
-- writes in words is the revocation's comment. Rows revoked before this
-- migration kept free text as their reason: it becomes their comment and
-- their reason unspecified (words that are codes already stay codes).
ALTER TABLE certificates ADD COLUMN revoke_comment TEXT;
UPDATE certificates SET revoke_comment = revoke_reason, revoke_reason = 'unspecified'
	WHERE status = 'revoked' AND (revoke_reason IS NULL OR revoke_reason NOT IN
	('unspecified', 'keyCompromise', 'affiliationChanged', 'superseded',
	 'cessationOfOperation', 'privilegeWithdrawn'));

-- Every CRL the CA published, numbered from 1 without a gap (the CRL
-- number: each is the newest's plus one). revocations is how many
-- certificates were revoked on record when it was made: fewer than there
-- are now means a revocation came after it (made without a daemon) and
-- a new one is due. A CRL once published is history: never changed.
CREATE TABLE crls (
	number		INTEGER PRIMARY KEY CHECK (number > 0),
	ca_id		INTEGER NOT NULL REFERENCES cas (id),
	this_update	INTEGER NOT NULL,
	next_update	INTEGER NOT NULL CHECK (next_update > this_update),
	entries		INTEGER NOT NULL CHECK (entries >= 0),
	revocations	INTEGER NOT NULL CHECK (revocations >= 0),
	der		BLOB NOT NULL,
	created_at	INTEGER NOT NULL
);
-- @sqlite-only {
CREATE TRIGGER crls_no_update BEFORE UPDATE ON crls
BEGIN
	SELECT RAISE(ABORT, 'crls are append-only');
END;
CREATE TRIGGER crls_no_delete BEFORE DELETE ON crls
BEGIN
	SELECT RAISE(ABORT, 'crls are append-only');
END;
-- @sqlite-only }
-- @postgresql-only {
-- CREATE TRIGGER crls_no_update BEFORE UPDATE ON crls FOR EACH ROW
-- 	EXECUTE FUNCTION lanca_refuse('crls are append-only');
-- CREATE TRIGGER crls_no_delete BEFORE DELETE ON crls FOR EACH ROW
-- 	EXECUTE FUNCTION lanca_refuse('crls are append-only');
-- @postgresql-only }
