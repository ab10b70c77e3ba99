/*
 * check_conf - vrcptd.cf: main.cf syntax, $name expansion, lists and
 * tables, defaults, validation, and every message with its file:line.
 * Run from the repository root (fixtures in tests/unit/data/config/).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

/* table rows leave trailing fields out on purpose: they are NULL */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define DIR	"tests/unit/data/config"
#define P	DIR "/vrcptd.cf"	/* the name the texts are loaded as */
#define MSGS_MAX	8
/* what the tests load: everything any program reads */
#define ALL	(CONF_D | CONF_M | CONF_C | CONF_TABLES)
/*
 * the machine's Postfix (/etc/postfix/main.cf, postfix_config_directory's
 * default) must not change what these tests see: they load with this
 * override, as the integration tests' vrcptd.cf set it (check_pfconf
 * tests main.cf)
 */
static const char *const hermetic[] = { "postfix_config_directory=" };
#define HERMETIC	hermetic, 1

/* maplist_str - a parameter's tables, one word each, comma-separated */
static char *
maplist_str(const struct maplist *ml)
{
	char	*s = strdup(""), *t, *one = NULL, *kv;
	size_t	 i, j;
	const struct map *m;

	for (i = 0; i < ml->n; i++) {
		m = ml->v[i];
		switch (m->type) {
		case MAP_DOMAIN:
			ck_assert_int_gt(asprintf(&one, "domain:%s",
			    m->u.domain), 0);
			break;
		case MAP_INLINE:
			one = strdup("inline:{");
			for (j = 0; j < m->u.inl.n; j++) {
				ck_assert_int_gt(asprintf(&kv, "%s%s%s=%s",
				    one, j ? "," : "", m->u.inl.kv[j].key,
				    m->u.inl.kv[j].value), 0);
				free(one);
				one = kv;
			}
			ck_assert_int_gt(asprintf(&kv, "%s}", one), 0);
			free(one);
			one = kv;
			break;
		case MAP_STATIC:
			ck_assert_int_gt(asprintf(&one, "static:%s",
			    m->u.static_value), 0);
			break;
		case MAP_PGSQL:
			ck_assert_int_gt(asprintf(&one, "pgsql#%u:%s",
			    m->u.sql->id, m->u.sql->path), 0);
			break;
		case MAP_FILE:
			ck_assert_int_gt(asprintf(&one, "%s:%s",
			    m->u.file->type, m->u.file->path), 0);
			break;
		}
		ck_assert_int_gt(asprintf(&t, "%s%s%s", s, i ? ", " : "", one),
		    0);
		free(s);
		free(one);
		s = t;
	}
	return s;
}

/*
 * field - any configuration value as text, by parameter name: a table
 * list as the tables built, anything else as conf_format() writes it
 */
static char *
field(const struct conf *cfg, const char *name)
{
	const struct engine_cfg *e = &cfg->engine;
	const struct conf_param *p = conf_param_find(name, strlen(name));
	const struct maplist *ml = NULL;

	ck_assert_msg(p != NULL, "test bug: no parameter %s", name);
	if (strcmp(name, "virtual_alias_domains") == 0)
		ml = &e->virtual_alias_domains;
	else if (strcmp(name, "virtual_mailbox_domains") == 0)
		ml = &e->virtual_mailbox_domains;
	else if (strcmp(name, "relay_domains") == 0)
		ml = &e->relay_domains;
	else if (strcmp(name, "mydestination") == 0)
		ml = &e->mydestination;
	else if (strcmp(name, "recipient_canonical_maps") == 0)
		ml = &e->recipient_canonical_maps;
	else if (strcmp(name, "canonical_maps") == 0)
		ml = &e->canonical_maps;
	else if (strcmp(name, "virtual_alias_maps") == 0)
		ml = &e->virtual_alias_maps;
	else if (strcmp(name, "virtual_mailbox_maps") == 0)
		ml = &e->virtual_mailbox_maps;
	else if (strcmp(name, "relay_recipient_maps") == 0)
		ml = &e->relay_recipient_maps;
	if (ml != NULL)
		return maplist_str(ml);
	return conf_format(cfg, (enum conf_param_id)(p - conf_params));
}

/* every parameter and its default, as the engine and daemon see it */
static const struct {
	const char *name;
	const char *value;
} defaults[] = {
	{ "listen", "unix:/run/vrcpt/policy.sock" },
	{ "listen_mode", "0660" },
	{ "listen_group", "postfix" },
	{ "postfix_config_directory", "/etc/postfix" },
	{ "virtual_alias_domains", "" },
	{ "virtual_alias_maps", "" },
	{ "virtual_mailbox_domains", "" },
	{ "virtual_mailbox_maps", "" },
	{ "relay_domains", "" },
	{ "mydestination", "" },
	{ "relay_recipient_maps", "" },
	{ "recipient_canonical_maps", "" },
	{ "canonical_maps", "" },
	{ "parent_domain_matches_subdomains", "debug_peer_list, "
	  "fast_flush_domains, mynetworks, permit_mx_backup_networks, "
	  "qmqpd_authorized_clients, relay_domains, smtpd_access_maps" },
	{ "smtputf8_enable", "yes" },
	{ "recipient_delimiter", "" },
	{ "propagate_unmatched_extensions", "canonical, virtual" },
	{ "owner_request_special", "yes" },
	{ "double_bounce_sender", "double-bounce" },
	{ "unknown_virtual_alias_reject_code", "550" },
	{ "unknown_virtual_mailbox_reject_code", "550" },
	{ "unknown_relay_recipient_reject_code", "550" },
	{ "show_user_unknown_table_name", "yes" },
	{ "soft_bounce", "no" },
	{ "warn_if_reject", "no" },
	{ "other_domain_action", "reject_unlisted_recipient" },
	{ "lookup_failure_action", "defer" },
	{ "request_timeout", "1000ms" },
	{ "connection_limit", "1000" },
	{ "idle_timeout", "600000ms" },
	{ "io_timeout", "10000ms" },
	{ "syslog_name", "vrcptd" },
	{ "syslog_facility", "mail" },
	{ "maillog_file", "" },
	{ "log_level", "0" },
	{ "db_pool_size", "4" },
	{ "db_read_target", "any" },
	{ "db_replay_wait", "500ms" },
	{ "workers", "0" },
	{ "user", "" },
	{ "metrics_listen", "" },
	{ "socketmap_listen", "" },
	{ "control_listen", "unix:/run/vrcpt/control.sock" },
	{ "milter_listen", "" },
	{ "milter_policy_service", "" },
	{ "milter_log_reject", "no" },
	{ "cache", "none" },
	{ "cache_positive_ttl", "3600000ms" },
	{ "cache_negative_ttl", "60000ms" },
	{ "cache_stale_ttl", "86400000ms" },
	{ "redis_password", "" },
	{ "redis_sentinel_password", "" },
	{ "redis_db", "0" },
	{ "cache_max_entries", "10000000" },
	{ "cache_max_bytes", "1073741824" },
	{ "redis_timeout", "5ms" },
	{ "harvest_limit", "0" },
	{ "harvest_window", "60000ms" },
	{ "harvest_block_time", "600000ms" },
	{ "harvest_ipv4_prefix", "24" },
	{ "harvest_ipv6_prefix", "64" },
	{ "harvest_exempt_networks", "127.0.0.0/8, [::1]/128" },
	{ "harvest_reply", "450 4.7.1 Too many unknown recipients from your "
	    "network, try again later" },
};

/* load text that must be valid; msgs must match exactly (NULL-ended) */
static struct conf *
load_ok(const char *text, const char *const *want)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	size_t	 i, nwant = 0;
	int	 rc;

	rc = conf_load_text(P, text, strlen(text), ALL, HERMETIC, &cfg, &msgs);
	ck_assert_msg(rc == 0, "load failed: %s", msgs.n ? msgs.v[0] : "?");
	ck_assert_ptr_nonnull(cfg);
	while (want != NULL && want[nwant] != NULL)
		nwant++;
	for (i = 0; i < nwant && i < msgs.n; i++)
		ck_assert_str_eq(msgs.v[i], want[i]);
	for (i = nwant; i < msgs.n; i++)
		ck_abort_msg("unexpected message: %s", msgs.v[i]);
	ck_assert_uint_eq(msgs.n, nwant);
	conf_msgs_free(&msgs);
	return cfg;
}

