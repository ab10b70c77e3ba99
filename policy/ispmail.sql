-- ispmail.sql - the ISPmail schema (workaround.org "ISPmail guide"),
-- written for PostgreSQL.
--
--   createuser mailserver
--   createdb -O mailserver -E UTF8 mailserver
--   psql -d mailserver -f ispmail.sql
--
-- Postfix reads these tables through the pgsql-*.cf map files next to
-- this file; so does vrcptd. Three tables:
--
--   virtual_domains   the domains this server receives mail for
--                     (virtual_mailbox_domains)
--   virtual_users     one row per mailbox (virtual_mailbox_maps); the
--                     password is for Dovecot, vrcpt never reads it
--   virtual_aliases   forwardings (virtual_alias_maps):
--                       source 'alias@example.com'  one address
--                       source '@example.org'       catch-all of a domain
--                       source '@example.net',
--                         destination '@example.com'  alias domain
--                     several rows with one source = several destinations
--
-- Store addresses in lower case. Postfix lower-cases every key before it
-- asks the database (smtpd_resolve.c casefold; dict_pgsql with
-- DICT_FLAG_FOLD_FIX), and the comparison in the queries is the exact,
-- case-sensitive SQL "=", so a row 'John@example.com' never matches.
--
-- The statements are idempotent, so that the file can be loaded again.

BEGIN;

CREATE TABLE IF NOT EXISTS virtual_domains (
	id		serial PRIMARY KEY,
	name		text NOT NULL UNIQUE
);

CREATE TABLE IF NOT EXISTS virtual_users (
	id		serial PRIMARY KEY,
	domain_id	integer NOT NULL
			    REFERENCES virtual_domains (id) ON DELETE CASCADE,
	email		text NOT NULL UNIQUE,
	password	text NOT NULL,
	quota		bigint NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS virtual_aliases (
	id		serial PRIMARY KEY,
	domain_id	integer NOT NULL
			    REFERENCES virtual_domains (id) ON DELETE CASCADE,
	source		text NOT NULL,
	destination	text NOT NULL
);

-- virtual_users.email and virtual_domains.name are indexed through their
-- UNIQUE constraints; the alias query needs its own index.
CREATE INDEX IF NOT EXISTS virtual_aliases_source_idx
    ON virtual_aliases (source);
CREATE INDEX IF NOT EXISTS virtual_users_domain_idx
    ON virtual_users (domain_id);
CREATE INDEX IF NOT EXISTS virtual_aliases_domain_idx
    ON virtual_aliases (domain_id);

COMMIT;
