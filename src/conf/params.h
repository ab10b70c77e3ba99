#ifndef VRCPT_PARAMS_H
#define VRCPT_PARAMS_H
/*
 * params - every parameter of vrcptd.cf, once: the table from which the
 * configuration is parsed, checked, overridden (-o), reported (vrcptctl
 * check) and documented (deploy/vrcptd.cf and vrcptd.cf(5) are generated
 * from it: "make docs").
 *
 * CONF_PARAMS(X) calls X(section, name, type, default, min, max, flags,
 * help) for each parameter, in the order of the reference file:
 *   section  CONF_SEC_*: the heading it is documented under
 *   name     the parameter, as an identifier: "struct conf" has a field
 *            of that name (conf.h) and the table its text (#name)
 *   type     CONF_T_*: how the value is read, and the field's C type
 *            (conf.h CONF_CTYPE_*)
 *   default  as Postfix's own where Postfix has the parameter
 *   min, max limits of UINT, TIME (milliseconds) and SIZE (bytes) values
 *   flags    which programs read it (CONF_D vrcptd, CONF_M vrcpt-milter,
 *            CONF_C vrcptctl), whether SIGHUP applies it (CONF_LIVE) or
 *            vrcptd must be restarted, and CONF_PF for a parameter that
 *            Postfix has with the same name and meaning: its value is
 *            taken from Postfix's main.cf (postfix_config_directory)
 *            unless this file or -o sets it
 *   help     the reference text, one "\n"-terminated line per line
 *
 * Depends on: nothing. Included by conf/conf.h and conf/params.c.
 */

/* sections of the reference, in order (params.c has their titles) */
enum conf_section {
	CONF_SEC_LISTEN,
	CONF_SEC_TABLES,
	CONF_SEC_REPLIES,
	CONF_SEC_CLIENTS,
	CONF_SEC_LOGGING,
	CONF_SEC_RESOURCES,
	CONF_SEC_MILTER,
	CONF_SEC_CACHE,
	CONF_SEC_HARVEST,
	CONF_NSECTIONS
};

#define CONF_D		0x01	/* vrcptd reads it */
#define CONF_M		0x02	/* vrcpt-milter reads it */
#define CONF_C		0x04	/* vrcptctl reads it */
#define CONF_LIVE	0x10	/* SIGHUP applies it (else: restart) */
#define CONF_PF		0x20	/* Postfix has it: same name, same meaning */

#define CONF_LISTEN_MAX		16		/* listen endpoints */
#define CONF_POOL_MAX		64		/* db_pool_size */
#define CONF_WORKERS_MAX	64		/* workers */
#define CONF_CONNECTIONS_MAX	1000000		/* connection_limit */
#define CONF_CACHE_ENTRIES_MAX	100000000	/* cache_max_entries */
#define CONF_TIME_MAX		(10ULL * 365 * 24 * 3600 * 1000) /* 10y */
#define CONF_SIZE_MAX		(1ULL << 40)	/* 1 TiB */
#define CONF_HARVEST_LIMIT_MAX	1000000		/* harvest_limit */

#define CONF_PARAMS(X)							\
X(LISTEN, listen, ENDPOINTS, "unix:/run/vrcpt/policy.sock", 1,		\
    CONF_LISTEN_MAX, CONF_D | CONF_M,					\
    "Where Postfix's check_policy_service connects: up to 16 endpoints,\n" \
    "unix:/absolute/path or inet:host:port (inet:[::1]:port,\n"	\
    "inet:port for all addresses). Debian's smtpd runs chrooted, so use\n" \
    "unix:/var/spool/postfix/vrcpt/policy (a directory the vrcpt user\n" \
    "may write, group postfix) and\n"				\
    "\"check_policy_service unix:vrcpt/policy\" in main.cf.\n")	\
X(LISTEN, listen_mode, MODE, "0660", 0, 07777, CONF_D | CONF_M,	\
    "Octal permissions of the unix-domain sockets (listen,\n"		\
    "metrics_listen, milter_listen). Postfix's smtpd reaches them\n"	\
    "through listen_group.\n")						\
X(LISTEN, listen_group, STR, "postfix", 0, 0, CONF_D | CONF_M,		\
    "Group of those sockets: the one Postfix's smtpd runs with. At the\n" \
    "default and with no such group on the system, the sockets keep\n" \
    "the daemon's group (a warning); a group set here must exist.\n"	\
    "Empty: the daemon's group.\n")					\
