-- 0001-initial.sql - the first lanca schema.
--
-- Applied by db_migrate.c in one transaction, which also records it in
-- schema_version. Never edit a migration once released: add 0002-....sql.
-- Times are Unix seconds (INTEGER). Serials, key ids and DER are BLOBs.
--
-- One source for SQLite and PostgreSQL: SQLite runs this file as it is;
-- PostgreSQL runs it through src/store/dialect.c, which drops the lines
-- between "-- @sqlite-only {" and "-- @sqlite-only }", keeps those between
-- "-- @postgresql-only {" and "-- @postgresql-only }" without their "-- ",
-- and turns the types into PostgreSQL's (see dialect.h).

-- Small key/value configuration written at init (CA names, policy knobs).
CREATE TABLE settings (
	key	TEXT PRIMARY KEY,
	value	TEXT NOT NULL
);

-- Every CA certificate this gateway has known. Several per role may exist
-- (rollover keeps the old one "retired"); the newest "active" one is used.
-- "offline" marks a CA whose key is not on this machine (a backup root).
CREATE TABLE cas (
	id		INTEGER PRIMARY KEY,
	role		TEXT NOT NULL CHECK (role IN ('root', 'issuing', 'backup-root')),
	state		TEXT NOT NULL DEFAULT 'active'
			CHECK (state IN ('active', 'retired', 'offline')),
	subject		TEXT,
	fingerprint	TEXT NOT NULL UNIQUE,
	not_before	INTEGER,
	not_after	INTEGER,
	der		BLOB NOT NULL,
	created_at	INTEGER NOT NULL
);
CREATE INDEX cas_role_state ON cas (role, state);

-- Serial numbers, reserved durably before anything is signed with them so
-- that a serial is never handed out twice, even across a crash.
CREATE TABLE serials (
	serial		BLOB PRIMARY KEY,
	reserved_at	INTEGER NOT NULL,
	used		INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
) WITHOUT ROWID;

-- Enrollment requests: a CSR that arrived outside an onboarding window (or
-- needs approval) waits here until a button press or an admin decides.
CREATE TABLE requests (
	id		TEXT PRIMARY KEY,
	key_id		BLOB NOT NULL,
	device_id	TEXT NOT NULL,
	csr		BLOB NOT NULL,
	state		TEXT NOT NULL
			CHECK (state IN ('pending', 'issued', 'denied', 'expired')),
	auth		TEXT NOT NULL DEFAULT 'none',
	source		TEXT,
	reason		TEXT,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL
);
CREATE INDEX requests_key_id ON requests (key_id);
CREATE INDEX requests_state ON requests (state);
-- A request's id is random: the queries page and order requests by
-- SQLite's rowid (the order they were made in), which PostgreSQL has not.
-- @postgresql-only {
-- ALTER TABLE requests ADD COLUMN rowid INTEGER GENERATED ALWAYS AS IDENTITY UNIQUE;
-- @postgresql-only }

-- Issued certificates. The serial must have been reserved first (FK), and a
-- serial backs at most one certificate (UNIQUE).
CREATE TABLE certificates (
	id		INTEGER PRIMARY KEY,
	serial		BLOB NOT NULL UNIQUE REFERENCES serials (serial),
	ca_id		INTEGER NOT NULL REFERENCES cas (id),
	device_id	TEXT NOT NULL,
	subject		TEXT NOT NULL,
	sans		TEXT NOT NULL,
	profile		TEXT NOT NULL CHECK (profile IN ('device', 'gateway')),
	status		TEXT NOT NULL DEFAULT 'valid'
			CHECK (status IN ('valid', 'revoked')),
	not_before	INTEGER NOT NULL,
	not_after	INTEGER NOT NULL,
	issued_at	INTEGER NOT NULL,
	revoked_at	INTEGER,
	revoke_reason	TEXT,
	key_id		BLOB NOT NULL,
	request_id	TEXT REFERENCES requests (id),
	der		BLOB NOT NULL
);
CREATE INDEX certificates_device_id ON certificates (device_id);
CREATE INDEX certificates_key_id ON certificates (key_id);
CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_ca_id ON certificates (ca_id);

-- The audit log. Append-only: the triggers below refuse any change to a
-- row that is already there, whoever runs the SQL.
CREATE TABLE audit (
	id		INTEGER PRIMARY KEY AUTOINCREMENT,
	at		INTEGER NOT NULL,
	actor		TEXT NOT NULL,
	event		TEXT NOT NULL,
	subject		TEXT,
	detail		TEXT
);
CREATE INDEX audit_event ON audit (event);

-- @sqlite-only {
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit log is append-only');
END;
-- @sqlite-only }
-- PostgreSQL's triggers run a function: this one refuses the change with
-- the message its trigger names, as SQLite's RAISE(ABORT, ...) does.
-- @postgresql-only {
-- CREATE FUNCTION lanca_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
-- BEGIN
-- 	RAISE EXCEPTION '%', TG_ARGV[0];
-- END
-- $$;
--
-- CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit FOR EACH ROW
-- 	EXECUTE FUNCTION lanca_refuse('audit log is append-only');
--
-- CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit FOR EACH ROW
-- 	EXECUTE FUNCTION lanca_refuse('audit log is append-only');
-- @postgresql-only }