START_TEST(test_defaults)
{
	struct conf *cfg = load_ok("", NULL);
	const struct conf_param *p;
	char	*v;

	if (strcmp(defaults[_i].name, "postfix_config_directory") == 0) {
		/* loaded with the HERMETIC override: the table's */
		p = conf_param_find(defaults[_i].name,
		    strlen(defaults[_i].name));
		ck_assert_str_eq(p->def, defaults[_i].value);
	} else {
		v = field(cfg, defaults[_i].name);
		ck_assert_str_eq(v, defaults[_i].value);
		free(v);
	}
	ck_assert_uint_eq(cfg->nmaps, 0);
	ck_assert_uint_eq(cfg->ndbconfs, 0);
	ck_assert_str_eq(cfg->path, P);
	ck_assert_int_eq(atomic_load(&cfg->refs), 1);
	conf_unref(&cfg);
	ck_assert_ptr_null(cfg);
}
END_TEST

/*
 * deploy/vrcptd.cf is the configuration reference: as shipped it loads
 * without a message, and with every "#name = value" line uncommented it
 * still does and gives the defaults: each default it documents is true
 * and each name it documents is known.
 */
START_TEST(test_deploy_reference)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	char	*text, *line, *sp, *v, *uncommented;
	size_t	 len, i, n = 0;
	FILE	*fp;

	ck_assert_int_eq(conf_load("deploy/vrcptd.cf", ALL, HERMETIC, &cfg, &msgs), 0);
	ck_assert_uint_eq(msgs.n, 0);
	conf_unref(&cfg);

	fp = fopen("deploy/vrcptd.cf", "r");
	ck_assert_ptr_nonnull(fp);
	text = calloc(1, CONF_FILE_MAX);
	len = fread(text, 1, CONF_FILE_MAX - 1, fp);
	fclose(fp);
	uncommented = calloc(1, len + 1);
	for (sp = text; (line = strsep(&sp, "\n")) != NULL;) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " =") != NULL) {
			strcat(uncommented, line + 1);
			strcat(uncommented, "\n");
			n++;
		}
	}
	ck_assert_uint_eq(n, sizeof(defaults) / sizeof(defaults[0]));
	ck_assert_int_eq(conf_load_text("deploy/vrcptd.cf", uncommented,
	    strlen(uncommented), ALL, HERMETIC, &cfg, &msgs), 0);
	for (i = 0; i < msgs.n; i++)
		ck_abort_msg("deploy/vrcptd.cf: %s", msgs.v[i]);
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
		ck_assert_msg(strstr(uncommented, defaults[i].name) != NULL,
		    "%s is not documented", defaults[i].name);
		if (strcmp(defaults[i].name, "postfix_config_directory") == 0) {
			/* overridden (HERMETIC): the text says it */
			ck_assert_ptr_nonnull(strstr(uncommented,
			    "postfix_config_directory = /etc/postfix\n"));
			continue;
		}
		v = field(cfg, defaults[i].name);
		ck_assert_str_eq(v, defaults[i].value);
		free(v);
	}
	conf_unref(&cfg);
	free(text);
	free(uncommented);
}
END_TEST

/*
 * Values: config text -> a parameter's value as field() shows it, and
 * every message the load produced.
 */
#define MBD	"pgsql#0:" DIR "/pgsql-virtual-mailbox-domains.cf"
#define E2E	DIR "/pgsql-email2email.cf"