X(LISTEN, metrics_listen, ENDPOINT, "", 0, 0, CONF_D,			\
    "Prometheus metrics at /metrics, plus /healthz and /readyz, on\n"	\
    "inet:host:port or unix:/path. Empty: off.\n")			\
X(LISTEN, socketmap_listen, ENDPOINTS, "", 0, CONF_LISTEN_MAX, CONF_D,	\
    "Where Postfix's socketmap: tables connect (socketmap_table(5)):\n" \
    "up to 16 endpoints, unix:/path or inet:host:port, with the\n"	\
    "limits and timeouts of listen. The map name is the parameter\n"	\
    "answered for (socketmap:unix:/path:virtual_alias_maps): each\n"	\
    "answer is what Postfix's own search of that list would give for\n" \
    "the whole key, from the same caches as the policy answers.\n"	\
    "Empty: off.\n")							\
X(LISTEN, control_listen, UENDPOINT, "unix:/run/vrcpt/control.sock", 0, 0,\
    CONF_D | CONF_C,							\
    "Where vrcptctl query and stats reach the running vrcptd: a\n"	\
    "unix:/path only, mode 0600 (root and vrcptd's own user). Left at\n" \
    "its default, a socket that cannot be created is a warning;\n"	\
    "set, it is an error. Empty: off.\n")				\
									\
X(TABLES, postfix_config_directory, PATH, "/etc/postfix", 0, 0,	\
    CONF_D | CONF_C | CONF_LIVE,					\
    "Postfix's configuration directory: every parameter marked \"as in\n" \
    "Postfix\" that this file does not set is taken from its main.cf,\n" \
    "as \"postconf -c DIR -x\" expands it (Postfix's defaults included),\n" \
    "so that the tables are listed once, in main.cf. A value set here\n" \
    "(or with -o) overrides main.cf's; one that differs is a warning.\n" \
    "Read again at every reload. At the default, a directory without\n" \
    "main.cf (vrcptd on a host without Postfix) means off; set, it must\n" \
    "have one. Empty: off (only this file and vrcpt's defaults).\n")	\
X(TABLES, recipient_canonical_maps, MAPS, "", 0, 0,			\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Postfix's recipient address rewriting tables. A recipient that\n"	\
    "matches one is valid in any of our domain classes, as in Postfix\n" \
    "(smtpd_check.c, check_rcpt_maps: looked up first, then\n"	\
    "canonical_maps, then virtual_alias_maps). Same keys as\n"		\
    "virtual_alias_maps.\n")						\
X(TABLES, canonical_maps, MAPS, "", 0, 0,				\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Postfix's sender and recipient address rewriting tables: a\n"	\
    "recipient that matches one is valid, as with\n"			\
    "recipient_canonical_maps (sender_canonical_maps does not count for\n" \
    "recipients, nor in Postfix).\n")					\
X(TABLES, virtual_alias_maps, MAPS, "", 0, 0,				\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Aliases. A recipient with an alias is valid in any domain class.\n" \
    "Keys tried, as Postfix does: user+ext@domain, user@domain, @domain\n" \
    "(regexp: and pcre: tables: user+ext@domain only).\n")		\
X(TABLES, virtual_alias_domains, DOMAINS, "$virtual_alias_maps", 0, 0,	\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Virtual alias domains: every valid recipient is an alias in\n"	\
    "virtual_alias_maps. Postfix's default looks each domain up in the\n" \
    "alias maps themselves (key \"example.com\").\n")			\
X(TABLES, virtual_mailbox_maps, MAPS, "", 0, 0,			\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Mailboxes of the virtual mailbox domains. Unknown users get\n"	\
    "\"550 5.1.1 User unknown in virtual mailbox table\". Empty: every\n" \
    "user of those domains is accepted.\n")				\
X(TABLES, virtual_mailbox_domains, DOMAINS, "$virtual_mailbox_maps", 0, 0,\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Virtual mailbox domains. Postfix's default looks each domain up in\n" \
    "virtual_mailbox_maps; ISPmail and PostfixAdmin set it to a table\n" \
    "of their own.\n")							\
X(TABLES, relay_domains, DOMAINS, "", 0, 0,				\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Domains this host relays for (an edge MX). Empty, as in Postfix\n"	\
    "at compatibility_level 2 and later (before, Postfix's default was\n" \
    "$mydestination: those domains are local, see mydestination).\n"	\
    "Subdomains: see parent_domain_matches_subdomains.\n")		\
