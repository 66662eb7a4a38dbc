-- 0006-inventory.sql - the admin console's inventory, audit log and
-- request doors.
--
-- Applied by migrate.c in one transaction after 0004 (0005 is the
-- sessions' migration). Never edit once released: add 0007-....sql.

-- Which door a request came through: lanca's own API or EST. Rows
-- recorded before this migration read 'api': which door they came
-- through was not kept.
ALTER TABLE requests ADD COLUMN door TEXT NOT NULL DEFAULT 'api'
	CHECK (door IN ('api', 'est'));

-- Revoked certificates are few and change only at a revocation, so these
-- partial indexes cost an enrollment nothing (a new certificate is
-- valid) and let the inventory list the revoked ones in each of its
-- orders (issued, expiry, device) as one range, as it lists every
-- certificate from the table, certificates_not_after and
-- certificates_device_id.
CREATE INDEX certificates_revoked_id ON certificates (id) WHERE status = 'revoked';
CREATE INDEX certificates_revoked_not_after ON certificates (not_after)
	WHERE status = 'revoked';
CREATE INDEX certificates_revoked_device ON certificates (device_id)
	WHERE status = 'revoked';

-- The audit log filtered by event or by device (its subject). An event
-- index grows at the right end of each event's range, a few pages per
-- commit; the subject index is a device id, a random leaf per enrollment
-- (docs/performance.md measures what it costs).
CREATE INDEX audit_event ON audit (event);
CREATE INDEX audit_subject ON audit (subject);
