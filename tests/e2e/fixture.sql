-- tests/e2e/fixture.sql - the edge cases of the end-to-end suite, loaded
-- after policy/ispmail.sql and policy/ispmail-sample.sql. Every row is
-- here for cases in tests/e2e/corpus.txt (the comment names them); what
-- Postfix 3.7 answers for each is recorded there.
--
-- The Postfix and vrcptd configurations of tests/e2e/run.sh add:
--   recipient_delimiter   = +-
--   virtual_alias_domains = aliasdom.test, bothdom.test   (static lists)
--   relay_domains         = relay.test, .dotrelay.test (parent style:
--                           relay.test covers its subdomains, the
--                           .dotrelay.test pattern matches nothing)
--   canonical_maps        = pgsql: e2e_canonical (below)
--   recipient_canonical_maps = hash: tests/e2e/recipient_canonical
--   relay_recipient_maps  = pgsql-virtual-mailbox-maps.cf
--   mydestination         = localdom.test  (Postfix only; local class)
-- Rows of domains that are not in virtual_domains (aliasdom.test,
-- relay.test) hang off fixture.test's id: the queries look at source and
-- email only, domain_id is bookkeeping for the foreign key.

BEGIN;

INSERT INTO virtual_domains (name) VALUES
	('fixture.test'),
	-- catch-all to a mailbox, next to a real mailbox
	('catchall.test'),
	-- catch-all whose destination is '': ignored, so not a catch-all
	('emptycatch.test'),
	-- alias domain of a catch-all domain
	('aliasdom2.test'),
	-- stored with capitals: the key is lower case, SQL "=" is exact, so
	-- the domain is never found: not hosted (relay access denied)
	('Caps.Test'),
	-- stored with a trailing dot: likewise never found
	('dot.test.'),
	-- UTF-8 domain: Postfix 3.7 sends 'müller.test' as LATIN1 bytes and
	-- never finds it (relay access denied before any recipient check)
	('müller.test'),
	-- the same domain as punycode (A-label): found as ASCII
	('xn--mller-kva.test'),
	-- in virtual_alias_domains as well: the alias class wins (Postfix
	-- warns "do not list domain bothdom.test in BOTH ...")
	('bothdom.test'),
	-- a mailbox domain whose users are known only to canonical_maps
	-- (an @canon.test row in e2e_canonical)
	('canon.test'),
	-- a numeric "domain": not a host name, never a virtual domain
	('192.0.2.7'),
	-- underscore and digits in a label
	('under_score.test'),
	-- the longest label a host name may have (63), and a 64-byte one
	('l23456789012345678901234567890123456789012345678901234567890123.test'),
	('l234567890123456789012345678901234567890123456789012345678901234.test'),
	-- a long domain name (249 bytes; Postfix's limit is 255)
	(repeat('d23456789.', 23) || 'd23456789.long.test')
ON CONFLICT (name) DO NOTHING;

INSERT INTO virtual_users (domain_id, email, password)
SELECT d.id, u.email, '{BLF-CRYPT}!'
FROM (VALUES
	('fixture.test', 'alice@fixture.test'),
	-- a mailbox stored WITH its extension: found by the full key only
	('fixture.test', 'bob+box@fixture.test'),
	-- owner-/-request (owner_request_special, '-' is a delimiter):
	-- owner-list and list-request are never split, list-foo is
	('fixture.test', 'owner@fixture.test'),
	('fixture.test', 'list@fixture.test'),
	('fixture.test', 'owner-alias@fixture.test'),
	-- split bait: "mailer-daemon" and "double-bounce" are never split,
	-- so these rows must not make them valid
	('fixture.test', 'mailer@fixture.test'),
	('fixture.test', 'double@fixture.test'),
	('fixture.test', 'postmaster-x@fixture.test'),
	-- quoted local parts: one row in the external (quoted) form, one in
	-- the internal form; Postfix tries the quoted key first
	('fixture.test', '"quoted user"@fixture.test'),
	('fixture.test', 'space user@fixture.test'),
	-- SQL and RFC 822 metacharacters, stored in the internal form
	('fixture.test', 'back\slash@fixture.test'),
	('fixture.test', 'under_score@fixture.test'),
	('fixture.test', 'semi;colon@fixture.test'),
	('fixture.test', 'dq"uote@fixture.test'),
	('fixture.test', 'star*hash#amp&@fixture.test'),
	('fixture.test', 'pipe|slash/eq=q?@fixture.test'),
	('fixture.test', 'brace{tick`tilde~@fixture.test'),
	('fixture.test', 'dot.ted@fixture.test'),
	('fixture.test', 'dollar$@fixture.test'),
	-- stored with capitals: never found (see ispmail-sample.sql)
	('fixture.test', 'UPPER@fixture.test'),
	-- 64-byte local part (the RFC 5321 limit) and a 200-byte one
	('fixture.test', 'x23456789012345678901234567890123456789012345678901234567890123'
	    '4@fixture.test'),
	('fixture.test', repeat('y', 200) || '@fixture.test'),
	-- UTF-8 mailbox (never found by Postfix 3.7, see ispmail-sample.sql)
	('fixture.test', 'zoë@fixture.test'),
	('catchall.test', 'real@catchall.test'),
	('müller.test', 'user@müller.test'),
	('xn--mller-kva.test', 'user@xn--mller-kva.test'),
	('bothdom.test', 'mbox@bothdom.test'),
	('192.0.2.7', 'john@192.0.2.7'),
	('under_score.test', 'john@under_score.test'),
	('l23456789012345678901234567890123456789012345678901234567890123.test',
	 'john@l23456789012345678901234567890123456789012345678901234567890123.test'),
	('l234567890123456789012345678901234567890123456789012345678901234.test',
	 'john@l234567890123456789012345678901234567890123456789012345678901234.test'),
	(repeat('d23456789.', 23) || 'd23456789.long.test',
	 'john@' || repeat('d23456789.', 23) || 'd23456789.long.test'),
	-- relay.test is a relay domain (relay_recipient_maps reads this
	-- table): one known user
	('fixture.test', 'known@relay.test'),
	-- relay_domains = relay.test covers sub.relay.test (parent style)
	('fixture.test', 'known@sub.relay.test')
) AS u (domain, email)
JOIN virtual_domains d ON d.name = u.domain
ON CONFLICT (email) DO NOTHING;

-- the sample data guards virtual_aliases with "table empty": so do we,
-- with a marker row of our own
INSERT INTO virtual_aliases (domain_id, source, destination)
SELECT d.id, a.source, a.destination
FROM (VALUES
	-- chains and loops: at RCPT only the first step is looked up
	('fixture.test', 'chain1@fixture.test', 'chain2@fixture.test'),
	('fixture.test', 'chain2@fixture.test', 'chain3@fixture.test'),
	('fixture.test', 'chain3@fixture.test', 'alice@fixture.test'),
	('fixture.test', 'loop1@fixture.test', 'loop2@fixture.test'),
	('fixture.test', 'loop2@fixture.test', 'loop1@fixture.test'),
	('fixture.test', 'self@fixture.test', 'self@fixture.test'),
	-- alias to an address that exists nowhere: still valid at RCPT
	('fixture.test', 'dangling@fixture.test', 'nobody@nowhere.test'),
	-- several rows; one of them empty
	('fixture.test', 'multi@fixture.test', 'alice@fixture.test'),
	('fixture.test', 'multi@fixture.test', 'john@example.com'),
	('fixture.test', 'multi@fixture.test', 'jane@example.com'),
	('fixture.test', 'halfempty@fixture.test', ''),
	('fixture.test', 'halfempty@fixture.test', 'alice@fixture.test'),
	('fixture.test', 'allempty@fixture.test', ''),
	('fixture.test', 'allempty@fixture.test', ''),
	-- not empty, but nothing useful: a blank and a comma
	('fixture.test', 'blank@fixture.test', ' '),
	('fixture.test', 'comma@fixture.test', ','),
	-- an alias key that carries an extension
	('fixture.test', 'alias+ext@fixture.test', 'alice@fixture.test'),
	-- source with capitals: never found
	('fixture.test', 'Upper.Alias@fixture.test', 'alice@fixture.test'),
	-- UTF-8 alias, not in case-folded form: never found, by Postfix
	-- 3.7 (LATIN1) nor by 3.8+ and vrcpt (casefold() turns the
	-- address into grösse@fixture.test: ICU full case folding)
	('fixture.test', 'größe@fixture.test', 'alice@fixture.test'),
	-- catch-alls
	('catchall.test', '@catchall.test', 'alice@fixture.test'),
	('emptycatch.test', '@emptycatch.test', ''),
	('aliasdom2.test', '@aliasdom2.test', '@catchall.test'),
	-- the virtual alias domain aliasdom.test (static
	-- virtual_alias_domains; not in virtual_domains)
	('fixture.test', 'info@aliasdom.test', 'alice@fixture.test'),
	('fixture.test', 'sales+x@aliasdom.test', 'alice@fixture.test'),
	('fixture.test', 'x@bothdom.test', 'alice@fixture.test'),
	-- the marker: these rows are loaded
	('fixture.test', 'fixture-loaded@fixture.test', 'alice@fixture.test')
) AS a (domain, source, destination)
JOIN virtual_domains d ON d.name = a.domain
WHERE NOT EXISTS (SELECT 1 FROM virtual_aliases
    WHERE source = 'fixture-loaded@fixture.test');

-- canonical_maps: a recipient that matches one is valid in any class
-- (smtpd_check.c: check_rcpt_maps), whatever the class table says. The
-- invalidation trigger is the aliases' one (a "source" key), as README
-- tells admins with a canonical table of their own.
CREATE TABLE IF NOT EXISTS e2e_canonical (
	source		text PRIMARY KEY,
	destination	text NOT NULL
);
INSERT INTO e2e_canonical (source, destination) VALUES
	('pcanon@example.com', 'john@example.com'),
	('pcanon@aliasdom.test', 'john@example.com'),
	('pcanon@relay.test', 'known@relay.test'),
	('pcanon@localdom.test', 'localuser@localdom.test'),
	('pcanon@not-hosted.test', 'john@example.com'),
	('@canon.test', '@example.com')
ON CONFLICT (source) DO NOTHING;
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_proc
	    WHERE proname = 'vrcpt_ispmail_aliases') THEN
		DROP TRIGGER IF EXISTS vrcpt_invalidate ON e2e_canonical;
		CREATE TRIGGER vrcpt_invalidate
		    AFTER INSERT OR UPDATE OR DELETE ON e2e_canonical
		    FOR EACH ROW EXECUTE FUNCTION vrcpt_ispmail_aliases();
	END IF;
END
$$;

COMMIT;