X(TABLES, mydestination, DOMAINS, "", 0, 0,				\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "The local domains. A domain listed here is local before any other\n" \
    "class, as in Postfix: vrcptd answers other_domain_action for it\n"	\
    "and Postfix checks local_recipient_maps itself. Read from Postfix\n" \
    "(postfix_config_directory); /file entries are not read (a warning):\n" \
    "list those domains or use a table.\n")				\
X(TABLES, parent_domain_matches_subdomains, STR,			\
    "debug_peer_list, fast_flush_domains, mynetworks, "		\
    "permit_mx_backup_networks, qmqpd_authorized_clients, "		\
    "relay_domains, smtpd_access_maps", 0, 0,				\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Postfix's list of parameters where a domain matches its\n"	\
    "subdomains too. vrcpt looks for relay_domains in it: listed (the\n" \
    "default), \"example.com\" in relay_domains covers a.example.com,\n" \
    "a table is asked for the parent domains (\"example.com\" for\n"	\
    "a.example.com) and \".example.com\" matches nothing; not listed,\n" \
    "\".example.com\" is the way to match subdomains (and the key\n"	\
    "tables are asked for). The other names are Postfix's business.\n") \
X(TABLES, relay_recipient_maps, MAPS, "", 0, 0,			\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Valid recipients of the relay domains. Empty: every recipient of\n" \
    "those domains is accepted (as in Postfix).\n")			\
X(TABLES, recipient_delimiter, STR, "", 0, 0,				\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "The characters that separate a local part from its extension\n"	\
    "(user+ext). The split is at the first of them found.\n")		\
X(TABLES, smtputf8_enable, BOOL, "yes", 0, 0,				\
    CONF_D | CONF_M | CONF_C | CONF_LIVE | CONF_PF,			\
    "As Postfix's smtputf8_enable (yes at compatibility_level 1 and\n"	\
    "later; Debian's main.cf sets 3.6): copy it from main.cf. yes:\n"	\
    "addresses and table keys are case-folded as Unicode (ICU full case\n" \
    "folding: German sharp s folds to \"ss\"), and an address that is\n" \
    "not UTF-8 is not ours. no: only A-Z are folded (an upper-case\n"	\
    "umlaut stays upper-case), a non-ASCII domain is not ours, and\n"	\
    "vrcpt-milter writes non-ASCII bytes of a reply as spaces, as\n"	\
    "Postfix does.\n")							\
