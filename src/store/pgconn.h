#ifndef VRCPT_PGCONN_H
#define VRCPT_PGCONN_H
/*
 * pgconn - the one way vrcpt connects to PostgreSQL, for the daemon's
 * pool (db.c, non-blocking on libevent), the cache invalidation
 * listener (notify.c, a thread with poll()) and the tools (dbsync.c and
 * notify_send(), blocking): the "hosts =" of a pgsql: map with their
 * libpq keywords, the order to try them in and their retry state
 * (core/dbhosts: Postfix dict_pgsql.c; with db_read_target, the role
 * each host was last found in), and the connect itself, as
 * steps (pgconn_start/pgconn_poll) an event loop or a poll() loop
 * drives, or blocking with a timeout (pgconn_connect). pgconn.c is the
 * only file that calls libpq's connect functions.
 *
 * Also shared: naming prepared statements, copying a PGresult into the
 * value array sqlmap_result() takes, making libpq's messages safe to log.
 *
 * Host forms, as Postfix dict_pgsql.c host_init() reads them:
 *   "postgresql://..." (or "postgresql:...")  a libpq connection URI,
 *			used as is; user/password/dbname of the .cf are
 *			not added (Postfix ignores them for this form);
 *			TLS settings (sslmode, sslrootcert, ...) can be
 *			given here only, as with Postfix
 *   "unix:/dir", "/dir", "unix:", ""           a unix socket directory
 *			(empty: libpq's default); no port
 *   "inet:host:port", "host:port", "host", "inet:host"   TCP; the port
 *			is what follows the last ':'
 * Beyond Postfix: "unix:/dir/.s.PGSQL.5433" (the socket file) becomes
 * host=/dir port=5433; "[v6addr]:port" and a bare IPv6 address work; a
 * numeric address is passed as hostaddr (no DNS lookup).
 *
 * Only src/store includes this header (it pulls in libpq-fe.h). A
 * struct pgconn belongs to one thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "core/dbhosts.h"
#include "core/sqlmap.h"

#define PGCONN_KEYWORDS_MAX	12	/* keyword/value pairs we pass */
#define PGCONN_STMT_NAME_MAX	32	/* "vrcpt_4294967295" + NUL */
#define PGCONN_VALUES_MAX	(64 * 1024)	/* cells of one result */
#define PGCONN_RESULT_MAX	(4 * 1024 * 1024)	/* bytes kept of one
							 * result */
#define PGCONN_ERROR_MAX	400	/* a libpq message, made one line */
#define PGCONN_ENCODING		"UTF8"
#define PGCONN_SQLSTATE_NO_STMT	"26000"	/* invalid_sql_statement_name */
#define PGCONN_SQLSTATE_DUP_STMT "42P05"	/* duplicate_prepared_statement */
#define PGCONN_POOLER_HINT	"a connection pooler in transaction mode " \
	"between vrcpt and PostgreSQL? vrcpt prepares its queries and " \
	"LISTENs: it needs a session of its own (pgbouncer pool_mode = " \
	"session, or connect directly); vrcptctl check --live tells"

/* libpq keywords for one host; arrays end with NULL, as libpq wants */
struct pgconn_params {
	enum dbhosts_kind kind;
	const char *keywords[PGCONN_KEYWORDS_MAX + 1];
	const char *values[PGCONN_KEYWORDS_MAX + 1];
	int	 expand_dbname;	/* 1 for URIs only */
	char	*own[PGCONN_KEYWORDS_MAX];	/* strings we allocated */
	size_t	 nown;
};

/*
 * pgconn_params_init - keywords for host (one entry of conn->hosts, or
 * NULL for the default "localhost"), with client_encoding UTF8 and
 * application_name (may be NULL); no connect_timeout: our callers time
 * connects out themselves. p owns copies of everything. Returns 0, or
 * -1 and *error_r (static text) for an entry that cannot be used (bad
 * port). Free with pgconn_params_free() in both cases.
 */
int	pgconn_params_init(struct pgconn_params *p,
	    const struct sqlmap_conn *conn, const char *host,
	    const char *application_name, const char **error_r);
void	pgconn_params_free(struct pgconn_params *p);

/*
 * The hosts of one server identity.
 */
struct pgconn;

/*
 * pgconn_new - the hosts of conn (read during the call only; NULL: one
 * host that cannot be used), each with its libpq keywords
 * (application_name appname), untried. Never fails: an entry that
 * cannot be used (bad port) stays in the list, and every attempt on it
 * fails with the reason, as a dead host would.
 */
struct pgconn *pgconn_new(const struct sqlmap_conn *conn,
	    const char *appname);
void	pgconn_free(struct pgconn **pcp);

/* pgconn_nhosts - entries in the list, >= 1 (indexes 0..n-1) */
size_t	pgconn_nhosts(const struct pgconn *pc);

/*
 * pgconn_label - host i as messages name it: as written, a URI without
 * its password (pgconn_host_label). Valid as long as pc.
 */
const char *pgconn_label(const struct pgconn *pc, size_t i);

/*
 * pgconn_order - the hosts to try now, in order[]: Postfix's order
 * (dbhosts_order, with rand_fast() and the monotonic clock). Returns how
 * many of them to try: the hosts not in their retry_interval, or 1 when
 * every host is.
 */
size_t	pgconn_order(const struct pgconn *pc, size_t order[DBHOSTS_MAX]);

/* pgconn_skipped - host i failed less than retry_interval ago */
bool	pgconn_skipped(const struct pgconn *pc, size_t i);