static const struct {
	const char *text;
	const char *name;
	const char *value;
	const char *msgs[MSGS_MAX];
} value_cases[] = {
	/* syntax: spaces, continuation lines, comments, last one wins */
	{ "recipient_delimiter=+", "recipient_delimiter", "+" },
	{ "  \n\n# c\nrecipient_delimiter   =   +-   \n",
	  "recipient_delimiter", "+-" },
	{ "virtual_mailbox_domains = a.example,\n"
	  "# a comment inside the logical line\n"
	  "\n"
	  "    b.example\tc.example\n"
	  "soft_bounce = yes\n",
	  "virtual_mailbox_domains",
	  "domain:a.example, domain:b.example, domain:c.example" },
	{ "soft_bounce = yes\nsoft_bounce = no\n", "soft_bounce", "no",
	  { P ":2: warning: overriding earlier entry: soft_bounce "
	    "(line 1)" } },
	{ "soft_bounce = no\nsoft_bounce = no\n", "soft_bounce", "no" },
	/* "#" after a value is part of it, as in Postfix */
	{ "syslog_name = vrcptd # the ident\n", "syslog_name",
	  "vrcptd # the ident" },

	/* $name expansion */
	{ "my_delim = +\nrecipient_delimiter = $my_delim\n",
	  "recipient_delimiter", "+" },
	{ "recipient_delimiter = ${my_delim}-\nmy_delim = +\n",
	  "recipient_delimiter", "+-" },
	{ "recipient_delimiter = $(my_delim)\nmy_delim = +\n",
	  "recipient_delimiter", "+" },
	{ "syslog_name = x$$y\n", "syslog_name", "x$y" },
	{ "redis_password = pa$$$$word\n", "redis_password", "pa$$word" },
	{ "syslog_name = a${x?yes}b${y?yes}c\nx = 1\n", "syslog_name",
	  "ayesbc" },
	{ "syslog_name = a${x:no}b${y:no}c\nx = 1\n", "syslog_name", "abnoc" },
	{ "syslog_name = ${x?{on}:{off}}/${y?{on}:{off}}\nx = 1\ny =\n",
	  "syslog_name", "on/off" },
	{ "syslog_name = ${ x ? { a b } : { c } }\nx = 1\n", "syslog_name",
	  " a b " },
	{ "syslog_name = ${x?$z}\nx = 1\nz = deep\n", "syslog_name", "deep" },
	/* an undefined name is empty (postconf(5)), with a warning */
	{ "recipient_delimiter = $nosuch\n", "recipient_delimiter", "",
	  { P ":1: warning: recipient_delimiter: undefined parameter "
	    "$nosuch is empty" } },
	{ "syslog_name = x${nosuch?y}${nosuch:z}\n", "syslog_name", "xz" },
	/* defaults expand too; a default can point at a set value */
	{ "virtual_mailbox_maps = pgsql:pgsql-email2email.cf\n",
	  "virtual_mailbox_domains", "pgsql#0:" E2E },
	{ "virtual_alias_maps = inline:{ a@example.com=b }\n",
	  "virtual_alias_domains", "inline:{a@example.com=b}" },
	{ "virtual_alias_maps = inline:{ a@example.com=b }\n"
	  "virtual_alias_domains =\n", "virtual_alias_domains", "" },
	/* $name may name a parameter that is defined later */
	{ "virtual_mailbox_domains = $my_domains, c.example\n"
	  "my_domains = a.example b.example\n", "virtual_mailbox_domains",
	  "domain:a.example, domain:b.example, domain:c.example" },
	/* the depth limit: 20 levels are fine */
	{ "recipient_delimiter = $p1\np1 = $p2\np2 = $p3\np3 = $p4\n"
	  "p4 = $p5\np5 = $p6\np6 = $p7\np7 = $p8\np8 = $p9\np9 = $p10\n"
	  "p10 = $p11\np11 = $p12\np12 = $p13\np13 = $p14\np14 = $p15\n"
	  "p15 = $p16\np16 = $p17\np17 = $p18\np18 = $p19\np19 = $p20\n"
	  "p20 = +\n", "recipient_delimiter", "+" },

	/* lists and tables */
	/* DATABASE_README: "inline:{ key=value, { key = text } }" */
	{ "virtual_alias_maps = inline:{ a@x=b@y, { c@x = d, e } },"
	  "static:{ all here }  inline:{K@X=}\n",
	  "virtual_alias_maps",
	  "inline:{a@x=b@y,c@x=d, e}, static:all here, inline:{k@x=}" },
	{ "virtual_alias_maps = inline:{a=1,b=2,a=3}\n", "virtual_alias_maps",
	  "inline:{a=3,b=2}" },
	{ "virtual_alias_maps = inline:{ { \"a b\"@x = 1 } }\n",
	  "virtual_alias_maps", "inline:{\"a b\"@x=1}" },
	{ "virtual_alias_maps = static:OK\n", "virtual_alias_maps",
	  "static:OK" },
	{ "relay_domains = Example.COM. , [192.0.2.1] example.net\n",
	  "relay_domains", "domain:example.com, domain:[192.0.2.1], "
	  "domain:example.net" },
	{ "virtual_mailbox_domains = pgsql:pgsql-virtual-mailbox-domains.cf"
	  "\n", "virtual_mailbox_domains", MBD },
	/* relative to the directory of vrcptd.cf; proxy: ignored */
	{ "virtual_mailbox_maps = proxy:pgsql:sub/relative.cf\n",
	  "virtual_mailbox_maps", "pgsql#0:" DIR "/sub/relative.cf" },
	/* one .cf file, one map, wherever and however it is named */
	{ "virtual_alias_maps = pgsql:pgsql-email2email.cf\n"
	  "virtual_mailbox_maps = proxy:pgsql:./pgsql-email2email.cf,"
	  " pgsql:sub/../pgsql-virtual-mailbox-maps.cf\n",
	  "virtual_mailbox_maps", "pgsql#0:" E2E ", pgsql#1:" DIR
	  "/sub/../pgsql-virtual-mailbox-maps.cf" },
	/* warnings of a .cf file are passed on */
	{ "virtual_mailbox_maps = pgsql:pgsql-warn.cf\n",
	  "virtual_mailbox_maps", "pgsql#0:" DIR "/pgsql-warn.cf",
	  { DIR "/pgsql-warn.cf:6: warning: encoding = LATIN1 ignored: "
	    "vrcpt always talks UTF8 to PostgreSQL" } },
	/* relay_domains is a domain_list: ".domain" is a pattern, which
	 * matches nothing in the default parent style (match_hostname) */
	{ "relay_domains = .Example.COM\n", "relay_domains",
	  "domain:.example.com",
	  { P ":1: warning: relay_domains: \".Example.COM\" matches no "
	    "domain while parent_domain_matches_subdomains lists "
	    "relay_domains (as in Postfix): \"example.com\" covers "
	    "example.com and its subdomains" } },
	{ "relay_domains = .example.com\n"
	  "parent_domain_matches_subdomains = mynetworks\n",
	  "relay_domains", "domain:.example.com" },
	/* the canonical maps */
	{ "recipient_canonical_maps = inline:{ A@x=b }\n"
	  "canonical_maps = static:x, inline:{c@x=d}\n",
	  "recipient_canonical_maps", "inline:{a@x=b}" },
	{ "canonical_maps = static:x, inline:{c@x=d}\n",
	  "canonical_maps", "static:x, inline:{c@x=d}" },
	/* Postfix resolve.c's helpful warning */
	{ "virtual_alias_domains = a.example, b.example\n"
	  "virtual_mailbox_domains = B.example\nrelay_domains = a.example\n",
	  "virtual_mailbox_domains", "domain:b.example",
	  { P ":2: warning: do not list domain b.example in BOTH "
	    "virtual_alias_domains and virtual_mailbox_domains",
	    P ":3: warning: do not list domain a.example in BOTH "
	    "virtual_alias_domains and relay_domains" } },

	/* mydestination: a /file list (Postfix's local-host-names) is not
	 * read, with a warning; the rest is; the local class first */
	{ "mydestination = $myhostname, localhost, /etc/postfix/lhn, "
	  "inline:{ l.example=1 }\nmyhostname = mx.example.com\n",
	  "mydestination",
	  "domain:mx.example.com, domain:localhost, inline:{l.example=1}",
	  { P ":1: warning: mydestination: \"/etc/postfix/lhn\": a /file "
	    "list is not read; the domains in it are not known to be local "
	    "here (list them, or use a table)" } },
	{ "mydestination = example.com\n"
	  "virtual_mailbox_domains = Example.com\n",
	  "mydestination", "domain:example.com",
	  { P ":2: warning: do not list domain example.com in BOTH "
	    "mydestination and virtual_mailbox_domains" } },

	/* other parameters */
	{ "listen = unix:/run/x.sock, inet:127.0.0.1:10023\n"
	  "  inet:[::1]:10023 inet:10024\n", "listen",
	  "unix:/run/x.sock, inet:127.0.0.1:10023, inet:[::1]:10023, "
	  "inet:10024" },
	{ "listen_mode = 0660\n", "listen_mode", "0660" },
	{ "listen_mode = 600\n", "listen_mode", "0600" },
	{ "unknown_virtual_mailbox_reject_code = 450\n",
	  "unknown_virtual_mailbox_reject_code", "450" },
	{ "owner_request_special = NO\n", "owner_request_special", "no" },
	{ "show_user_unknown_table_name = No\n",
	  "show_user_unknown_table_name", "no" },
	{ "warn_if_reject = YES\n", "warn_if_reject", "yes" },
	{ "other_domain_action = DUNNO\n", "other_domain_action", "DUNNO" },
	{ "other_domain_action = Reject_Unauth_Destination\n",
	  "other_domain_action", "reject_unauth_destination" },
	{ "other_domain_action = defer_unauth_destination\n",
	  "other_domain_action", "defer_unauth_destination" },
	{ "other_domain_action = 554 5.7.1 Relay access denied\n",
	  "other_domain_action", "554 5.7.1 Relay access denied" },
	{ "other_domain_action = 450\n", "other_domain_action", "450" },
	{ "lookup_failure_action = DUNNO\n", "lookup_failure_action",
	  "dunno" },
	{ "db_read_target = Prefer-Standby\n", "db_read_target",
	  "prefer-standby" },
	{ "db_read_target = primary\n", "db_read_target", "primary" },
	{ "db_replay_wait = 0\n", "db_replay_wait", "0ms" },
	{ "request_timeout = 500ms\n", "request_timeout", "500ms" },
	{ "request_timeout = 2\n", "request_timeout", "2000ms" },
	{ "request_timeout = 2m\n", "request_timeout", "120000ms",
	  { P ":1: warning: request_timeout is not below Postfix's "
	    "smtpd_policy_service_timeout (100s): Postfix gives up first" } },
	{ "connection_limit = 50\n", "connection_limit", "50" },
	{ "idle_timeout = 1h\n", "idle_timeout", "3600000ms" },
	{ "idle_timeout = 300s\n", "idle_timeout", "300000ms",
	  { P ":1: warning: idle_timeout is not above Postfix's "
	    "smtpd_policy_service_max_idle (300s): vrcptd would close "
	    "connections that Postfix still means to use" } },
	{ "io_timeout = 2s\n", "io_timeout", "2000ms" },
	{ "syslog_facility = local3\n", "syslog_facility", "local3" },
	{ "maillog_file = /dev/stderr\n", "maillog_file", "/dev/stderr" },
	{ "log_level = 1\n", "log_level", "1" },
	{ "db_pool_size = 64\n", "db_pool_size", "64" },
	{ "workers = 64\n", "workers", "64" },
	{ "user = vrcpt\n", "user", "vrcpt" },
	{ "metrics_listen = inet:127.0.0.1:9187\n", "metrics_listen",
	  "inet:127.0.0.1:9187" },
	{ "control_listen = unix:/run/x/control.sock\n", "control_listen",
	  "unix:/run/x/control.sock" },
	{ "control_listen =\n", "control_listen", "" },
	{ "socketmap_listen = unix:/run/x/smap.sock, inet:127.0.0.1:10099\n",
	  "socketmap_listen", "unix:/run/x/smap.sock, inet:127.0.0.1:10099" },
	{ "milter_listen = unix:/run/vrcpt/milter.sock\n", "milter_listen",
	  "unix:/run/vrcpt/milter.sock" },
	{ "milter_listen = inet:127.0.0.1:10024\n", "milter_listen",
	  "inet:127.0.0.1:10024" },
	{ "milter_listen = inet:10024@localhost\n", "milter_listen",
	  "inet:localhost:10024" },
	{ "milter_listen = inet6:10024@[::1]\n", "milter_listen",
	  "inet:[::1]:10024" },
	{ "milter_listen = local:/run/m.sock\n", "milter_listen",
	  "unix:/run/m.sock" },
	{ "milter_policy_service = inet:127.0.0.1:10023\n",
	  "milter_policy_service", "inet:127.0.0.1:10023" },
	{ "milter_log_reject = yes\n", "milter_log_reject", "yes" },
	{ "cache = redis:unix:/run/redis/redis-server.sock\n", "cache",
	  "redis:unix:/run/redis/redis-server.sock" },
	{ "cache = redis:127.0.0.1:6379\n", "cache",
	  "redis:inet:127.0.0.1:6379" },
	{ "cache_max_bytes = 64m\n", "cache_max_bytes", "67108864" },
	{ "cache_max_bytes = 2G\n", "cache_max_bytes", "2147483648" },
	{ "cache_max_bytes = 4294967296\n", "cache_max_bytes", "4294967296" },
	{ "cache = NONE\n", "cache", "none" },
	{ "cache = redis-sentinel:10.0.0.1:26379,10.0.0.2:26379, "
	  "10.0.0.3:26379/mymaster\n", "cache", "redis-sentinel:"
	  "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster" },
	{ "cache = redis-sentinel:s1.example:26379,\n"
	  "    s2.example:26379/mymaster\n", "cache",
	  "redis-sentinel:s1.example:26379,s2.example:26379/mymaster" },
	{ "cache = redis-sentinel:[::1]:26379/cache-1\n", "cache",
	  "redis-sentinel:[::1]:26379/cache-1" },
	{ "redis_sentinel_password = s3cret\n", "redis_sentinel_password",
	  "s3cret" },
	{ "cache_positive_ttl = 2h\n", "cache_positive_ttl", "7200000ms" },
	{ "cache_negative_ttl = 0\n", "cache_negative_ttl", "0ms" },
	{ "cache_stale_ttl = 1w\n", "cache_stale_ttl", "604800000ms" },
	{ "redis_db = 15\n", "redis_db", "15" },
	{ "cache_max_entries = 0\n", "cache_max_entries", "0" },
	{ "cache_max_entries = 100000000\n", "cache_max_entries",
	  "100000000" },
	{ "cache_max_bytes = 4294967295\n", "cache_max_bytes", "4294967295" },
	{ "redis_timeout = 20ms\n", "redis_timeout", "20ms" },
	{ "redis_timeout = 1\n", "redis_timeout", "1000ms",
	  { P ":1: warning: redis_timeout is not below request_timeout: a "
	    "slow Redis would use up the whole request" } },

	{ "cache = redis:unix:/run/r.sock\nharvest_limit = 20\n",
	  "harvest_limit", "20" },
	{ "harvest_reply = 421 4.7.0 Busy\n", "harvest_reply",
	  "421 4.7.0 Busy" },
	{ "harvest_exempt_networks =\n", "harvest_exempt_networks", "" },
	/* unknown names warn, unless used as $name (postconf) */
	{ "myhostname = mx.example.com\n", "syslog_name", "vrcptd",
	  { P ":1: warning: unknown parameter myhostname" } },
	{ "a = 1\na = 2\n", "syslog_name", "vrcptd",
	  { P ":2: warning: overriding earlier entry: a (line 1)",
	    P ":2: warning: unknown parameter a" } },
	{ "domains = a.example\nvirtual_mailbox_domains = ${domains}\n",
	  "virtual_mailbox_domains", "domain:a.example" },
	{ "x = 1\nsyslog_name = ${ x ?on}\n", "syslog_name", "on" },
};