X(TABLES, propagate_unmatched_extensions, STR, "canonical, virtual", 0, 0,\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Where an extension that a table did not match is put back on the\n" \
    "result (user+ext@domain found as user@domain): socketmap answers\n" \
    "of virtual_alias_maps (\"virtual\") and of the canonical maps\n"	\
    "(\"canonical\"). Names as Postfix's (canonical, virtual, alias,\n" \
    "forward, include, generic).\n")					\
X(TABLES, owner_request_special, BOOL, "yes", 0, 0,			\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Do not split owner-list and list-request when \"-\" is a delimiter.\n")\
X(TABLES, double_bounce_sender, NONEMPTY, "double-bounce", 0, 0,	\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Its local part is never split at a delimiter (as in Postfix).\n")	\
									\
X(REPLIES, unknown_virtual_alias_reject_code, CODE, "550", 400, 599,	\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "The reply code for an unknown user of a virtual alias domain:\n"	\
    "4xx or 5xx.\n")							\
X(REPLIES, unknown_virtual_mailbox_reject_code, CODE, "550", 400, 599,	\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "The reply code for an unknown user of a virtual mailbox domain.\n") \
X(REPLIES, unknown_relay_recipient_reject_code, CODE, "550", 400, 599,	\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "The reply code for an unknown user of a relay domain.\n")		\
X(REPLIES, show_user_unknown_table_name, BOOL, "yes", 0, 0,		\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "\"User unknown in virtual mailbox table\" rather than\n"		\
    "\"User unknown\".\n")						\
X(REPLIES, soft_bounce, BOOL, "no", 0, 0,				\
    CONF_D | CONF_C | CONF_LIVE | CONF_PF,				\
    "Turn 5xx replies into 4xx, as Postfix's soft_bounce does.\n")	\
X(REPLIES, warn_if_reject, BOOL, "no", 0, 0,				\
    CONF_D | CONF_C | CONF_LIVE,					\
    "Log the reject that would have been sent and answer DUNNO: a safe\n" \
    "way to roll out (keep smtpd_reject_unlisted_recipient = yes\n"	\
    "meanwhile).\n")							\
X(REPLIES, other_domain_action, ODA, "reject_unlisted_recipient", 0, 0,\
    CONF_D | CONF_C | CONF_LIVE,					\
    "The answer for a recipient in a domain that is not one of ours\n"	\
    "(not in any *_domains, an IP literal, no domain at all). One of\n"	\
    "reject_unlisted_recipient (Postfix checks its local recipients\n"	\
    "itself), reject_unauth_destination, defer_unauth_destination,\n"	\
    "dunno, or a literal reply \"4xx/5xx text\" (e.g. \"554 5.7.1 Relay\n" \
    "access denied\").\n")						\
X(REPLIES, lookup_failure_action, LFA, "defer", 0, 0,			\
    CONF_D | CONF_M | CONF_C | CONF_LIVE,				\
    "When PostgreSQL cannot answer (down, timed out, expansion_limit\n"	\
    "exceeded): defer (\"451 4.3.0 Temporary lookup failure\", as Postfix)\n" \
    "or dunno (fail open: accept, and let delivery sort it out).\n")	\
X(REPLIES, request_timeout, TIME, "1s", 1, CONF_TIME_MAX,		\
    CONF_D | CONF_M | CONF_LIVE,					\
    "The deadline of one request; a request that runs out of time gets\n" \
    "lookup_failure_action. Keep it well below Postfix's\n"		\
    "smtpd_policy_service_timeout (100s). Time units: ms, s, m, h, d, w\n" \
    "(a bare number is seconds).\n")					\
									\
X(CLIENTS, connection_limit, UINT, "1000", 1, CONF_CONNECTIONS_MAX,	\
    CONF_D | CONF_LIVE,							\
    "Client connections at once, all workers together. Each Postfix\n"	\
    "smtpd process keeps one (default_process_limit is 100 per\n"	\
    "service), so the default covers a few smtpd services with room\n"	\
    "to spare. At the limit, the connection that has gone longest\n"	\
    "without a request is closed to make room (Postfix reconnects by\n"	\
    "itself when it next needs it); when every connection has a request\n" \
    "in flight, the new one is closed. Both are logged at most once a\n" \
    "minute. Also capped by the open-file limit (LimitNOFILE=).\n")	\
X(CLIENTS, idle_timeout, TIME, "600s", 1, CONF_TIME_MAX,		\
    CONF_D | CONF_LIVE,							\
    "A connection with no request for this long is closed. Keep it\n"	\
    "above Postfix's smtpd_policy_service_max_idle (300s), so that\n"	\
    "Postfix closes idle connections first.\n")			\
X(CLIENTS, io_timeout, TIME, "10s", 1, CONF_TIME_MAX,			\
    CONF_D | CONF_LIVE,							\
    "A request must arrive whole, and a reply be taken by the client,\n" \
    "within this time; a client that trickles bytes or never reads is\n" \
    "disconnected. Postfix sends each request in one write.\n")	\
									\
X(LOGGING, syslog_name, NONEMPTY, "vrcptd", 0, 0,			\
    CONF_D | CONF_M | CONF_LIVE,	\
    "The syslog ident. Never use \"postfix/...\": log tools would count\n" \
    "each reject twice.\n")						\
X(LOGGING, syslog_facility, FACILITY, "mail", 0, 0,		\
    CONF_D | CONF_M | CONF_LIVE,	\
    "The syslog facility: mail, daemon, local0 .. local7, ...\n")	\
X(LOGGING, maillog_file, PATH, "", 0, 0, CONF_D | CONF_M | CONF_LIVE,		\
    "Empty: log to syslog. An absolute path: append to that file (like\n" \
    "Postfix's maillog_file). /dev/stderr: log to standard error (for\n" \
    "systemd's journal). SIGUSR1 (and SIGHUP) reopen the file, after\n" \
    "logrotate moved it; it is never opened through a symbolic link.\n")						\
X(LOGGING, log_level, UINT, "0", 0, 255, CONF_D | CONF_M | CONF_LIVE,	\
    "0: log rejects and deferrals; 1: also accepted recipients.\n")	\
									\
X(RESOURCES, db_pool_size, UINT, "4", 1, CONF_POOL_MAX,		\
    CONF_D | CONF_LIVE,							\
    "PostgreSQL connections per database server, all workers together\n" \
    "(1 to 64).\n")							\
X(RESOURCES, db_read_target, TARGET, "any", 0, 0,			\
    CONF_D | CONF_C | CONF_LIVE,					\
    "Where lookups read when a map's hosts list a primary and its\n"	\
    "streaming standbys. any: Postfix's order (unix sockets, then TCP,\n" \
    "then URIs, random within each), a standby like any host.\n"	\
    "prefer-standby: a standby when one is up, else the primary.\n"	\
    "primary: never a standby (a host in recovery is skipped for the\n" \
    "map's retry_interval, as vrcptd's LISTEN connection does). An\n"	\
    "answer read from a standby is cached only once the standby has\n"	\
    "replayed every change vrcptd was notified of (README, \"Standbys\").\n") \
X(RESOURCES, db_replay_wait, TIME, "500ms", 0, CONF_TIME_MAX,		\
    CONF_D | CONF_LIVE,							\
    "When a standby answers a lookup of a key that changed and has not\n" \
    "replayed the change yet (vrcptd knows from the NOTIFY and the\n"	\
    "primary's WAL position), ask it again every 20ms for up to this\n" \
    "long (at most half of request_timeout), so that the first RCPT\n"	\
    "after a change sees it. After that the standby's answer is used,\n" \
    "as Postfix would use it, but not cached. 0: do not wait.\n")	\
X(RESOURCES, workers, UINT, "0", 0, CONF_WORKERS_MAX, CONF_D,		\
    "Event-loop threads; 0 means one per CPU core (at most 64).\n")	\
X(RESOURCES, user, STR, "", 0, 0, CONF_D | CONF_M,			\
    "When started as root: the user to become after binding the\n"	\
    "sockets. Empty: stay as started.\n")				\
									\
X(MILTER, milter_listen, MENDPOINT, "", 0, 0, CONF_M,			\
    "Where vrcpt-milter listens for the MTA (smtpd_milters in main.cf):\n" \
    "unix:/absolute/path, inet:host:port, or libmilter's own\n"	\
    "inet:port@host, inet6:port@host, local:/path. Empty: no milter.\n") \
X(MILTER, milter_policy_service, ENDPOINT, "", 0, 0, CONF_M,		\
    "Where vrcpt-milter asks vrcptd: unix:/absolute/path or\n"		\
    "inet:host:port. Empty: the first \"listen\" endpoint.\n")		\
X(MILTER, milter_log_reject, BOOL, "no", 0, 0, CONF_M,			\
    "Postfix logs milter rejects as \"milter-reject:\", which pflogsumm\n" \
    "does not count. With yes, vrcpt-milter also logs the Postfix-style\n" \
    "\"NOQUEUE: reject:\" line (and, with log_level = 1, accepts).\n")	\
									\
X(CACHE, cache, CACHE, "none", 0, 0, CONF_D | CONF_C | CONF_LIVE,	\
    "none, or redis:unix:/path/to/redis.sock or redis:inet:host:port\n"	\
    "(redis:host:port too): a cache shared by all vrcptd instances.\n"	\
    "Redis down or slow means slower, never a different answer.\n"	\
    "redis-sentinel:host:port[,host:port...]/mastername: the master\n"	\
    "that these Redis Sentinels (up to 16) watch under that name, found\n" \
    "through them and followed through failovers. A new master may\n"	\
    "lack the old one's last writes (replication is asynchronous), so\n" \
    "vrcptd flushes it (a new epoch) before it reads or fills it.\n"	\
    "(\"none\" turns off Redis only; see cache_max_entries.)\n")	\
X(CACHE, cache_positive_ttl, TIME, "1h", 0, CONF_TIME_MAX,		\
    CONF_D | CONF_C | CONF_LIVE,					\
    "How long a \"found\" answer is kept.\n")				\
X(CACHE, cache_negative_ttl, TIME, "60s", 0, CONF_TIME_MAX,		\
    CONF_D | CONF_C | CONF_LIVE,					\
    "How long a \"not found\" answer is kept (the triggers in policy/ drop\n" \
    "it at once when a mailbox is created).\n")			\
X(CACHE, cache_stale_ttl, TIME, "1d", 0, CONF_TIME_MAX,		\
    CONF_D | CONF_C | CONF_LIVE,					\
    "How long past its TTL an answer is still used while PostgreSQL\n"	\
    "cannot answer (logged as stale). 0: never.\n")			\
X(CACHE, cache_max_entries, UINT, "10000000", 0, CONF_CACHE_ENTRIES_MAX, \
    CONF_D | CONF_LIVE,							\
    "Answers kept in the in-process cache: decisions (one per\n"	\
    "recipient) and table lookups, three to four per recipient. 0\n"	\
    "turns the in-process cache off.\n")					\
X(CACHE, cache_max_bytes, SIZE, "1g", 0, CONF_SIZE_MAX,		\
    CONF_D | CONF_LIVE,							\
    "Memory of the in-process cache: about 400 bytes per recipient\n"	\
    "(its decision and lookups; the process grows by about 1.2 times\n" \
    "what is in use; BENCHMARKS.md), so the default holds about 2.5\n"	\
    "million recipients: a site of a million mailboxes. It is a\n"	\
    "limit, not an allocation. Bytes, or with a unit: k, m, g\n"	\
    "(1024-based).\n"							\
    "Answers asked for twice are kept before those seen once, so a\n"	\
    "flood of unknown recipients cannot push out the known ones.\n")	\
X(CACHE, redis_password, STR, "", 0, 0, CONF_D | CONF_C | CONF_LIVE,	\
    "Redis AUTH password (with redis-sentinel:, the master's and its\n" \
    "replicas'); write $$ for a \"$\" in it.\n")			\
X(CACHE, redis_sentinel_password, STR, "", 0, 0,			\
    CONF_D | CONF_C | CONF_LIVE,					\
    "With cache = redis-sentinel:...: the AUTH password of the\n"	\
    "Sentinels themselves (their requirepass); empty: none.\n"		\
    "redis_password, redis_db and redis_timeout apply to the master\n"	\
    "they name.\n")							\
X(CACHE, redis_db, UINT, "0", 0, 65535, CONF_D | CONF_C | CONF_LIVE,	\
    "The Redis database number.\n")					\
X(CACHE, redis_timeout, TIME, "5ms", 1, CONF_TIME_MAX,			\
    CONF_D | CONF_LIVE,							\
    "How long one Redis read may take; after that it counts as a miss\n" \
    "and the database is asked. A Redis that stops answering for a\n"	\
    "second is dropped and reconnected in the background.\n")	\
									\
X(HARVEST, harvest_limit, UINT, "0", 0, CONF_HARVEST_LIMIT_MAX,	\
    CONF_D | CONF_LIVE,							\
    "Directory-harvest protection: a client network (see\n"		\
    "harvest_ipv4_prefix) with more than this many unknown-recipient\n" \
    "rejects (5xx User unknown) within one harvest_window is answered\n" \
    "harvest_reply for every recipient, valid ones too, for\n"	\
    "harvest_block_time. Counted in the shared Redis (cache = ...,\n"	\
    "required), so every MX host sees every other's rejects; one log\n" \
    "line per block for fail2ban. While Redis is away nothing is\n"	\
    "counted or newly blocked. 0: off.\n")				\
X(HARVEST, harvest_window, TIME, "60s", 1000, CONF_TIME_MAX,		\
    CONF_D | CONF_LIVE,							\
    "The counting window: fixed windows aligned to the clock (keep the\n" \
    "MX hosts' clocks in step, NTP).\n")				\
X(HARVEST, harvest_block_time, TIME, "10m", 1000, CONF_TIME_MAX,	\
    CONF_D | CONF_LIVE,							\
    "How long a network stays blocked.\n")				\
X(HARVEST, harvest_ipv4_prefix, UINT, "24", 0, 32, CONF_D | CONF_LIVE,	\
    "The network of an IPv4 client: its /24 by default.\n")		\
X(HARVEST, harvest_ipv6_prefix, UINT, "64", 0, 128, CONF_D | CONF_LIVE,	\
    "The network of an IPv6 client: its /64 by default.\n")		\
X(HARVEST, harvest_exempt_networks, STR, "127.0.0.0/8, [::1]/128", 0, 0,\
    CONF_D | CONF_LIVE,							\
    "Clients never counted nor blocked, as mynetworks: addresses and\n" \
    "networks (192.0.2.0/24, [2001:db8::]/32). SASL-authenticated\n"	\
    "clients (sasl_username) are never counted nor blocked either.\n") \
X(HARVEST, harvest_reply, STR,						\
    "450 4.7.1 Too many unknown recipients from your network, try again later",\
    0, 0, CONF_D | CONF_LIVE,						\
    "The answer to a blocked network: a 4xx reply, \"4NN 4.N.N text\"\n" \
    "(Postfix shows \"<r>: Recipient address rejected: text\").\n")

#endif
