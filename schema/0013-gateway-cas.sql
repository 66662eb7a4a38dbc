-- 0013-gateway-cas.sql - the issuing CAs of a site's gateways (issue 16).
--
-- Applied by migrate.c in one transaction. Never edit once released: add
-- 0014-....sql.

-- The gateway whose signer holds this issuing CA's key: one that joined
-- the site with an issuing CA of its own (`lanca join --site-root-key`),
-- named as in its gateway.name. NULL for the site's issuing CA (the
-- first gateway's, or one in a token the gateways share) and for roots.
-- A gateway signs with its own active issuing CA when it has one, else
-- with the site's (store_ca_active).
ALTER TABLE cas ADD COLUMN gateway TEXT;
CREATE INDEX cas_gateway ON cas (gateway) WHERE gateway IS NOT NULL;
