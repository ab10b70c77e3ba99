#ifndef VRCPT_CONFIG_H
#define VRCPT_CONFIG_H
/*
 * config - vrcptd.cf: Postfix main.cf syntax and parameter names.
 *
 * Syntax (postconf(5)): "name = value"; "#" starts a comment line; a line
 * that starts with white space continues the previous one; "$name" and
 * "${name}" expand to another parameter's value (recursively, with a
 * depth limit), including defaults; the last assignment of a name wins.
 * Lists are separated by commas and/or white space; "{ ... }" groups
 * (inline:{...}) are kept whole. An unknown parameter is a warning, as in
 * Postfix; every error names "file:line".
 *
 * The result is immutable and shared by the workers by reference
 * (config_ref/config_unref), so that a reload can swap it while requests
 * that started on the old one finish on it.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/engine.h"
#include "core/map.h"
#include "core/sqlmap.h"

#define CONFIG_FILE_MAX		(1024 * 1024)	/* bytes of vrcptd.cf */
#define CONFIG_LISTEN_MAX	16		/* listen endpoints */
#define CONFIG_EXPAND_DEPTH	20		/* $name nesting */
#define CONFIG_DEFAULT_PATH	"/etc/vrcpt/vrcptd.cf"

/* a server identity shared by pgsql maps: one db pool per worker each */
struct dbconf {
	const struct sqlmap_conn *conn;	/* of the first map */
	const struct sqlmap **maps;	/* maps using this server */
	size_t	 nmaps;
};

struct config {
	char	*path;
	atomic_int refs;

	/* the decision */
	struct engine_cfg engine;
	struct map **maps;		/* every map, owned; map->id = index */
	size_t	 nmaps;
	struct dbconf *dbconfs;		/* distinct servers */
	size_t	 ndbconfs;

	/* the daemon */
	char	*listen[CONFIG_LISTEN_MAX];	/* "unix:/p", "inet:h:p" */
	size_t	 nlisten;
	unsigned listen_mode;		/* unix socket mode, default 0666 */
	unsigned long long request_timeout_ms;	/* default 1s */
	unsigned connection_limit;	/* client connections, all workers;
					 * default 1000 */
	unsigned long long idle_timeout_ms;	/* no request: close; 600s */
	unsigned long long io_timeout_ms;	/* a request arriving or a
						 * reply being read; 10s */
	unsigned db_pool_size;		/* connections per server, all
					 * workers together; default 4 */
	unsigned workers;		/* event loops; 0 = one per core */
	char	*syslog_name;		/* "vrcptd" */
	char	*syslog_facility;	/* "mail" */
	char	*maillog_file;		/* "" = syslog */
	unsigned log_level;		/* 0: rejects only, 1: + accepts */
	char	*user;			/* drop to this user when root; "" */
	char	*metrics_listen;	/* "" = off */

	/* storage behind the engine's borrowed strings */
	char	*recipient_delimiter;	/* "" (engine.addr points here) */
	char	*double_bounce_sender;	/* "double-bounce" (likewise) */
	char	*other_domain_action;	/* normalised (engine points here) */

	/* milter frontend and caching: parsed and checked */
	char	*milter_listen;		/* "" = off */
	char	*milter_policy_service;	/* "" = listen[0] */
	bool	 milter_log_reject;	/* no */
	char	*cache;			/* "none", or "redis:..." as written */
	unsigned long long cache_positive_ttl_ms;	/* 1h */
	unsigned long long cache_negative_ttl_ms;	/* 60s */
	unsigned long long cache_stale_ttl_ms;		/* 1d */
	char	*redis_password;	/* "" */
	unsigned redis_db;		/* 0 */
	unsigned cache_max_entries;	/* in-process tier; 0 = off */
	unsigned cache_max_bytes;	/* in-process tier, bytes */
	unsigned long long redis_timeout_ms;	/* budget of one Redis read,
						 * default 5ms */
};

/* warnings and errors, one "file:line: text" string each */
struct config_msgs {
	char	**v;
	size_t	 n;
};

/*
 * config_load - read and check path. Returns 0 and *cfg_r (refs = 1), or
 * -1; in both cases warnings and errors are appended to *msgs (caller
 * frees with config_msgs_free). Reads the pgsql .cf files it names.
 */
int	config_load(const char *path, struct config **cfg_r,
	    struct config_msgs *msgs);
void	config_msgs_free(struct config_msgs *msgs);
/* config_ref/unref - shared ownership; the last unref frees */
struct config *config_ref(struct config *cfg);
void	config_unref(struct config **cfgp);

/*
 * config_load_text - config_load() from text already in memory (path is
 * used for messages and to resolve nothing else), for tests and for
 * vrcptd -t. pgsql .cf files named in it are still read from disk.
 */
int	config_load_text(const char *path, const char *text, size_t len,
	    struct config **cfg_r, struct config_msgs *msgs);

#endif
