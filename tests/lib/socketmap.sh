# tests/lib/socketmap.sh - the data the socketmap tests share (source it
# after harness.sh, with PostgreSQL up and the ISPmail schema, sample
# data and triggers loaded):
#   smap_rows      rows for the cases the sample data lacks: an alias
#                  domain (the bare domain as a key, as Postfix's default
#                  virtual_alias_domains = $virtual_alias_maps needs), an
#                  alias to 400 targets, an alias chain, user@domain ->
#                  @otherdomain; a relay domain and its recipients, one
#                  in a subdomain (tables relay_domains, relay_users)
#   smap_maps DIR  besides maps_write's four .cf files in DIR:
#                  mailbox-path.cf (virtual_mailbox_maps with the maildir
#                  path as the value, as virtual(8) uses it),
#                  relay-domains.cf, relay-users.cf
#   smap_maps_cf DIR   the six parameters for those tables (main.cf and
#                  vrcptd.cf syntax alike), after postfix_config_directory =
#                  (vrcptd.cf: the tables from this file only)
smap_rows() {
	pgtmp_psql -At -v ON_ERROR_STOP=1 >"$WORK/rows.log" 2>&1 <<'EOSQL' ||
INSERT INTO virtual_domains (name) VALUES ('aliasonly.test');
INSERT INTO virtual_aliases (domain_id, source, destination)
SELECT d.id, a.s, a.t FROM (VALUES
	('aliasonly.test', 'aliasonly.test', 'aliasonly.test'),
	('aliasonly.test', 'a1@aliasonly.test', 'john@example.com'),
	('example.com', 'redirect@example.com', '@example.org'),
	('example.com', 'chain@example.com', 'sales@example.com')
) AS a (dom, s, t) JOIN virtual_domains d ON d.name = a.dom;
INSERT INTO virtual_aliases (domain_id, source, destination)
SELECT d.id, 'big@example.com', 'member' || g || '@example.org'
FROM virtual_domains d, generate_series(1, 400) g
WHERE d.name = 'example.com';
CREATE TABLE relay_domains (name text PRIMARY KEY);
CREATE TABLE relay_users (email text PRIMARY KEY);
INSERT INTO relay_domains VALUES ('relay.test');
INSERT INTO relay_users VALUES ('r1@relay.test'), ('x@sub.relay.test');
GRANT SELECT ON relay_domains, relay_users TO PUBLIC;
EOSQL
	{ cat "$WORK/rows.log" >&2; bad "loading the socketmap rows"; return 1; }
}

smap_maps() {
	local d=$1 src=$1/pgsql-virtual-mailbox-maps.cf
	sed -e "s/^query.*/query = SELECT 1 FROM relay_domains WHERE name='%s'/" \
	    "$src" >"$d/relay-domains.cf" &&
	sed -e "s/^query.*/query = SELECT 1 FROM relay_users WHERE email='%s'/" \
	    "$src" >"$d/relay-users.cf" &&
	sed -e "s|^query.*|query = SELECT split_part(email, '@', 2) \|\| '/' \|\| split_part(email, '@', 1) \|\| '/' FROM virtual_users WHERE email='%s'|" \
	    "$src" >"$d/mailbox-path.cf" &&
	chmod 644 "$d"/relay-*.cf "$d/mailbox-path.cf" ||
	    { bad "smap_maps: writing $d"; return 1; }
}

smap_maps_cf() {
	cat <<EOC
postfix_config_directory =
virtual_mailbox_domains = pgsql:$1/pgsql-virtual-mailbox-domains.cf
virtual_mailbox_maps = pgsql:$1/mailbox-path.cf
virtual_alias_maps = pgsql:$1/pgsql-virtual-alias-maps.cf,
    pgsql:$1/pgsql-email2email.cf
relay_domains = pgsql:$1/relay-domains.cf
relay_recipient_maps = pgsql:$1/relay-users.cf
recipient_delimiter = +
EOC
}