START_TEST(test_values)
{
	struct conf *cfg = load_ok(value_cases[_i].text,
	    value_cases[_i].msgs);
	char	*v = field(cfg, value_cases[_i].name);

	ck_assert_str_eq(v, value_cases[_i].value);
	free(v);
	conf_unref(&cfg);
}
END_TEST

/*
 * Errors: config text -> every message, exactly (file:line first).
 */
static const struct {
	const char *text;
	const char *msgs[MSGS_MAX];
} error_cases[] = {
	/* syntax */
	{ "soft_bounce\n",
	  { P ":1: missing '=' after attribute name (the line is not "
	  "shown: it may hold a password)" } },
	{ "= yes\n", { P ":1: missing attribute name (the line is not "
	  "shown: it may hold a password)" } },
	/* a password typed alone is not echoed */
	{ "hunter2\n", { P ":1: missing '=' after attribute name (the line "
	  "is not shown: it may hold a password)" } },
	{ "user = x\nuser = \0\n", { P ":2: NUL byte in line" } },
	/* all errors are reported, not only the first */
	{ "soft_bounce = maybe\nlisten_mode = 0999\n"
	  "unknown_virtual_alias_reject_code = 250\n",
	  { P ":2: bad numerical configuration: listen_mode = 0999 (use an "
	    "octal mode such as 0660)",
	    P ":3: bad numerical configuration: "
	    "unknown_virtual_alias_reject_code = 250 (use a 4xx or 5xx SMTP "
	    "reply code)",
	    P ":1: bad boolean configuration: soft_bounce = maybe (use yes "
	    "or no)" } },

	/* expansion */
	{ "recipient_delimiter = $a\na = $b\nb = $a\n",
	  { P ":1: recipient_delimiter: unreasonable macro call nesting: "
	    "\"$a\" (more than 20 levels: a loop?)" } },
	{ "recipient_delimiter = $p1\np1 = $p2\np2 = $p3\np3 = $p4\n"
	  "p4 = $p5\np5 = $p6\np6 = $p7\np7 = $p8\np8 = $p9\np9 = $p10\n"
	  "p10 = $p11\np11 = $p12\np12 = $p13\np13 = $p14\np14 = $p15\n"
	  "p15 = $p16\np16 = $p17\np17 = $p18\np18 = $p19\np19 = $p20\n"
	  "p20 = $p21\np21 = +\n",
	  { P ":1: recipient_delimiter: unreasonable macro call nesting: "
	    "\"$p21\" (more than 20 levels: a loop?)" } },
	{ "syslog_name = a$\n", { P ":1: syslog_name: empty macro name: "
	  "\"a$\" (write $$ for a literal $)" } },
	{ "syslog_name = a$-b\n", { P ":1: syslog_name: empty macro name: "
	  "\"a$-b\" (write $$ for a literal $)" } },
	{ "syslog_name = ${x\n", { P ":1: syslog_name: truncated macro "
	  "reference: \"${x\"" } },
	{ "syslog_name = ${x-y}\n", { P ":1: syslog_name: attribute name "
	  "syntax error in \"${x-y}\"" } },
	{ "syslog_name = ${{$x} == {1}?a}\n", { P ":1: syslog_name: "
	  "relational expressions (${{a} == {b}?...}) are not supported" } },
	{ "x = 1\nsyslog_name = ${x?{a}b}\n", { P ":2: syslog_name: \":\" "
	  "expected after ${name?{value}" } },
	/* a loop through a default: virtual_alias_domains -> maps -> ... */
	{ "virtual_alias_maps = $virtual_alias_domains\n",
	  { P ":1: virtual_alias_maps: unreasonable macro call nesting: "
	    "\"$virtual_alias_domains\" (more than 20 levels: a loop?)",
	    P ": virtual_alias_domains: unreasonable macro call nesting: "
	    "\"$virtual_alias_maps\" (more than 20 levels: a loop?)" } },

	/* tables */
	{ "virtual_mailbox_maps = hash:/etc/postfix/vmailbox\n",
	  { P ":1: virtual_mailbox_maps: \"hash:/etc/postfix/vmailbox\": "
	    "this program does not read hash: tables" } },
	{ "relay_domains = mysql:/etc/postfix/relay.cf\n",
	  { P ":1: relay_domains: unsupported table type \"mysql\" in "
	    "\"mysql:/etc/postfix/relay.cf\" (vrcpt reads pgsql:, inline:, "
	    "static:, hash:, btree:, lmdb:, cdb:, texthash:, regexp:, "
	    "pcre: and domain names)" } },
	{ "virtual_alias_maps = proxy:ldap:/etc/postfix/l.cf\n",
	  { P ":1: virtual_alias_maps: unsupported table type \"ldap\" in "
	    "\"proxy:ldap:/etc/postfix/l.cf\" (vrcpt reads pgsql:, inline:, "
	    "static:, hash:, btree:, lmdb:, cdb:, texthash:, regexp:, "
	    "pcre:)" } },
	{ "virtual_alias_maps = frob:x\n",
	  { P ":1: virtual_alias_maps: unknown table type \"frob\" in "
	    "\"frob:x\" (vrcpt reads pgsql:, inline:, "
	    "static:, hash:, btree:, lmdb:, cdb:, texthash:, regexp:, "
	    "pcre:)" } },
	{ "virtual_alias_maps = example.com\n",
	  { P ":1: virtual_alias_maps: \"example.com\" is not a table: need "
	    "type:name, e.g. pgsql:/etc/postfix/virtual_alias_maps.cf" } },
	{ "relay_domains = /etc/postfix/relay_domains\n",
	  { P ":1: relay_domains: \"/etc/postfix/relay_domains\": only "
	    "domain names and type:table are supported here (no /file, "
	    "!pattern)" } },
	{ "virtual_mailbox_domains = .example.com\n",
	  { P ":1: virtual_mailbox_domains: \".example.com\": only domain "
	    "names and type:table are supported here (no /file, !pattern "
	    "or .subdomain pattern)" } },
	{ "relay_domains = !example.com\n",
	  { P ":1: relay_domains: \"!example.com\": only domain names and "
	    "type:table are supported here (no /file, !pattern)" } },
	{ "relay_domains = ..example.com\n",
	  { P ":1: relay_domains: \"..example.com\" is not a domain "
	    "name" } },
	{ "parent_domain_matches_subdomains = hash:/etc/postfix/x\n",
	  { P ":1: parent_domain_matches_subdomains: "
	    "\"hash:/etc/postfix/x\": only parameter names are supported "
	    "here" } },
	{ "virtual_alias_maps = inline:{ }\n",
	  { P ":1: virtual_alias_maps: empty table: \"inline:{ }\"; need "
	    "\"inline:{name=value...}\"" } },
	{ "virtual_alias_maps = inline:{ foo = xx }\n",
	  { P ":1: virtual_alias_maps: missing '=' after attribute name: "
	    "\"inline:{ foo = xx }\"; need \"inline:{name=value...}\"" } },
	{ "virtual_alias_maps = inline:{ a }\n",
	  { P ":1: virtual_alias_maps: missing '=' after attribute name: "
	    "\"inline:{ a }\"; need \"inline:{name=value...}\"" } },
	{ "virtual_alias_maps = inline:a=b\n",
	  { P ":1: virtual_alias_maps: bad syntax: \"inline:a=b\"; need "
	    "\"inline:{name=value...}\"" } },
	{ "virtual_alias_maps = inline:{ a=b }x\n",
	  { P ":1: virtual_alias_maps: bad syntax: \"inline:{ a=b }x\"; "
	    "need \"inline:{name=value...}\"" } },
	{ "virtual_alias_maps = inline:{ { \"a=b } }\n",
	  { P ":1: virtual_alias_maps: unbalanced '\"': \"inline:{ { \"a=b "
	    "} }\"; need \"inline:{name=value...}\"" } },
	{ "virtual_alias_maps = static:\n",
	  { P ":1: virtual_alias_maps: bad static:name syntax: empty value: "
	    "\"static:\"" } },
	{ "virtual_alias_maps = static:{ x\n",
	  { P ":1: virtual_alias_maps: bad static:name syntax: missing "
	    "'}': \"static:{ x\"" } },
	{ "virtual_alias_maps = pgsql:\n",
	  { P ":1: virtual_alias_maps: \"pgsql:\": need "
	    "pgsql:/path/to/file.cf" } },
	/* missing and broken .cf files; each reported once */
	{ "virtual_mailbox_maps = pgsql:nosuch.cf\n"
	  "virtual_alias_maps = pgsql:nosuch.cf\n",
	  { P ":2: virtual_alias_maps: cannot read " DIR "/nosuch.cf: No "
	    "such file or directory" } },
	{ "virtual_mailbox_maps = pgsql:sub\n",
	  { P ":1: virtual_mailbox_maps: cannot read " DIR "/sub: Is a "
	    "directory" } },
	{ "virtual_mailbox_maps = pgsql:pgsql-bad.cf\n"
	  "virtual_alias_maps = pgsql:pgsql-bad.cf\n",
	  { DIR "/pgsql-bad.cf:3: warning: unknown parameter foo",
	    DIR "/pgsql-bad.cf: dbname is required (the database to query)",
	    DIR "/pgsql-bad.cf:2: query: a $n placeholder (vrcpt numbers its "
	    "own query parameters) at \"$1\"" } },

	/* values */
	{ "listen = unix:run/x.sock inet:host: inet:h:99999 tcp:1\n",
	  { P ":1: listen: bad endpoint \"unix:run/x.sock\" (use "
	    "unix:/absolute/path, inet:host:port or inet:port)",
	    P ":1: listen: bad endpoint \"inet:host:\" (use "
	    "unix:/absolute/path, inet:host:port or inet:port)",
	    P ":1: listen: bad endpoint \"inet:h:99999\" (use "
	    "unix:/absolute/path, inet:host:port or inet:port)",
	    P ":1: listen: bad endpoint \"tcp:1\" (use unix:/absolute/path, "
	    "inet:host:port or inet:port)" } },
	{ "listen =\n", { P ":1: listen: no endpoint (the default is "
	  "unix:/run/vrcpt/policy.sock)" } },
	{ "listen = inet:1 inet:2 inet:3 inet:4 inet:5 inet:6 inet:7 inet:8"
	  " inet:9 inet:10 inet:11 inet:12 inet:13 inet:14 inet:15 inet:16"
	  " inet:17\n", { P ":1: listen: more than 16 endpoints" } },
	{ "listen_mode =\n", { P ":1: bad numerical configuration: "
	  "listen_mode =  (use an octal mode such as 0660)" } },
	{ "unknown_relay_recipient_reject_code = 55\n",
	  { P ":1: bad numerical configuration: "
	    "unknown_relay_recipient_reject_code = 55 (use a 4xx or 5xx "
	    "SMTP reply code)" } },
	{ "unknown_virtual_mailbox_reject_code = 600\n",
	  { P ":1: bad numerical configuration: "
	    "unknown_virtual_mailbox_reject_code = 600 (use a 4xx or 5xx "
	    "SMTP reply code)" } },
	{ "other_domain_action = reject\n",
	  { P ":1: bad action configuration: other_domain_action = reject "
	    "(use reject_unlisted_recipient, reject_unauth_destination, "
	    "defer_unauth_destination, dunno, or \"4xx/5xx text\")" } },
	{ "other_domain_action = 250 OK\n",
	  { P ":1: bad action configuration: other_domain_action = 250 OK "
	    "(use reject_unlisted_recipient, reject_unauth_destination, "
	    "defer_unauth_destination, dunno, or \"4xx/5xx text\")" } },
	{ "lookup_failure_action = defer # like Postfix\n",
	  { P ":1: bad action configuration: lookup_failure_action = defer "
	    "# like Postfix (use defer or dunno)" } },
	{ "db_read_target = standby\n", { P ":1: bad target configuration: "
	  "db_read_target = standby (use any, prefer-standby or primary)" } },
	{ "connection_limit = 0\n", { P ":1: bad numerical configuration: "
	  "connection_limit = 0 (use a number from 1 to 1000000)" } },
	{ "io_timeout = 0\n", { P ":1: bad time configuration: "
	  "io_timeout = 0 (use a time > 0, e.g. 500ms, 1s, 10m, 1h)" } },
	{ "request_timeout = 0\n", { P ":1: bad time configuration: "
	  "request_timeout = 0 (use a time > 0, e.g. 500ms, 1s, 10m, 1h)" } },
	{ "cache_stale_ttl = 1y\n", { P ":1: bad time configuration: "
	  "cache_stale_ttl = 1y (use e.g. 60s, 10m, 1h, 1d)" } },
	{ "syslog_facility = bogus\n", { P ":1: bad facility configuration: "
	  "syslog_facility = bogus (use mail, daemon, local0..local7, ...)" } },
	{ "syslog_name =\n", { P ":1: bad string configuration: syslog_name "
	  "=  (the default is vrcptd)" } },
	{ "double_bounce_sender =\n", { P ":1: bad string configuration: "
	  "double_bounce_sender =  (the default is double-bounce)" } },
	{ "maillog_file = var/log/vrcpt.log\n", { P ":1: bad path "
	  "configuration: maillog_file = var/log/vrcpt.log (use an absolute "
	  "path, /dev/stderr, or nothing for syslog)" } },
	{ "db_pool_size = 0\n", { P ":1: bad numerical configuration: "
	  "db_pool_size = 0 (use a number from 1 to 64)" } },
	{ "db_pool_size = 65\n", { P ":1: bad numerical configuration: "
	  "db_pool_size = 65 (use a number from 1 to 64)" } },
	{ "workers = -1\n", { P ":1: bad numerical configuration: workers = "
	  "-1 (use a number from 0 to 64)" } },
	{ "metrics_listen = 127.0.0.1:9187\n", { P ":1: bad endpoint "
	  "configuration: metrics_listen = 127.0.0.1:9187 (use "
	  "unix:/absolute/path, inet:host:port or inet:port)" } },
	{ "control_listen = inet:127.0.0.1:9188\n", { P ":1: bad endpoint "
	  "configuration: control_listen = inet:127.0.0.1:9188 (use "
	  "unix:/absolute/path: this socket is for the host's admin)" } },
	{ "milter_listen = inet:x@localhost\n", { P ":1: bad endpoint "
	  "configuration: milter_listen = inet:x@localhost (use "
	  "unix:/absolute/path, inet:host:port or inet:port@host)" } },
	{ "milter_listen = local:m.sock\n", { P ":1: bad endpoint "
	  "configuration: milter_listen = local:m.sock (use "
	  "unix:/absolute/path, inet:host:port or inet:port@host)" } },
	{ "milter_policy_service = private/vrcpt\n", { P ":1: bad endpoint "
	  "configuration: milter_policy_service = private/vrcpt (use "
	  "unix:/absolute/path, inet:host:port or inet:port)" } },
	{ "cache = memcache:127.0.0.1\n", { P ":1: bad cache configuration: "
	  "cache = memcache:127.0.0.1 (use none, redis:unix:/path/to/"
	  "redis.sock, redis:inet:host:port or "
	  "redis-sentinel:host:port[,host:port...]/mastername)" } },
	{ "cache = redis-sentinel:127.0.0.1:26379\n", { P ":1: bad cache "
	  "configuration: cache = redis-sentinel:127.0.0.1:26379 (use "
	  "redis-sentinel:host:port[,host:port...]/mastername: 1 to 16 "
	  "distinct Sentinels, and the master's name of letters, digits, "
	  "'.', '_' and '-')" } },
	{ "cache = redis-sentinel:h:1,h:1/m\n", { P ":1: bad cache "
	  "configuration: cache = redis-sentinel:h:1,h:1/m (use "
	  "redis-sentinel:host:port[,host:port...]/mastername: 1 to 16 "
	  "distinct Sentinels, and the master's name of letters, digits, "
	  "'.', '_' and '-')" } },
	{ "cache = redis-sentinel:unix:/run/s.sock/m\n", { P ":1: bad cache "
	  "configuration: cache = redis-sentinel:unix:/run/s.sock/m (use "
	  "redis-sentinel:host:port[,host:port...]/mastername: 1 to 16 "
	  "distinct Sentinels, and the master's name of letters, digits, "
	  "'.', '_' and '-')" } },
	{ "cache_max_entries = 100000001\n", { P ":1: bad numerical "
	  "configuration: cache_max_entries = 100000001 (use a number from 0 "
	  "to 100000000)" } },
	{ "cache_max_bytes = 2t\n", { P ":1: bad size configuration: "
	  "cache_max_bytes = 2t (use bytes, or a number with k, m or g)" } },
	{ "cache_max_bytes = 64 m\n", { P ":1: bad size configuration: "
	  "cache_max_bytes = 64 m (use bytes, or a number with k, m or g)" } },
	{ "cache_max_entries = -1\n", { P ":1: bad numerical "
	  "configuration: cache_max_entries = -1 (use a number from 0 "
	  "to 100000000)" } },
	{ "redis_timeout = 0\n", { P ":1: bad time configuration: "
	  "redis_timeout = 0 (use a time > 0, e.g. 500ms, 1s, 10m, 1h)" } },
	{ "redis_db = x\n", { P ":1: bad numerical configuration: redis_db = "
	  "x (use a number from 0 to 65535)" } },
	/* harvest protection */
	{ "harvest_limit = 20\n", { P ":1: harvest_limit: the counters live "
	  "in Redis: set cache = redis:... (or harvest_limit = 0)" } },
	{ "harvest_exempt_networks = 10.0.0.0/33\n", { P ":1: "
	  "harvest_exempt_networks: a prefix length out of range" } },
	{ "harvest_exempt_networks = $mynetworks\nmynetworks = x.example\n",
	  { P ":1: harvest_exempt_networks: not an IPv4 or IPv6 address or "
	  "network" } },
	{ "harvest_reply = 550 5.7.1 Go away\n", { P ":1: harvest_reply: not "
	  "a 4xx reply \"4NN 4.N.N text\"" } },
	{ "harvest_reply = 450 4.7.1\n", { P ":1: harvest_reply: not "
	  "a 4xx reply \"4NN 4.N.N text\"" } },
	{ "harvest_reply = 450 Slow down\n", { P ":1: harvest_reply: not "
	  "a 4xx reply \"4NN 4.N.N text\"" } },
	{ "harvest_ipv4_prefix = 33\n", { P ":1: bad numerical "
	  "configuration: harvest_ipv4_prefix = 33 (use a number from 0 to "
	  "32)" } },
	/* an error in a value reached through $name names the user */
	{ "x = maybe\nsoft_bounce = $x\n", { P ":2: bad boolean "
	  "configuration: soft_bounce = maybe (use yes or no)" } },
};

