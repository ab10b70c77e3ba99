#ifndef VRCPT_PGCONN_H
#define VRCPT_PGCONN_H
/*
 * pgconn - what db.c (non-blocking) and dbsync.c (blocking) share about
 * talking to PostgreSQL: turning one "hosts =" entry of a pgsql: map
 * into libpq connection keywords, naming prepared statements, copying a
 * PGresult into the value array sqlmap_result() takes, and making libpq's
 * messages safe to log.
 *
 * Host forms, as Postfix dict_pgsql.c host_init() reads them:
 *   "postgresql://..." (or "postgresql:...")  a libpq connection URI,
 *			used as is; user/password/dbname of the .cf are
 *			not added (Postfix ignores them for this form)
 *   "unix:/dir", "/dir", "unix:", ""           a unix socket directory
 *			(empty: libpq's default); no port
 *   "inet:host:port", "host:port", "host", "inet:host"   TCP; the port
 *			is what follows the last ':'
 * Beyond Postfix: "unix:/dir/.s.PGSQL.5433" (the socket file) becomes
 * host=/dir port=5433; "[v6addr]:port" and a bare IPv6 address work; a
 * numeric address is passed as hostaddr (no DNS lookup).
 *
 * Only db.c, dbsync.c and pgconn.c include this header (it pulls in
 * libpq-fe.h).
 */
#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "core/sqlmap.h"

#define PGCONN_KEYWORDS_MAX	12	/* keyword/value pairs we pass */
#define PGCONN_STMT_NAME_MAX	32	/* "vrcpt_4294967295" + NUL */
#define PGCONN_VALUES_MAX	(64 * 1024)	/* cells of one result */
#define PGCONN_RESULT_MAX	(4 * 1024 * 1024)	/* bytes kept of one
							 * result */
#define PGCONN_ERROR_MAX	400	/* a libpq message, made one line */
#define PGCONN_ENCODING		"UTF8"

/* how a host is reached; Postfix prefers them in this order */
enum pgconn_kind {
	PGCONN_UNIX,
	PGCONN_INET,
	PGCONN_URI
};

/* libpq keywords for one host; arrays end with NULL, as libpq wants */
struct pgconn_params {
	enum pgconn_kind kind;
	const char *keywords[PGCONN_KEYWORDS_MAX + 1];
	const char *values[PGCONN_KEYWORDS_MAX + 1];
	int	 expand_dbname;	/* 1 for URIs only */
	char	*own[PGCONN_KEYWORDS_MAX];	/* strings we allocated */
	size_t	 nown;
};

/*
 * pgconn_params_init - keywords for host (one entry of conn->hosts, or
 * NULL for the default "localhost"), with client_encoding UTF8,
 * application_name (may be NULL) and, when connect_timeout_s > 0,
 * connect_timeout (libpq honours it in blocking calls only). p owns
 * copies of everything. Returns 0, or -1 and *error_r (static text) for
 * an entry that cannot be used (bad port). Free with
 * pgconn_params_free() in both cases.
 */
int	pgconn_params_init(struct pgconn_params *p,
	    const struct sqlmap_conn *conn, const char *host,
	    const char *application_name, unsigned connect_timeout_s,
	    const char **error_r);
void	pgconn_params_free(struct pgconn_params *p);

/*
 * pgconn_host_label - how a hosts entry is named in messages: as
 * written (Postfix logs it so), except that a URI loses its password
 * and its "?..." options. Fresh, sanitised, caller frees.
 */
char	*pgconn_host_label(const char *host);

/* pgconn_stmt_name - "vrcpt_<id>", the prepared statement of a map */
const char *pgconn_stmt_name(const struct sqlmap *sm,
	    char buf[PGCONN_STMT_NAME_MAX]);

/*
 * pgconn_values - copy every cell of a successful result, row-major,
 * into one allocation: *vals_r is an array of *nvals_r pointers (NULL
 * for SQL NULL) followed by the strings; free(*vals_r) frees it all
 * (it is NULL when there are no cells). Returns 0; or -1 and *error_r
 * (fresh one-line text, caller frees) when res is not PGRES_TUPLES_OK
 * or PGRES_COMMAND_OK, or holds more than PGCONN_VALUES_MAX cells or
 * PGCONN_RESULT_MAX bytes.
 */
int	pgconn_values(const PGresult *res, char ***vals_r, size_t *nvals_r,
	    char **error_r);

/*
 * pgconn_oneline - a libpq or server message made safe for one log line:
 * white space runs (libpq puts "\n\t" in its messages) become one space,
 * leading/trailing space and a trailing newline go, control bytes and
 * invalid UTF-8 become '?', at most PGCONN_ERROR_MAX bytes. Fresh
 * string, caller frees; NULL or empty msg gives "unknown error".
 */
char	*pgconn_oneline(const char *msg);

/*
 * pgconn_result_error - the one-line reason of a failed result (the
 * server's primary message, else libpq's), fresh, caller frees.
 */
char	*pgconn_result_error(const PGresult *res);

#endif
