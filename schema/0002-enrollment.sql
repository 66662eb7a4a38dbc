-- 0002-enrollment.sql - enrollment: requests that wait, name ownership,
-- pre-authorised devices, vendor CAs, administrators and their sessions.
--
-- Applied by db_migrate.c in one transaction after 0001-initial.sql. Never
-- edit once released: add 0003-....sql.

-- Requests: last_seen is when the device last asked (a POST again or a
-- poll); updated_at keeps meaning the last change of the row. cert_id is
-- the certificate once issued. contested: the request was admitted, then
-- another key asked during the same window.
ALTER TABLE requests ADD COLUMN last_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN cert_id INTEGER REFERENCES certificates (id);
ALTER TABLE requests ADD COLUMN contested INTEGER NOT NULL DEFAULT 0
	CHECK (contested IN (0, 1));
UPDATE requests SET last_seen = updated_at;

-- A device asking again is found by its key and the state of its request:
-- this index serves both (and replaces the key-only one).
DROP INDEX requests_key_id;
CREATE INDEX requests_key_state ON requests (key_id, state);

-- Devices imported in bulk before they ever ask; a certificate issued on
-- the strength of one consumes it (used_at set, NULL while unused).
CREATE TABLE preauth (
	device_id	TEXT PRIMARY KEY,
	name		TEXT NOT NULL DEFAULT '',
	auth_type	TEXT NOT NULL DEFAULT '',
	secret_hash	TEXT,
	created_at	INTEGER NOT NULL,
	used_at		INTEGER
);

-- Which pre-authorisation a certificate consumed, if any.
ALTER TABLE certificates ADD COLUMN preauth_id TEXT REFERENCES preauth (device_id);

-- Every name of every certificate, one row each, exactly as names_format
-- writes them ("DNS:host.example", "IP:10.0.0.2"), so that "who holds this
-- name" is one index look-up. DNS names compare case-insensitively.
CREATE TABLE cert_names (
	cert_id		INTEGER NOT NULL REFERENCES certificates (id),
	name		TEXT NOT NULL COLLATE NOCASE,
	PRIMARY KEY (cert_id, name)
) WITHOUT ROWID;
CREATE INDEX cert_names_name ON cert_names (name);

-- Certificates issued before this migration get their names too: split
-- the comma-separated sans column.
-- @sqlite-only {
WITH RECURSIVE split (cert_id, name, rest) AS (
	SELECT id, '', sans || ',' FROM certificates
	UNION ALL
	SELECT cert_id, substr(rest, 1, instr(rest, ',') - 1),
	       substr(rest, instr(rest, ',') + 1)
	FROM split WHERE rest <> ''
)
INSERT OR IGNORE INTO cert_names (cert_id, name)
	SELECT cert_id, name FROM split WHERE name <> '';
-- @sqlite-only }
-- @postgresql-only {
-- WITH RECURSIVE split (cert_id, name, rest) AS (
-- 	SELECT id, '', sans || ',' FROM certificates
-- 	UNION ALL
-- 	SELECT cert_id, substr(rest, 1, strpos(rest, ',') - 1),
-- 	       substr(rest, strpos(rest, ',') + 1)
-- 	FROM split WHERE rest <> ''
-- )
-- INSERT INTO cert_names (cert_id, name)
-- 	SELECT cert_id, name FROM split WHERE name <> ''
-- 	ON CONFLICT DO NOTHING;
-- @postgresql-only }

-- Manufacturer CAs whose device certificates are accepted for enrollment.
CREATE TABLE vendors (
	id		INTEGER PRIMARY KEY,
	subject		TEXT,
	fingerprint	TEXT NOT NULL UNIQUE,
	auto_register	INTEGER NOT NULL DEFAULT 0 CHECK (auto_register IN (0, 1)),
	der		BLOB NOT NULL,
	created_at	INTEGER NOT NULL
);

-- Administrators of the web interface (Argon2id password hashes).
CREATE TABLE admins (
	user		TEXT PRIMARY KEY,
	hash		TEXT NOT NULL,
	created_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
);

-- Their sessions, found by the SHA-256 of the session token: the token
-- itself is never stored.
CREATE TABLE sessions (
	token_hash	BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
	user		TEXT NOT NULL REFERENCES admins (user) ON DELETE CASCADE,
	csrf		TEXT NOT NULL,
	created_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
