-- triggers-ispmail.sql - tell vrcptd at once when the ISPmail tables
-- change, so that its caches never answer from before the change.
--
--   psql -d mailserver -v ON_ERROR_STOP=1 -f ispmail.sql
--   psql -d mailserver -v ON_ERROR_STOP=1 -f triggers-ispmail.sql
--
-- Every insert, update and delete sends, at COMMIT, a notification on
-- the channel vrcpt_invalidate naming what changed:
--   'a:KEY'     one lookup key: an address ('john@example.com'), a
--               catch-all ('@example.org')
--   'd:DOMAIN'  every key of a domain (a domain row changed)
--   'all'       everything (TRUNCATE)
-- Each vrcptd LISTENs on the channel (on the primary: a standby cannot)
-- and drops those keys from its in-process cache and from Redis. Keys
-- are sent as stored and, when different, lower-cased: the map queries
-- compare with "=", so a key that finds a row equals the row's value
-- (or its lower-case form, for queries that use lower()).
--
-- An UPDATE sends the old and the new keys. Deleting a domain cascades
-- to its users and aliases, whose triggers fire too. Notifications of a
-- transaction are sent only if it commits, and identical ones are sent
-- once. Payloads are limited to 8000 bytes: a longer key sends 'all'.
--
-- The functions are written for PostgreSQL 11 and later. The file is
-- idempotent: load it again after an upgrade.

SET client_min_messages = warning;

BEGIN;

\ir triggers-common.sql

-- virtual_domains: the domain key (virtual_mailbox_domains) and, since
-- a domain's rows go with it, every key of the domain
CREATE OR REPLACE FUNCTION vrcpt_ispmail_domains() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		PERFORM vrcpt_notify_domain(OLD.name);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		PERFORM vrcpt_notify_domain(NEW.name);
	END IF;
	RETURN NULL;
END
$$;

-- virtual_users: the mailbox (virtual_mailbox_maps, email2email)
CREATE OR REPLACE FUNCTION vrcpt_ispmail_users() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		PERFORM vrcpt_notify_key(OLD.email);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		PERFORM vrcpt_notify_key(NEW.email);
	END IF;
	RETURN NULL;
END
$$;

-- virtual_aliases: the source key (an address or '@domain')
CREATE OR REPLACE FUNCTION vrcpt_ispmail_aliases() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		PERFORM vrcpt_notify_key(OLD.source);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		PERFORM vrcpt_notify_key(NEW.source);
	END IF;
	RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS vrcpt_invalidate ON virtual_domains;
CREATE TRIGGER vrcpt_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON virtual_domains
    FOR EACH ROW EXECUTE FUNCTION vrcpt_ispmail_domains();
DROP TRIGGER IF EXISTS vrcpt_invalidate ON virtual_users;
CREATE TRIGGER vrcpt_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON virtual_users
    FOR EACH ROW EXECUTE FUNCTION vrcpt_ispmail_users();
DROP TRIGGER IF EXISTS vrcpt_invalidate ON virtual_aliases;
CREATE TRIGGER vrcpt_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON virtual_aliases
    FOR EACH ROW EXECUTE FUNCTION vrcpt_ispmail_aliases();

DROP TRIGGER IF EXISTS vrcpt_invalidate_truncate ON virtual_domains;
CREATE TRIGGER vrcpt_invalidate_truncate
    AFTER TRUNCATE ON virtual_domains
    FOR EACH STATEMENT EXECUTE FUNCTION vrcpt_notify_all();
DROP TRIGGER IF EXISTS vrcpt_invalidate_truncate ON virtual_users;
CREATE TRIGGER vrcpt_invalidate_truncate
    AFTER TRUNCATE ON virtual_users
    FOR EACH STATEMENT EXECUTE FUNCTION vrcpt_notify_all();
DROP TRIGGER IF EXISTS vrcpt_invalidate_truncate ON virtual_aliases;
CREATE TRIGGER vrcpt_invalidate_truncate
    AFTER TRUNCATE ON virtual_aliases
    FOR EACH STATEMENT EXECUTE FUNCTION vrcpt_notify_all();

COMMIT;
