-- gendata.sql - a synthetic ISPmail site for "make bench", generated in
-- PostgreSQL itself (load policy/ispmail.sql first, the triggers after).
--
--   psql -v n=100000 -f tests/bench/gendata.sql
--
-- For n mailboxes:
--   virtual_domains  greatest(n / 100, 1) domains  d<D>.bench.test
--   virtual_users    n mailboxes                   u<I>@d<D>.bench.test
--   virtual_aliases  n / 5 aliases, each to a mailbox of its domain
--                                                  a<J>@d<D>.bench.test
--   bench_rcpt       the recipients of the load: every mailbox and alias
--                    (class 'y', 80%) and (n + n/5) / 4 unknown local
--                    parts at hosted domains, x<K>@d<D>.bench.test
--                    (class 'n', 20%); "ord" spreads them over the whole
--                    key set in an order that is the same in every run.
-- Mailbox, alias and unknown number I lives in domain (I - 1) % D + 1,
-- so that tests/bench/miss.pgbench can compute every key from a number.
-- bench_rcpt is not a map: vrcptd and Postfix never read it.

\set ON_ERROR_STOP 1
SET synchronous_commit = off;
BEGIN;
CREATE TEMP TABLE bench_n AS
    SELECT :n::int AS n, greatest(:n::int / 100, 1) AS d;

INSERT INTO virtual_domains (id, name)
    SELECT i, 'd' || i || '.bench.test'
    FROM bench_n, generate_series(1, d) AS i;
SELECT setval('virtual_domains_id_seq', (SELECT d FROM bench_n));

INSERT INTO virtual_users (id, domain_id, email, password)
    SELECT i, (i - 1) % d + 1,
        'u' || i || '@d' || ((i - 1) % d + 1) || '.bench.test',
        '{BLF-CRYPT}$2y$05$benchbenchbenchbenchbenchbenchbenchbenchbenchbe'
    FROM bench_n, generate_series(1, n) AS i;
SELECT setval('virtual_users_id_seq', (SELECT n FROM bench_n));

INSERT INTO virtual_aliases (id, domain_id, source, destination)
    SELECT j, (j - 1) % d + 1,
        'a' || j || '@d' || ((j - 1) % d + 1) || '.bench.test',
        'u' || j || '@d' || ((j - 1) % d + 1) || '.bench.test'
    FROM bench_n, generate_series(1, n / 5) AS j;
SELECT setval('virtual_aliases_id_seq', greatest((SELECT n / 5 FROM bench_n), 1));

CREATE TABLE bench_rcpt (
	rcpt	text NOT NULL,
	class	char NOT NULL,		-- 'y' exists, 'n' unknown
	ord	text NOT NULL
);
INSERT INTO bench_rcpt
    SELECT email, 'y', md5(email) FROM virtual_users;
INSERT INTO bench_rcpt
    SELECT source, 'y', md5(source) FROM virtual_aliases;
INSERT INTO bench_rcpt
    SELECT 'x' || k || '@d' || ((k - 1) % d + 1) || '.bench.test', 'n',
        md5('x' || k || '@d' || ((k - 1) % d + 1) || '.bench.test')
    FROM bench_n, generate_series(1, (n + n / 5) / 4) AS k;
COMMIT;
VACUUM ANALYZE virtual_domains, virtual_users, virtual_aliases;
