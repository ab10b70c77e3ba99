-- triggers-postfixadmin.sql - tell vrcptd at once when the PostfixAdmin
-- tables change, so that its caches never answer from before the change.
--
--   psql -d postfix -v ON_ERROR_STOP=1 -f postfixadmin.sql   (or setup.php)
--   psql -d postfix -v ON_ERROR_STOP=1 -f triggers-postfixadmin.sql
--
-- Every insert, update and delete sends, at COMMIT, a notification on
-- the channel vrcpt_invalidate naming what changed (see
-- triggers-ispmail.sql for the messages: 'a:KEY', 'd:DOMAIN', 'all').
-- vrcptd LISTENs on the channel (on the primary) and drops those keys
-- from its in-process cache and from Redis.
--
-- What depends on what, in the postfixadmin-*.cf queries:
--   domain        the domain key (virtual_mailbox_domains), and through
--                 "active" every key of the domain: 'd:domain'; alias
--                 domains pointing at it too
--   mailbox       'a:username'; and 'a:local@ALIASDOMAIN' for each alias
--                 domain pointing at its domain
--                 (postfixadmin-virtual-alias-domain-mailbox-maps.cf)
--   alias         'a:address'; through alias domains 'a:local@ALIAS' for
--                 an address, and 'd:ALIAS' for a catch-all '@domain'
--                 (the catch-all map answers every key of ALIAS)
--   alias_domain  'd:alias_domain' (every key of it)
-- Old and new values are sent on UPDATE. Deleting a domain cascades to
-- its rows, whose triggers fire too.
--
-- For PostgreSQL 11 and later; idempotent.

SET client_min_messages = warning;

BEGIN;

\ir triggers-common.sql

-- vrcpt_pfa_address(ADDR) - an address key, and the same local part in
-- every alias domain of its domain (a catch-all: those whole domains)
CREATE OR REPLACE FUNCTION vrcpt_pfa_address(addr text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	at	integer;
	lp	text;
	dom	text;
	ad	record;
BEGIN
	IF addr IS NULL OR addr = '' THEN
		RETURN;
	END IF;
	PERFORM vrcpt_notify_key(addr);
	-- the last '@' separates the domain (a quoted local part may
	-- hold one)
	at := length(addr) - strpos(reverse(addr), '@') + 1;
	IF strpos(addr, '@') = 0 THEN
		RETURN;
	END IF;
	lp := substr(addr, 1, at - 1);
	dom := substr(addr, at + 1);
	FOR ad IN SELECT alias_domain FROM alias_domain
	    WHERE target_domain = dom OR target_domain = lower(dom) LOOP
		IF lp = '' THEN
			PERFORM vrcpt_notify_domain(ad.alias_domain);
		ELSE
			PERFORM vrcpt_notify_key(lp || '@' || ad.alias_domain);
		END IF;
	END LOOP;
END
$$;

-- vrcpt_pfa_domain(DOMAIN) - a domain and the alias domains on it
CREATE OR REPLACE FUNCTION vrcpt_pfa_domain(dom text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	ad	record;
BEGIN
	PERFORM vrcpt_notify_domain(dom);
	FOR ad IN SELECT alias_domain FROM alias_domain
	    WHERE target_domain = dom LOOP
		PERFORM vrcpt_notify_domain(ad.alias_domain);
	END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION vrcpt_pfa_domain_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		PERFORM vrcpt_pfa_domain(OLD.domain);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		PERFORM vrcpt_pfa_domain(NEW.domain);
	END IF;
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION vrcpt_pfa_mailbox_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		PERFORM vrcpt_pfa_address(OLD.username);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		PERFORM vrcpt_pfa_address(NEW.username);
	END IF;
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION vrcpt_pfa_alias_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		PERFORM vrcpt_pfa_address(OLD.address);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		PERFORM vrcpt_pfa_address(NEW.address);
	END IF;
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION vrcpt_pfa_alias_domain_trg() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		PERFORM vrcpt_notify_domain(OLD.alias_domain);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		PERFORM vrcpt_notify_domain(NEW.alias_domain);
	END IF;
	RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS vrcpt_invalidate ON domain;
CREATE TRIGGER vrcpt_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON domain
    FOR EACH ROW EXECUTE FUNCTION vrcpt_pfa_domain_trg();
DROP TRIGGER IF EXISTS vrcpt_invalidate ON mailbox;
CREATE TRIGGER vrcpt_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON mailbox
    FOR EACH ROW EXECUTE FUNCTION vrcpt_pfa_mailbox_trg();
DROP TRIGGER IF EXISTS vrcpt_invalidate ON alias;
CREATE TRIGGER vrcpt_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON alias
    FOR EACH ROW EXECUTE FUNCTION vrcpt_pfa_alias_trg();
DROP TRIGGER IF EXISTS vrcpt_invalidate ON alias_domain;
CREATE TRIGGER vrcpt_invalidate
    AFTER INSERT OR UPDATE OR DELETE ON alias_domain
    FOR EACH ROW EXECUTE FUNCTION vrcpt_pfa_alias_domain_trg();

DROP TRIGGER IF EXISTS vrcpt_invalidate_truncate ON domain;
CREATE TRIGGER vrcpt_invalidate_truncate
    AFTER TRUNCATE ON domain
    FOR EACH STATEMENT EXECUTE FUNCTION vrcpt_notify_all();
DROP TRIGGER IF EXISTS vrcpt_invalidate_truncate ON mailbox;
CREATE TRIGGER vrcpt_invalidate_truncate
    AFTER TRUNCATE ON mailbox
    FOR EACH STATEMENT EXECUTE FUNCTION vrcpt_notify_all();
DROP TRIGGER IF EXISTS vrcpt_invalidate_truncate ON alias;
CREATE TRIGGER vrcpt_invalidate_truncate
    AFTER TRUNCATE ON alias
    FOR EACH STATEMENT EXECUTE FUNCTION vrcpt_notify_all();
DROP TRIGGER IF EXISTS vrcpt_invalidate_truncate ON alias_domain;
CREATE TRIGGER vrcpt_invalidate_truncate
    AFTER TRUNCATE ON alias_domain
    FOR EACH STATEMENT EXECUTE FUNCTION vrcpt_notify_all();

COMMIT;
