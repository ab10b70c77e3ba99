#ifndef VRCPT_CONF_H
#define VRCPT_CONF_H
/*
 * conf - vrcptd.cf: Postfix main.cf syntax and parameter names, read into
 * a typed, immutable struct conf that every program shares by reference.
 *
 * Syntax (postconf(5)): "name = value"; "#" starts a comment line; a line
 * that starts with white space continues the previous one; "$name",
 * "${name}", "$(name)", "${name?value}", "${name:value}",
 * "${name?{v1}:{v2}}" and "$$" expand as Postfix mac_expand() does
 * (recursively, with a depth limit), defaults included; the last
 * assignment of a name wins. Lists are separated by commas and/or white
 * space; "{ ... }" groups are kept whole. An unknown parameter is a
 * warning, as in Postfix; every problem names "file:line" (or "-o name"),
 * and never quotes a line of a .cf file, which may hold a password.
 *
 * The parameters are conf/params.h, once. A program loads only those it
 * reads (CONF_D, CONF_M, CONF_C): vrcpt-milter never opens a table or
 * reads a database password. The tables of the *_maps and *_domains
 * parameters are built with CONF_TABLES (conf/tables.h).
 *
 * Overrides "name=value" (-o, as postfix -o) are a layer above the file.
 * Each value remembers where it came from (vrcptctl check shows it).
 *
 * Depends on: util/, core/ (engine, map, sqlmap types), conf/endpoint.
 * Reads files (the configuration and the pgsql .cf files it names).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/endpoint.h"
#include "conf/params.h"
#include "core/dbhosts.h"
#include "core/engine.h"
#include "core/map.h"
#include "core/sqlmap.h"

#define CONF_FILE_MAX		(1024 * 1024)	/* bytes of vrcptd.cf */
#define CONF_EXPAND_DEPTH	20		/* $name nesting */
#define CONF_OVERRIDES_MAX	32		/* -o name=value */
#ifndef VRCPT_SYSCONFDIR
#define VRCPT_SYSCONFDIR	"/etc"
#endif
#define CONF_DEFAULT_PATH	VRCPT_SYSCONFDIR "/vrcpt/vrcptd.cf"

/* what conf_load() builds beyond the parameter values */
#define CONF_TABLES		0x100	/* the tables and the engine's
					 * configuration (vrcptd, vrcptctl) */

enum conf_type {
	CONF_T_BOOL,		/* yes / no */
	CONF_T_UINT,		/* decimal, min..max */
	CONF_T_TIME,		/* Postfix time units; milliseconds */
	CONF_T_SIZE,		/* bytes, or k/m/g (1024-based) */
	CONF_T_STR,		/* any text */
	CONF_T_NONEMPTY,	/* text, not empty */
	CONF_T_PATH,		/* "" or an absolute path */
	CONF_T_ENDPOINT,	/* "" or one endpoint */
	CONF_T_ENDPOINTS,	/* a list of endpoints (inet:port allowed) */
	CONF_T_MENDPOINT,	/* "" or an endpoint, libmilter forms too */
	CONF_T_UENDPOINT,	/* "" or unix:/path */
	CONF_T_MODE,		/* an octal file mode */
	CONF_T_CODE,		/* an SMTP reply code 4xx/5xx */
	CONF_T_FACILITY,	/* a syslog facility name */
	CONF_T_LFA,		/* defer / dunno */
	CONF_T_TARGET,		/* any / prefer-standby / primary */
	CONF_T_ODA,		/* other_domain_action: restriction names,
				 * dunno, or "4xx/5xx text" (normalised) */
	CONF_T_CACHE,		/* none / redis:ENDPOINT /
				 * redis-sentinel:GROUP */
	CONF_T_MAPS,		/* a list of tables */
	CONF_T_DOMAINS		/* a list of tables and domain names */
};

struct endpoint_list {
	struct endpoint v[CONF_LISTEN_MAX];
	size_t	 n;
};

enum conf_cache_kind {
	CONF_CACHE_NONE,
	CONF_CACHE_REDIS,	/* redis:ENDPOINT */
	CONF_CACHE_SENTINEL	/* redis-sentinel:HOST:PORT,.../MASTERNAME */
};

/* the "cache" parameter: where the shared tier is */
struct conf_cache {
	enum conf_cache_kind kind;
	struct endpoint redis;			/* CONF_CACHE_REDIS */
	struct endpoint_sentinels sentinels;	/* CONF_CACHE_SENTINEL */
};

/* conf_cache_text()'s longest: "redis-sentinel:" and a group */
#define CONF_CACHE_TEXT_MAX	(ENDPOINT_SENTINELS_TEXT_MAX + 16)

/* the C type of each parameter type */
#define CONF_CTYPE_BOOL		bool
#define CONF_CTYPE_UINT		unsigned
#define CONF_CTYPE_TIME		uint64_t
#define CONF_CTYPE_SIZE		uint64_t
#define CONF_CTYPE_STR		char *
#define CONF_CTYPE_NONEMPTY	char *
#define CONF_CTYPE_PATH		char *
#define CONF_CTYPE_ENDPOINT	struct endpoint
#define CONF_CTYPE_ENDPOINTS	struct endpoint_list
#define CONF_CTYPE_MENDPOINT	struct endpoint
#define CONF_CTYPE_UENDPOINT	struct endpoint
#define CONF_CTYPE_MODE		unsigned
#define CONF_CTYPE_CODE		unsigned
#define CONF_CTYPE_FACILITY	char *
#define CONF_CTYPE_LFA		enum lookup_failure_action
#define CONF_CTYPE_TARGET	enum dbhosts_target
#define CONF_CTYPE_ODA		char *
#define CONF_CTYPE_CACHE	struct conf_cache
#define CONF_CTYPE_MAPS		char *		/* the expanded list */
#define CONF_CTYPE_DOMAINS	char *