START_TEST(test_errors)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = (struct conf *)1;
	const char *text = error_cases[_i].text;
	size_t	 i, n = 0, len = strlen(text);

	/* the NUL byte case: count through the embedded NUL */
	if (strcmp(text, "user = x\nuser = ") == 0)
		len = 18;
	ck_assert_int_eq(conf_load_text(P, text, len, ALL, HERMETIC, &cfg, &msgs), -1);
	ck_assert_ptr_null(cfg);
	while (n < MSGS_MAX && error_cases[_i].msgs[n] != NULL)
		n++;
	for (i = 0; i < msgs.n && i < n; i++)
		ck_assert_str_eq(msgs.v[i], error_cases[_i].msgs[i]);
	for (i = n; i < msgs.n; i++)
		ck_abort_msg("unexpected message: %s", msgs.v[i]);
	ck_assert_uint_eq(msgs.n, n);
	conf_msgs_free(&msgs);
	ck_assert_ptr_null(msgs.v);
}
END_TEST

/*
 * parent_domain_matches_subdomains: does relay_domains match subdomains
 * (match_parent_style.c: a string_list, the first element naming
 * relay_domains decides)?
 */
static const struct {
	const char *text;
	bool	 parent;
} parent_cases[] = {
	{ "", true },		/* Postfix's default lists it */
	{ "parent_domain_matches_subdomains =\n", false },
	{ "parent_domain_matches_subdomains = mynetworks\n", false },
	{ "parent_domain_matches_subdomains = mynetworks Relay_Domains\n",
	  true },
	{ "parent_domain_matches_subdomains = !relay_domains, "
	  "relay_domains\n", false },
	{ "parent_domain_matches_subdomains = !!relay_domains\n", true },
	{ "parent_domain_matches_subdomains = relay_domains_x\n", false },
};