/*
 * pgconn_failed - host i could not be used (why: one line, copied):
 * skip it for retry_interval (dbhosts_failed). Returns true when that is
 * news, for the caller to log.
 */
bool	pgconn_failed(struct pgconn *pc, size_t i, const char *why);

/* pgconn_up - connected to host i; true if it was down (news) */
bool	pgconn_up(struct pgconn *pc, size_t i);

/* pgconn_ndown - hosts whose last attempt failed */
size_t	pgconn_ndown(const struct pgconn *pc);

/*
 * pgconn_set_target - where reads go (db_read_target; before the first
 * connect, once): the order puts the hosts of the wanted role first
 * (core/dbhosts), and PRIMARY also gives every connect libpq's
 * target_session_attrs=primary, so that a standby refuses at connect
 * time: a failed connect, skipped for retry_interval (as the LISTEN
 * connection skips standbys), with libpq's reason in the log.
 */
void	pgconn_set_target(struct pgconn *pc, enum dbhosts_target t);
enum dbhosts_target pgconn_target(const struct pgconn *pc);

/* pgconn_set_role - host i was found to be a primary or a standby */
void	pgconn_set_role(struct pgconn *pc, size_t i, enum dbhosts_role r);

/*
 * pgconn_fits - a connection to host i may stay for the read target
 * (dbhosts_fits: prefer-standby leaves a primary while a standby, or a
 * host not known yet, is not being skipped)
 */
bool	pgconn_fits(const struct pgconn *pc, size_t i);

/*
 * pgconn_role - what the server of pg says it is: its in_hot_standby
 * parameter, which PostgreSQL 14 and later report at connect and again
 * after a promotion; UNKNOWN when the server does not report it.
 */
enum dbhosts_role pgconn_role(const PGconn *pg);

/*
 * Connecting, one step at a time: pgconn_start(), then pgconn_poll()
 * each time the socket is ready as asked, until OK or FAILED. The
 * caller keeps the time (libpq does not in this mode) and tells the
 * host list the outcome (pgconn_failed/pgconn_up).
 */
enum pgconn_step {
	PGCONN_STEP_READ,	/* wait until *fd_r is readable, then poll */
	PGCONN_STEP_WRITE,	/* wait until *fd_r is writable, then poll */
	PGCONN_STEP_OK,		/* connected (blocking mode, as libpq
				 * leaves it) */
	PGCONN_STEP_FAILED	/* *why_r says why */
};

/*
 * pgconn_start - start connecting to host i. Returns PGCONN_STEP_WRITE
 * (libpq: wait for writability first) with *pg_r (the caller's, to
 * PQfinish) and *fd_r; or PGCONN_STEP_FAILED with *why_r (fresh, one
 * line) and *pg_r NULL.
 */
enum pgconn_step pgconn_start(const struct pgconn *pc, size_t i,
	    PGconn **pg_r, int *fd_r, char **why_r);

/*
 * pgconn_poll - the next step of a connect under way (PQconnectPoll).
 * READ/WRITE: wait on *fd_r (libpq may change the socket between the
 * addresses it tries). OK: done. FAILED: *why_r (fresh, one line); pg is
 * still the caller's to PQfinish.
 */
enum pgconn_step pgconn_poll(PGconn *pg, int *fd_r, char **why_r);

enum pgconn_wait {
	PGCONN_WAIT_READY,	/* fd is ready (or in error: the next libpq
				 * call tells) */
	PGCONN_WAIT_TIMEOUT,	/* deadline_us passed */
	PGCONN_WAIT_STOP	/* stop_fd is readable */
};

/*
 * pgconn_wait - poll() for events (POLLIN, POLLOUT) on fd until the
 * monotonic deadline_us, or until stop_fd is readable; fd and stop_fd
 * may be -1 (not watched). EINTR is retried; another poll() error is
 * fatal (it means a bad descriptor: our bug).
 */
enum pgconn_wait pgconn_wait(int fd, short events, uint64_t deadline_us,
	    int stop_fd);

/*
 * pgconn_connect - connect to host i, blocking for at most timeout_ms
 * (pgconn_start/pgconn_poll under pgconn_wait). Returns 0 and *pg_r
 * (caller PQfinishes); -1 and *why_r (fresh, one line); or 1 when
 * stop_fd (-1: none) became readable first (nothing allocated). The
 * host list is not told: the caller decides what the outcome means.
 */
int	pgconn_connect(const struct pgconn *pc, size_t i, unsigned timeout_ms,
	    int stop_fd, PGconn **pg_r, char **why_r);

enum pgconn_result {
	PGCONN_RESULT_OK,	/* *res_r: the statement's result */
	PGCONN_RESULT_TIMEOUT,	/* no answer by the deadline */
	PGCONN_RESULT_BROKEN	/* the connection is unusable: *why_r */
};

/*
 * pgconn_result - after a PQsend*() of one statement: wait until the
 * monotonic deadline_us for its answer, blocking. OK: *res_r is the
 * first result (caller clears; the rest are read and dropped). BROKEN:
 * *why_r (fresh, one line: libpq's message). On TIMEOUT and BROKEN the
 * connection may hold a late answer: the caller drops it.
 */
enum pgconn_result pgconn_result(PGconn *pg, uint64_t deadline_us,
	    PGresult **res_r, char **why_r);

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
 * server's primary message, else libpq's), fresh, caller frees. A
 * prepared statement that does not exist, or exists already, gets
 * PGCONN_POOLER_HINT.
 */
char	*pgconn_result_error(const PGresult *res);

#endif
