-- 0012-acme.sql - the ACME door (RFC 8555): accounts, orders and their
-- authorisations, and the External Account Binding keys an admin makes.
--
-- Identifiers in URLs are random (22 base64url characters of 16 random
-- bytes), never row ids, so that nobody learns how many there are or
-- guesses another account's objects. An order's certificate is a row of
-- certificates; the account is its "device" there (certificates.device_id
-- is 'acme-' || account id), so that the names an account holds are
-- owned as a device's are.

-- status: RFC 8555 section 7.1.6; approved: who let the account order
-- ('' nobody yet: the admin, a press or an EAB key must).
CREATE TABLE acme_accounts (
	id		TEXT PRIMARY KEY,
	thumbprint	TEXT NOT NULL UNIQUE,
	jwk		TEXT NOT NULL,
	status		TEXT NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
	approved	TEXT NOT NULL DEFAULT ''
			CHECK (approved IN ('', 'admin', 'window', 'eab')),
	contact		TEXT NOT NULL DEFAULT '[]',
	eab_kid		TEXT,
	source		TEXT NOT NULL DEFAULT '',
	created_at	INTEGER NOT NULL,
	approved_at	INTEGER
);

-- An External Account Binding key: its id only. The MAC key itself is
-- derived from the gateway's EAB secret and the id (daemon/acme.c), so
-- the database never holds it.
CREATE TABLE acme_eab (
	kid		TEXT PRIMARY KEY,
	created_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL,
	used_at		INTEGER,
	account_id	TEXT REFERENCES acme_accounts (id)
);

-- identifiers: the order's identifiers as JSON, as lanca normalised them;
-- error: the problem document that made it invalid; cert_serial: its
-- certificate's serial (hex), once issued.
CREATE TABLE acme_orders (
	id		TEXT PRIMARY KEY,
	account_id	TEXT NOT NULL REFERENCES acme_accounts (id),
	status		TEXT NOT NULL
			CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
	identifiers	TEXT NOT NULL,
	error		TEXT,
	cert_serial	TEXT,
	created_at	INTEGER NOT NULL,
	expires_at	INTEGER NOT NULL,
	updated_at	INTEGER NOT NULL
);
CREATE INDEX acme_orders_account ON acme_orders (account_id);

-- One authorisation per identifier of an order, with its challenges
-- inline: every type shares the token (as Boulder does), one of them is
-- tried (chall: '' until the client picks one), its state is chall_status.
CREATE TABLE acme_authz (
	id		TEXT PRIMARY KEY,
	order_id	TEXT NOT NULL REFERENCES acme_orders (id),
	seq		INTEGER NOT NULL,
	type		TEXT NOT NULL CHECK (type IN ('dns', 'ip')),
	value		TEXT NOT NULL,
	status		TEXT NOT NULL CHECK (status IN ('pending', 'valid', 'invalid',
			'deactivated', 'expired', 'revoked')),
	token		TEXT NOT NULL,
	chall		TEXT NOT NULL DEFAULT '',
	chall_status	TEXT NOT NULL DEFAULT 'pending'
			CHECK (chall_status IN ('pending', 'processing', 'valid', 'invalid')),
	validated_at	INTEGER,
	error		TEXT,
	expires_at	INTEGER NOT NULL,
	UNIQUE (order_id, seq)
);