START_TEST(test_parent_style)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	const char *text = parent_cases[_i].text;

	ck_assert_int_eq(conf_load_text(P, text, strlen(text), ALL, NULL, 0,
	    &cfg, &msgs), 0);
	ck_assert_uint_eq(msgs.n, 0);
	ck_assert_msg(cfg->engine.relay_domains_parent ==
	    parent_cases[_i].parent, "%s", text);
	conf_unref(&cfg);
	conf_msgs_free(&msgs);
}
END_TEST

/* a whole ISPmail-style configuration: maps, ids, shared servers */
START_TEST(test_ispmail)
{
	static const char text[] =
	    "listen = unix:/run/vrcpt/policy.sock, inet:127.0.0.1:10023\n"
	    "virtual_mailbox_domains = pgsql:pgsql-virtual-mailbox-domains.cf\n"
	    "virtual_mailbox_maps    = pgsql:pgsql-virtual-mailbox-maps.cf\n"
	    "virtual_alias_maps      = pgsql:pgsql-virtual-alias-maps.cf,\n"
	    "                          pgsql:pgsql-email2email.cf\n"
	    "relay_domains = relay.example\n"
	    "relay_recipient_maps = proxy:pgsql:pgsql-relay-recipients.cf\n"
	    "recipient_delimiter = +\n";
	struct conf *cfg = load_ok(text, NULL);
	const struct engine_cfg *e = &cfg->engine;
	size_t	 i, j;
	unsigned seen = 0;

	/* five tables from files, one domain, and the defaulted alias
	 * domains are the alias maps themselves (no new map) */
	ck_assert_uint_eq(cfg->nmaps, 6);
	for (i = 0; i < cfg->nmaps; i++) {
		ck_assert_uint_eq(cfg->maps[i]->id, i);
		if (cfg->maps[i]->type == MAP_PGSQL) {
			ck_assert_uint_lt(cfg->maps[i]->u.sql->id, 5);
			ck_assert(!(seen & (1u << cfg->maps[i]->u.sql->id)));
			seen |= 1u << cfg->maps[i]->u.sql->id;
		}
	}
	ck_assert_uint_eq(seen, 0x1f);
	ck_assert_uint_eq(e->virtual_alias_domains.n, 2);
	ck_assert_ptr_eq(e->virtual_alias_domains.v[0],
	    e->virtual_alias_maps.v[0]);
	ck_assert_ptr_eq(e->virtual_alias_domains.v[1],
	    e->virtual_alias_maps.v[1]);
	ck_assert_str_eq(e->virtual_alias_domains.param,
	    "virtual_alias_domains");
	ck_assert_str_eq(e->virtual_alias_maps.param, "virtual_alias_maps");
	ck_assert_str_eq(e->relay_recipient_maps.v[0]->name,
	    "proxy:pgsql:pgsql-relay-recipients.cf");
	ck_assert_str_eq(e->relay_recipient_maps.v[0]->u.sql->path,
	    DIR "/pgsql-relay-recipients.cf");

	/* the four ISPmail files share one server; the relay file not */
	ck_assert_uint_eq(cfg->ndbconfs, 2);
	ck_assert_uint_eq(cfg->dbconfs[0].nmaps, 4);
	ck_assert_uint_eq(cfg->dbconfs[1].nmaps, 1);
	for (i = 0; i < cfg->ndbconfs; i++)
		for (j = 0; j < cfg->dbconfs[i].nmaps; j++)
			ck_assert(sqlmap_same_conn(cfg->dbconfs[i].conn,
			    &cfg->dbconfs[i].maps[j]->conn));
	ck_assert_str_eq(cfg->dbconfs[0].conn->dbname, "mailserver");
	/* .cf files are not $-expanded */
	ck_assert_str_eq(cfg->dbconfs[0].conn->password, "x$y'z");
	ck_assert_str_eq(cfg->dbconfs[1].conn->dbname, "relay");
	ck_assert_str_eq(e->addr.recipient_delimiter, "+");

	/* shared ownership: the last unref frees */
	ck_assert_ptr_eq(conf_ref(cfg), cfg);
	ck_assert_int_eq(atomic_load(&cfg->refs), 2);
	{
		struct conf *c2 = cfg;

		conf_unref(&c2);
		ck_assert_ptr_null(c2);
	}
	ck_assert_int_eq(atomic_load(&cfg->refs), 1);
	conf_unref(&cfg);
}
END_TEST

