-- ispmail-sample.sql - sample data for ispmail.sql, used by the tests,
-- by "make run" and as an example. Load after ispmail.sql:
--
--   psql -d mailserver -v ON_ERROR_STOP=1 -f ispmail-sample.sql
--
-- The database must be UTF8 (createdb -E UTF8). Every row is here for a
-- case the tests check against a real Postfix; what Postfix 3.7 answers
-- for each is in README.md. The passwords are placeholders that match no
-- password ("!" is not a valid hash).

BEGIN;

-- example.com  mailboxes, aliases
-- example.org  one mailbox and a catch-all
-- example.net  alias domain of example.com (ISPmail style: the domain is
--              a mailbox domain whose only row is '@example.net' ->
--              '@example.com'; Postfix keeps the local part)
INSERT INTO virtual_domains (name) VALUES
	('example.com'),
	('example.org'),
	('example.net')
ON CONFLICT (name) DO NOTHING;

INSERT INTO virtual_users (domain_id, email, password)
SELECT d.id, u.email, '{BLF-CRYPT}!'
FROM (VALUES
	('example.com', 'john@example.com'),
	('example.com', 'jane@example.com'),
	-- Stored with capitals ON PURPOSE. Postfix lower-cases the key and
	-- SQL "=" is case-sensitive, so native Postfix never finds this row:
	-- Mixed.Case@example.com is rejected as unknown, in every spelling.
	-- vrcpt must reject it the same way.
	('example.com', 'Mixed.Case@example.com'),
	-- UTF-8 local part (RFC 6531). Postfix 3.7 talks LATIN1 to
	-- PostgreSQL, so the UTF-8 key arrives as "jÃ¼rgen@..." and never
	-- matches: native 3.7 rejects it; Postfix 3.8+ and vrcpt find it.
	('example.com', 'jürgen@example.com'),
	-- SQL metacharacter in the local part: must be found, and must not
	-- break the query.
	('example.com', 'o''brien@example.com'),
	('example.org', 'bob@example.org')
) AS u (domain, email)
JOIN virtual_domains d ON d.name = u.domain
ON CONFLICT (email) DO NOTHING;

-- virtual_aliases has no natural key: insert only into an empty table.
INSERT INTO virtual_aliases (domain_id, source, destination)
SELECT d.id, a.source, a.destination
FROM (VALUES
	-- postmaster and abuse: VIRTUAL_README wants them for every domain
	-- (virtual mailbox domains get no postmaster exemption)
	('example.com', 'postmaster@example.com', 'john@example.com'),
	('example.com', 'abuse@example.com', 'john@example.com'),
	-- alias-only address: no mailbox, valid through the alias
	('example.com', 'sales@example.com', 'jane@example.com'),
	-- two rows, one source: Postfix joins them ("john@...,jane@...")
	('example.com', 'team@example.com', 'john@example.com'),
	('example.com', 'team@example.com', 'jane@example.com'),
	-- empty destination: Postfix logs "empty lookup result ... ignored"
	-- and treats the alias as not found
	('example.com', 'empty@example.com', ''),
	-- catch-all: every other address of example.org goes to bob
	('example.org', '@example.org', 'bob@example.org'),
	-- alias domain: user@example.net -> user@example.com (accepted at
	-- RCPT whether or not the example.com user exists)
	('example.net', '@example.net', '@example.com')
) AS a (domain, source, destination)
JOIN virtual_domains d ON d.name = a.domain
WHERE NOT EXISTS (SELECT 1 FROM virtual_aliases);

COMMIT;
