-- 0011-rollover.sql - root rollover: CAs that succeed each other, the
-- certificates by which roots vouch for each other's keys, and what a
-- device has fetched of the trust bundle.
--
-- Applied by migrate.c in one transaction. Never edit once released: add
-- 0012-....sql.

-- An issuing CA's CRL distribution point: the URL its leaves carry, where
-- its own CRL is served (each issuing CA has one; a rollover's new CA
-- gets its own URL, so that the leaves of the old one keep finding
-- theirs). NULL for roots.
ALTER TABLE cas ADD COLUMN crl_url TEXT;
UPDATE cas SET crl_url = (SELECT value FROM settings WHERE key = 'crl_url')
	WHERE role = 'issuing';

-- When an issuing CA was revoked (a rollover after a compromise): its
-- leaves are no longer renewed, and it makes no more CRLs. NULL if not.
ALTER TABLE cas ADD COLUMN revoked_at INTEGER;

-- When a root was distrusted (a rollover after a compromise): it leaves
-- the trust bundle, with every certificate it signed for another root, so
-- that a device that refreshes its store drops it. NULL if not.
ALTER TABLE cas ADD COLUMN distrusted_at INTEGER;

-- Certificates by which one root vouches for another's key: the subject
-- and key of subject_id, signed by issuer_id's key. The primary root's
-- voucher for a backup root; in a rollover NewWithOld (the new root's key
-- under the old root) and OldWithNew (the old root's key under the new),
-- RFC 7030 §4.1.3. A device accepts a new root only through one of these
-- (lanca-enroll trust refresh).
CREATE TABLE crosses (
	id		INTEGER PRIMARY KEY,
	issuer_id	INTEGER NOT NULL REFERENCES cas (id),
	subject_id	INTEGER NOT NULL REFERENCES cas (id),
	der		BLOB NOT NULL,
	created_at	INTEGER NOT NULL,
	UNIQUE (issuer_id, subject_id),
	CHECK (issuer_id <> subject_id)
);

-- The backup root's voucher moves here: until now there was one root,
-- which signed it.
INSERT INTO crosses (issuer_id, subject_id, der, created_at)
	SELECT (SELECT min(id) FROM cas WHERE role = 'root'), id, cross_der, created_at
	FROM cas WHERE cross_der IS NOT NULL;
ALTER TABLE cas DROP COLUMN cross_der;

-- Root rollovers: which generation succeeded which, and when the admin
-- retired the old root. At most one is under way (finished_at NULL).
CREATE TABLE rollovers (
	id		INTEGER PRIMARY KEY,
	old_root	INTEGER NOT NULL REFERENCES cas (id),
	old_issuing	INTEGER NOT NULL REFERENCES cas (id),
	new_root	INTEGER NOT NULL REFERENCES cas (id),
	new_issuing	INTEGER NOT NULL REFERENCES cas (id),
	compromise	INTEGER NOT NULL DEFAULT 0 CHECK (compromise IN (0, 1)),
	started_at	INTEGER NOT NULL,
	finished_at	INTEGER
);
-- @sqlite-only {
CREATE UNIQUE INDEX rollovers_one_open ON rollovers (finished_at IS NULL)
	WHERE finished_at IS NULL;
-- @sqlite-only }
-- PostgreSQL wants an expression in an index between parentheses of its own.
-- @postgresql-only {
-- CREATE UNIQUE INDEX rollovers_one_open ON rollovers ((finished_at IS NULL))
-- 	WHERE finished_at IS NULL;
-- @postgresql-only }

-- The trust bundle each device last fetched with its certificate (over
-- HTTPS, authenticated by it): which root led the bundle, and when. What
-- `lanca rollover status` counts as "refreshed".
CREATE TABLE trust_fetches (
	device_id	TEXT PRIMARY KEY,
	primary_fp	TEXT NOT NULL,
	at		INTEGER NOT NULL
);
