-- 0009-backup-root.sql - the backup root: a second root whose key is not
-- on this machine (cas.state 'offline', role 'backup-root'), vouched for
-- by the primary root, and the admin's word that its key was stored.
--
-- Applied by migrate.c in one transaction. Never edit once released: add
-- 0010-....sql.

-- The certificate by which the active root vouches for this CA's key
-- (issuer: the primary root; subject and key: this CA's), DER. A device
-- that trusts the primary accepts this root only through it
-- (lanca-enroll trust refresh). NULL for the primary root itself and for
-- issuing CAs. Root rollover's cross-certificates will use it too.
ALTER TABLE cas ADD COLUMN cross_der BLOB;

-- When the admin confirmed (`lanca backup-root confirm`) that an offline
-- CA's key was stored away from the gateway; NULL until then, and for CAs
-- whose key is here.
ALTER TABLE cas ADD COLUMN confirmed_at INTEGER;
