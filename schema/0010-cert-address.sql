-- 0010-cert-address.sql - the address a certificate was asked from, so
-- that the LAN's DNS can resolve its names (`lanca export hosts`,
-- `lanca serve --hosts-file`).
--
-- The client address of the enrollment or renewal that made the
-- certificate ("192.0.2.7", "2001:db8::7"); NULL when none is known (a
-- certificate signed with `lanca sign`, the gateway's own, a renewal
-- before this migration). Never edit once released: add 0011-....sql.

ALTER TABLE certificates ADD COLUMN address TEXT;

-- Certificates issued before this migration from a request: the address
-- that request was last made from.
UPDATE certificates SET address =
	(SELECT source FROM requests WHERE requests.id = certificates.request_id)
	WHERE request_id IS NOT NULL;
