-- 0005-sessions-setup.sql - idle expiry of admin sessions, and the
-- one-time setup code that lets the first visitor create the first admin.
--
-- Applied by migrate.c in one transaction after 0004. Never edit once
-- released: add 0007-....sql (0006 is the inventory's).

-- A session ends at expires_at (absolute, fixed at login) or at
-- idle_expires_at, whichever comes first; use moves idle_expires_at on
-- (auth.c decides by how much and how often). Sessions from before this
-- migration get their absolute end as their idle end.
ALTER TABLE sessions ADD COLUMN idle_expires_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET idle_expires_at = expires_at;
-- The purge now reads both ends: a handful of rows (a few admins' logins)
-- scanned whole, rather than an index rewritten at every login.
DROP INDEX sessions_expires_at;

-- The Argon2id hash of the setup code `lanca init` printed: at most one,
-- deleted in the transaction that creates the first administrator (by
-- POST /api/v1/setup or `lanca admin passwd`). The code itself is never
-- stored.
CREATE TABLE setup_code (
	id		INTEGER PRIMARY KEY CHECK (id = 1),
	hash		TEXT NOT NULL,
	created_at	INTEGER NOT NULL
);