/* the index of each parameter in conf_params[] */
enum conf_param_id {
#define CONF_X_ID(sec, name, type, def, min, max, flags, help) \
	CONF_P_##name,
	CONF_PARAMS(CONF_X_ID)
#undef CONF_X_ID
	CONF_NPARAMS
};

/* one parameter of the table (params.c); see params.h for the fields */
struct conf_param {
	const char *name;
	enum conf_type type;
	enum conf_section section;
	const char *def;
	unsigned long long min, max;
	unsigned flags;
	const char *help;
	size_t	 offset;		/* of its field in struct conf */
};

extern const struct conf_param conf_params[CONF_NPARAMS];
/* CONF_NAME - a parameter's name, for messages (written once: params.h) */
#define CONF_NAME(id)	(conf_params[CONF_P_##id].name)
/* the section headings of the reference, in order */
extern const char *const conf_section_titles[CONF_NSECTIONS];

/* where a value came from */
enum conf_src {
	CONF_SRC_DEFAULT,
	CONF_SRC_FILE,		/* the configuration file, at line */
	CONF_SRC_OVERRIDE	/* -o name=value */
};

struct conf_origin {
	enum conf_src src;
	unsigned line;		/* CONF_SRC_FILE */
};

/* a server identity shared by pgsql maps: one db pool per worker each */
struct dbconf {
	const struct sqlmap_conn *conn;	/* of the first map */
	const struct sqlmap **maps;	/* maps using this server */
	size_t	 nmaps;
};

struct conf {
	char	*path;
	atomic_int refs;
	unsigned what;			/* CONF_D/M/C | CONF_TABLES loaded */

	/* every parameter, typed (only those of "what" are set) */
#define CONF_X_FIELD(sec, name, type, def, min, max, flags, help) \
	CONF_CTYPE_##type name;
	CONF_PARAMS(CONF_X_FIELD)
#undef CONF_X_FIELD
	struct conf_origin origin[CONF_NPARAMS];
	char	*raw[CONF_NPARAMS];	/* each value as expanded text */

	/* CONF_TABLES: the engine's configuration and what it borrows */
	struct engine_cfg engine;
	struct map **maps;		/* every table, owned; map->id is
					 * its index */
	size_t	 nmaps;
	struct dbconf *dbconfs;		/* distinct database servers */
	size_t	 ndbconfs;
};

/* warnings and errors, one "file:line: text" string each */
struct conf_msgs {
	char	**v;
	size_t	 n;
};

/*
 * conf_load - read path for the programs and parts in what (CONF_D,
 * CONF_M, CONF_C, CONF_TABLES), with overrides ov[0..nov-1]
 * ("name=value"). Returns 0 and *cfg_r (refs = 1), or -1; in both cases
 * warnings and errors are appended to *msgs (caller frees with
 * conf_msgs_free).
 */
int	conf_load(const char *path, unsigned what, const char *const *ov,
	    size_t nov, struct conf **cfg_r, struct conf_msgs *msgs);
/*
 * conf_load_text - the same from text already in memory (path names it
 * in messages and anchors relative .cf paths), for tests and fuzzing.
 */
int	conf_load_text(const char *path, const char *text, size_t len,
	    unsigned what, const char *const *ov, size_t nov,
	    struct conf **cfg_r, struct conf_msgs *msgs);
void	conf_msgs_free(struct conf_msgs *msgs);
/* conf_ref/unref - shared ownership; the last unref frees */
struct conf *conf_ref(struct conf *cfg);
void	conf_unref(struct conf **cfgp);

/* conf_param_find - a parameter by name, or NULL */
const struct conf_param *conf_param_find(const char *name, size_t len);
/* conf_override_valid - "name=value": [a-z0-9_] name, no CR/LF */
bool	conf_override_valid(const char *o);

/*
 * conf_format - the value of parameter id as the configuration would
 * write it (canonical: times in ms, endpoints normalised). Caller frees.
 */
char	*conf_format(const struct conf *cfg, enum conf_param_id id);
/* conf_origin_text - "default", "FILE:LINE" or "-o"; caller frees */
char	*conf_origin_text(const struct conf *cfg, enum conf_param_id id);

/* conf_changed - the parameters of what whose values differ (restart
 * needed unless CONF_LIVE); writes ids, returns how many */
size_t	conf_changed(const struct conf *a, const struct conf *b,
	    unsigned what, enum conf_param_id ids[CONF_NPARAMS]);

/*
 * conf_cache_text - "none", "redis:ENDPOINT" or "redis-sentinel:GROUP"
 * (canonical); size CONF_CACHE_TEXT_MAX + 1 holds any
 */
const char *conf_cache_text(const struct conf *cfg, char *buf, size_t size);

#endif