/* the project's own Postfix map files load unchanged */
START_TEST(test_policy_files)
{
	static const char text[] =
	    "virtual_mailbox_domains = pgsql:../../../../policy/"
	    "pgsql-virtual-mailbox-domains.cf\n"
	    "virtual_mailbox_maps = pgsql:/nonexistent/../"
	    "dev/null/x.cf\n";
	static const char ok[] =
	    "virtual_mailbox_domains = pgsql:../../../../policy/"
	    "pgsql-virtual-mailbox-domains.cf\n"
	    "virtual_mailbox_maps = pgsql:../../../../policy/"
	    "pgsql-virtual-mailbox-maps.cf\n"
	    "virtual_alias_maps = pgsql:../../../../policy/"
	    "pgsql-virtual-alias-maps.cf, pgsql:../../../../policy/"
	    "pgsql-email2email.cf,\n"
	    " pgsql:../../../../policy/postfixadmin-virtual-alias-maps.cf\n"
	    " pgsql:../../../../policy/"
	    "postfixadmin-virtual-alias-domain-maps.cf\n"
	    " pgsql:../../../../policy/"
	    "postfixadmin-virtual-alias-domain-catchall-maps.cf\n"
	    "relay_recipient_maps = pgsql:../../../../policy/"
	    "postfixadmin-virtual-mailbox-maps.cf\n"
	    " pgsql:../../../../policy/"
	    "postfixadmin-virtual-alias-domain-mailbox-maps.cf\n"
	    "relay_domains = pgsql:../../../../policy/"
	    "postfixadmin-virtual-domains-maps.cf\n";
	struct conf_msgs msgs = { 0 };
	struct conf *cfg;

	/* a path that cannot be read is an error, not a crash */
	ck_assert_int_eq(conf_load_text(P, text, strlen(text), ALL, HERMETIC, &cfg, &msgs),
	    -1);
	ck_assert_uint_eq(msgs.n, 1);
	conf_msgs_free(&msgs);

	cfg = load_ok(ok, NULL);
	ck_assert_uint_eq(cfg->nmaps, 10);
	ck_assert_uint_eq(cfg->ndbconfs, 2);
	conf_unref(&cfg);
}
END_TEST

START_TEST(test_files)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = (struct conf *)1;
	char	*big;

	ck_assert_int_eq(conf_load(DIR "/nosuch.cf", ALL, HERMETIC, &cfg, &msgs), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(msgs.n, 1);
	ck_assert_str_eq(msgs.v[0], DIR "/nosuch.cf: cannot read: No such "
	    "file or directory");
	conf_msgs_free(&msgs);

	ck_assert_int_eq(conf_load(DIR, ALL, HERMETIC, &cfg, &msgs), -1);
	ck_assert_str_eq(msgs.v[0], DIR ": cannot read: Is a directory");
	conf_msgs_free(&msgs);

	/* barely fits / one byte over */
	big = malloc(CONF_FILE_MAX + 1);
	memset(big, '\n', CONF_FILE_MAX + 1);
	ck_assert_int_eq(conf_load_text(P, big, CONF_FILE_MAX, ALL, HERMETIC, &cfg,
	    &msgs), 0);
	ck_assert_uint_eq(msgs.n, 0);
	conf_unref(&cfg);
	ck_assert_int_eq(conf_load_text(P, big, CONF_FILE_MAX + 1, ALL, HERMETIC, &cfg,
	    &msgs), -1);
	ck_assert_str_eq(msgs.v[0], P ": file too large (more than 1048576 "
	    "bytes)");
	conf_msgs_free(&msgs);
	free(big);
}
END_TEST

