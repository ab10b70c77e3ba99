-- postfixadmin.sql - the part of the PostfixAdmin schema that Postfix (and
-- vrcptd) read, for PostgreSQL, with sample data.
--
--   createdb -E UTF8 postfix
--   psql -d postfix -v ON_ERROR_STOP=1 -f postfixadmin.sql
--
-- A real PostfixAdmin installation creates these tables itself (setup.php,
-- with more tables and columns: admin, domain_admins, log, vacation, ...);
-- this file is for tests and for trying vrcpt without PostfixAdmin. The
-- column names and meanings are PostfixAdmin's:
--
--   domain        one row per hosted domain; backupmx = true means "relay
--                 for it" rather than "mailboxes here"
--   mailbox       one row per mailbox; username is the full address
--   alias         address -> goto (a comma-separated list). PostfixAdmin
--                 also stores every mailbox as an alias of itself, and a
--                 catch-all as address '@domain'
--   alias_domain  every address of alias_domain is one of target_domain
--
-- "active" switches a row off without deleting it; the queries of the
-- postfixadmin-*.cf files ignore inactive rows. Keep addresses lower case
-- (Postfix looks them up in lower case).

BEGIN;

CREATE TABLE IF NOT EXISTS domain (
	domain		varchar(255) PRIMARY KEY,
	description	varchar(255) NOT NULL DEFAULT '',
	aliases		integer NOT NULL DEFAULT 0,
	mailboxes	integer NOT NULL DEFAULT 0,
	maxquota	bigint NOT NULL DEFAULT 0,
	quota		bigint NOT NULL DEFAULT 0,
	transport	varchar(255) DEFAULT NULL,
	backupmx	boolean NOT NULL DEFAULT false,
	created		timestamptz NOT NULL DEFAULT now(),
	modified	timestamptz NOT NULL DEFAULT now(),
	active		boolean NOT NULL DEFAULT true
);

CREATE TABLE IF NOT EXISTS mailbox (
	username	varchar(255) PRIMARY KEY,
	password	varchar(255) NOT NULL,
	name		varchar(255) NOT NULL DEFAULT '',
	maildir		varchar(255) NOT NULL DEFAULT '',
	quota		bigint NOT NULL DEFAULT 0,
	local_part	varchar(255) NOT NULL,
	domain		varchar(255) NOT NULL
			    REFERENCES domain (domain) ON DELETE CASCADE,
	created		timestamptz NOT NULL DEFAULT now(),
	modified	timestamptz NOT NULL DEFAULT now(),
	active		boolean NOT NULL DEFAULT true
);
CREATE INDEX IF NOT EXISTS mailbox_domain_idx ON mailbox (domain);

CREATE TABLE IF NOT EXISTS alias (
	address		varchar(255) PRIMARY KEY,
	goto		text NOT NULL,
	domain		varchar(255) NOT NULL
			    REFERENCES domain (domain) ON DELETE CASCADE,
	created		timestamptz NOT NULL DEFAULT now(),
	modified	timestamptz NOT NULL DEFAULT now(),
	active		boolean NOT NULL DEFAULT true
);
CREATE INDEX IF NOT EXISTS alias_domain_idx ON alias (domain);

CREATE TABLE IF NOT EXISTS alias_domain (
	alias_domain	varchar(255) PRIMARY KEY
			    REFERENCES domain (domain) ON DELETE CASCADE,
	target_domain	varchar(255) NOT NULL
			    REFERENCES domain (domain) ON DELETE CASCADE,
	created		timestamptz NOT NULL DEFAULT now(),
	modified	timestamptz NOT NULL DEFAULT now(),
	active		boolean NOT NULL DEFAULT true
);
CREATE INDEX IF NOT EXISTS alias_domain_target_idx
    ON alias_domain (target_domain);

-- Sample data. Passwords are placeholders that match nothing.
--   example.com   mailboxes john, jane, old (inactive); aliases
--   example.org   a catch-all to bob
--   example.net   alias domain of example.com
--   example.info  inactive domain: not hosted (relay access denied)
--   backup.test   backup MX (backupmx = true): excluded by the domain
--                 query, a candidate for relay_domains
INSERT INTO domain (domain, description, backupmx, active) VALUES
	('example.com', 'mailboxes and aliases', false, true),
	('example.org', 'catch-all', false, true),
	('example.net', 'alias domain of example.com', false, true),
	('example.info', 'switched off', false, false),
	('backup.test', 'backup MX only', true, true)
ON CONFLICT (domain) DO NOTHING;

INSERT INTO mailbox (username, password, maildir, local_part, domain, active)
VALUES
	('john@example.com', '!', 'example.com/john/', 'john',
	    'example.com', true),
	('jane@example.com', '!', 'example.com/jane/', 'jane',
	    'example.com', true),
	('old@example.com', '!', 'example.com/old/', 'old',
	    'example.com', false),
	('bob@example.org', '!', 'example.org/bob/', 'bob',
	    'example.org', true)
ON CONFLICT (username) DO NOTHING;

INSERT INTO alias (address, goto, domain, active) VALUES
	-- PostfixAdmin's self-aliases of the mailboxes
	('john@example.com', 'john@example.com', 'example.com', true),
	('jane@example.com', 'jane@example.com', 'example.com', true),
	('old@example.com', 'old@example.com', 'example.com', false),
	('bob@example.org', 'bob@example.org', 'example.org', true),
	-- forwardings; goto is a list
	('postmaster@example.com', 'john@example.com', 'example.com', true),
	('team@example.com', 'john@example.com,jane@example.com',
	    'example.com', true),
	('gone@example.com', 'john@example.com', 'example.com', false),
	-- catch-all
	('@example.org', 'bob@example.org', 'example.org', true)
ON CONFLICT (address) DO NOTHING;

INSERT INTO alias_domain (alias_domain, target_domain, active) VALUES
	('example.net', 'example.com', true)
ON CONFLICT (alias_domain) DO NOTHING;

COMMIT;