/* a hostile expansion cannot blow up: output and work are bounded */
START_TEST(test_expansion_bomb)
{
	static const char text[] =
	    "syslog_name = $a$a$a$a$a$a$a$a\n"
	    "a = $b$b$b$b$b$b$b$b\nb = $c$c$c$c$c$c$c$c\n"
	    "c = $d$d$d$d$d$d$d$d\nd = $e$e$e$e$e$e$e$e\n"
	    "e = $f$f$f$f$f$f$f$f\nf = $g$g$g$g$g$g$g$g\n"
	    "g = $h$h$h$h$h$h$h$h\nh = xxxxxxxxxxxxxxxx\n";
	struct conf_msgs msgs = { 0 };
	struct conf *cfg;

	ck_assert_int_eq(conf_load_text(P, text, strlen(text), ALL, HERMETIC, &cfg, &msgs),
	    -1);
	ck_assert_uint_eq(msgs.n, 1);
	ck_assert_msg(strncmp(msgs.v[0], P ":1: syslog_name: ",
	    strlen(P ":1: syslog_name: ")) == 0, "%s", msgs.v[0]);
	conf_msgs_free(&msgs);
}
END_TEST

/*
 * -o name=value: above the file, named as "-o name" in messages, shown
 * as such by conf_origin_text(); a bad one is an error, an unknown name
 * a warning (as postfix -o).
 */
START_TEST(test_overrides)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	const char *ov[] = { "postfix_config_directory=",
	    "syslog_name=vrcpt-milter/smtpd", "request_timeout=2s",
	    "soft_bounce=maybe" };
	const char *ov_ok[] = { "postfix_config_directory=",
	    "syslog_name=x", "no_such=1" };
	const char *ov_bad[] = { "postfix_config_directory=",
	    "Syslog_name=x" };
	const char *text = "syslog_name = fromfile\nrequest_timeout = 5s\n";
	char	*v;

	ck_assert_int_eq(conf_load_text(P, text, strlen(text), ALL, ov, 4,
	    &cfg, &msgs), -1);
	ck_assert_uint_eq(msgs.n, 1);
	ck_assert_str_eq(msgs.v[0], "-o soft_bounce: bad boolean "
	    "configuration: soft_bounce = maybe (use yes or no)");
	conf_msgs_free(&msgs);

	ck_assert_int_eq(conf_load_text(P, text, strlen(text), ALL, ov, 3,
	    &cfg, &msgs), 0);
	ck_assert_uint_eq(msgs.n, 0);
	ck_assert_str_eq(cfg->syslog_name, "vrcpt-milter/smtpd");
	ck_assert_uint_eq(cfg->request_timeout, 2000);
	v = conf_origin_text(cfg, CONF_P_syslog_name);
	ck_assert_str_eq(v, "-o");
	free(v);
	v = conf_origin_text(cfg, CONF_P_soft_bounce);
	ck_assert_str_eq(v, "default");
	free(v);
	conf_unref(&cfg);

	text = "x = 1\nsoft_bounce = yes\n";
	ck_assert_int_eq(conf_load_text(P, text, strlen(text), ALL, ov_ok, 3,
	    &cfg, &msgs), 0);
	ck_assert_uint_eq(msgs.n, 2);
	ck_assert_str_eq(msgs.v[0], P ":1: warning: unknown parameter x");
	ck_assert_str_eq(msgs.v[1], "-o no_such: warning: unknown parameter");
	v = conf_origin_text(cfg, CONF_P_soft_bounce);
	ck_assert_str_eq(v, P ":2");
	free(v);
	conf_msgs_free(&msgs);
	conf_unref(&cfg);

	ck_assert_int_eq(conf_load_text(P, "", 0, ALL, ov_bad, 2, &cfg,
	    &msgs), -1);
	ck_assert_uint_eq(msgs.n, 1);
	ck_assert_str_eq(msgs.v[0], "-o Syslog_name=x: bad override (use "
	    "name=value)");
	conf_msgs_free(&msgs);
}
END_TEST

/*
 * A value with a line break (only -o can give one) is refused, and no
 * message quotes the break: each is one log line (found by fuzz_config:
 * the $name expansion errors quoted the raw text).
 */
static const char *const nl_overrides[] = {
	"cache=${\n}",
	"syslog_name=${a\r\nb}",
	"relay_domains=${x\n?{y}}",
	"other_domain_action=$a\n",
};

START_TEST(test_override_newline)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	const char *ov[] = { nl_overrides[_i] };
	size_t	 i;

	ck_assert_int_eq(conf_load_text(P, "a = $a\n", 7, ALL, ov, 1, &cfg,
	    &msgs), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_ge(msgs.n, 1);
	for (i = 0; i < msgs.n; i++)
		ck_assert_msg(strpbrk(msgs.v[i], "\r\n") == NULL,
		    "\"%s\": a message of more than one line", ov[0]);
	conf_msgs_free(&msgs);
}
END_TEST

/*
 * Each program reads only its own parameters: vrcpt-milter (CONF_M)
 * opens no table, so a table it cannot read is no error for it, and a
 * bad value of a vrcptd-only parameter neither.
 */
START_TEST(test_ownership)
{
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	const char *text = "virtual_mailbox_maps = pgsql:nosuch.cf\n"
	    "db_pool_size = 1000\nmilter_listen = inet:127.0.0.1:10024\n";

	ck_assert_int_eq(conf_load_text(P, text, strlen(text), CONF_M,
	    HERMETIC, &cfg, &msgs), 0);
	ck_assert_uint_eq(msgs.n, 0);
	ck_assert_uint_eq(cfg->nmaps, 0);
	ck_assert_ptr_null(cfg->virtual_mailbox_maps);
	ck_assert_uint_eq(cfg->milter_listen.port, 10024);
	conf_unref(&cfg);

	ck_assert_int_eq(conf_load_text(P, text, strlen(text),
	    CONF_D | CONF_TABLES, HERMETIC, &cfg, &msgs), -1);
	/* vrcptd: both errors at once */
	ck_assert_uint_eq(msgs.n, 2);
	ck_assert_str_eq(msgs.v[0], P ":2: bad numerical configuration: "
	    "db_pool_size = 1000 (use a number from 1 to 64)");
	ck_assert_str_eq(msgs.v[1], P ":1: virtual_mailbox_maps: cannot read "
	    DIR "/nosuch.cf: No such file or directory");
	conf_msgs_free(&msgs);
}
END_TEST

/* conf_changed: what differs between two loads; restart ones flagged */
START_TEST(test_changed)
{
	struct conf_msgs msgs = { 0 };
	struct conf *a = NULL, *b = NULL;
	enum conf_param_id ids[CONF_NPARAMS];
	const char *ta = "listen = unix:/run/a.sock\nsoft_bounce = no\n";
	const char *tb = "listen = unix:/run/b.sock\nsoft_bounce = yes\n"
	    "workers = 0\n";

	ck_assert_int_eq(conf_load_text(P, ta, strlen(ta), CONF_D, HERMETIC,
	    &a, &msgs), 0);
	ck_assert_int_eq(conf_load_text(P, tb, strlen(tb), CONF_D, HERMETIC,
	    &b, &msgs), 0);
	ck_assert_uint_eq(conf_changed(a, b, CONF_D, ids), 2);
	ck_assert_int_eq(ids[0], CONF_P_listen);
	ck_assert(!(conf_params[ids[0]].flags & CONF_LIVE));
	ck_assert_int_eq(ids[1], CONF_P_soft_bounce);
	ck_assert(conf_params[ids[1]].flags & CONF_LIVE);
	conf_unref(&a);
	conf_unref(&b);
	conf_msgs_free(&msgs);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_defaults, 0,
	    sizeof(defaults) / sizeof(defaults[0]));
	tcase_add_test(tc, test_deploy_reference);
	tcase_add_loop_test(tc, test_values, 0,
	    sizeof(value_cases) / sizeof(value_cases[0]));
	tcase_add_loop_test(tc, test_errors, 0,
	    sizeof(error_cases) / sizeof(error_cases[0]));
	tcase_add_loop_test(tc, test_parent_style, 0,
	    sizeof(parent_cases) / sizeof(parent_cases[0]));
	tcase_add_test(tc, test_ispmail);
	tcase_add_test(tc, test_policy_files);
	tcase_add_test(tc, test_files);
	tcase_add_test(tc, test_expansion_bomb);
	tcase_add_test(tc, test_overrides);
	tcase_add_loop_test(tc, test_override_newline, 0,
	    sizeof(nl_overrides) / sizeof(nl_overrides[0]));
	tcase_add_test(tc, test_ownership);
	tcase_add_test(tc, test_changed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(conf_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
