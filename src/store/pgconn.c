/*
 * pgconn - connecting to PostgreSQL, for everyone: the host list of a
 * pgsql: map (libpq keywords, Postfix's order and retry state through
 * core/dbhosts), the non-blocking connect steps, a blocking connect
 * built on them; and the libpq helpers db.c, dbsync.c and notify.c
 * share, so that all reach the same server the same way and turn
 * results into the same values.
 *
 * Depends on: libpq, util/, core/dbhosts, core/sqlmap.h (types). The
 * only I/O is connecting (pgconn_start/poll/connect) and waiting
 * (pgconn_wait); this is the one file that calls libpq's connect
 * functions.
 *
 * Security: the connection keywords are passed as separate values with
 * expand_dbname off, so a database or user name from a .cf file cannot
 * smuggle in other connection options; only a "postgresql:" URI (which
 * the admin wrote as such) is expanded. Server and libpq messages are
 * untrusted text on their way to the log: pgconn_oneline() makes them
 * one sanitised line; host labels never show a URI's password. Result
 * copies are bounded (PGCONN_VALUES_MAX, PGCONN_RESULT_MAX).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pgconn.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define PGCONN_DEFAULT_HOST	"localhost"	/* Postfix dict_pgsql.c */
#define PGCONN_URI_PREFIX	"postgresql:"
#define PGCONN_SOCKET_PREFIX	".s.PGSQL."	/* libpq's socket name */
#define PGCONN_PORT_MAX		65535
#define PGCONN_UNKNOWN_ERROR	"unknown error"
#define PGCONN_NO_DATABASE	"no database configured"
#define PGCONN_ATTRS_PRIMARY	"primary"	/* target_session_attrs */
#define PGCONN_STANDBY_PARAM	"in_hot_standby"	/* PostgreSQL 14+ */

struct pgconn_host {
	char	*label;		/* for messages */
	struct pgconn_params params;
	const char *bad;	/* unusable entry: why (static) */
};

struct pgconn {
	struct pgconn_host hosts[DBHOSTS_MAX];
	struct dbhosts state;	/* order and retry, same indexes */
};

/* pgconn_add - append keyword = a copy of value (NULL/empty: nothing) */
static void
pgconn_add(struct pgconn_params *p, const char *keyword, const char *value,
    size_t len)
{
	size_t	 i;
	char	*copy;

	if (value == NULL || len == 0)
		return;
	for (i = 0; p->keywords[i] != NULL; i++)
		continue;
	if (i >= PGCONN_KEYWORDS_MAX || p->nown >= PGCONN_KEYWORDS_MAX)
		msg_panic("pgconn_add: too many keywords");
	copy = xstrndup(value, len);
	p->own[p->nown++] = copy;
	p->keywords[i] = keyword;
	p->values[i] = copy;
	p->keywords[i + 1] = NULL;
	p->values[i + 1] = NULL;
}

static void
pgconn_add_str(struct pgconn_params *p, const char *keyword,
    const char *value)
{
	if (value != NULL)
		pgconn_add(p, keyword, value, strlen(value));
}

/* pgconn_port_ok - decimal 1..65535, nothing else */
static bool
pgconn_port_ok(const char *s, size_t len)
{
	unsigned long v = 0;
	size_t	 i;

	if (len == 0 || len > 5)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= PGCONN_PORT_MAX;
}

/* pgconn_numeric - a literal IPv4 or IPv6 address */
static bool
pgconn_numeric(const char *s, size_t len)
{
	char	 tmp[INET6_ADDRSTRLEN + 1];
	struct in6_addr a6;

	if (len == 0 || len >= sizeof(tmp))
		return false;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	return inet_pton(AF_INET, tmp, &a6) == 1 ||
	    inet_pton(AF_INET6, tmp, &a6) == 1;
}

/*
 * pgconn_unix - "/dir" is the socket directory; "/dir/.s.PGSQL.N" names
 * the socket itself, which libpq would take for a directory.
 */
static int
pgconn_unix(struct pgconn_params *p, const char *path, const char **error_r)
{
	const char *slash, *base, *port;

	if (*path == '\0')
		return 0;	/* libpq's default socket directory */
	slash = strrchr(path, '/');
	base = slash + 1;
	if (strncmp(base, PGCONN_SOCKET_PREFIX,
	    strlen(PGCONN_SOCKET_PREFIX)) == 0) {
		port = base + strlen(PGCONN_SOCKET_PREFIX);
		if (!pgconn_port_ok(port, strlen(port))) {
			*error_r = "bad port number in socket name";
			return -1;
		}
		pgconn_add(p, "host", path,
		    slash == path ? 1 : (size_t)(slash - path));
		pgconn_add_str(p, "port", port);
		return 0;
	}
	pgconn_add_str(p, "host", path);
	return 0;
}

/* pgconn_inet - "host", "host:port", "[addr]:port", bare IPv6 */
static int
pgconn_inet(struct pgconn_params *p, const char *d, const char **error_r)
{
	const char *name = d, *colon, *port = NULL;
	size_t	 namelen, portlen = 0;

	if (*d == '[') {
		colon = strchr(d, ']');
		if (colon == NULL || (colon[1] != '\0' && colon[1] != ':')) {
			*error_r = "bad [address]:port syntax";
			return -1;
		}
		name = d + 1;
		namelen = (size_t)(colon - name);
		if (colon[1] == ':') {
			port = colon + 2;
			portlen = strlen(port);
		}
	} else if (pgconn_numeric(d, strlen(d))) {
		/* a bare IPv6 address: its colons are no port */
		namelen = strlen(d);
	} else if ((colon = strrchr(d, ':')) != NULL) {
		/* Postfix split_at_right(): the port follows the last ':' */
		namelen = (size_t)(colon - d);
		port = colon + 1;
		portlen = strlen(port);
	} else {
		namelen = strlen(d);
	}
	if (portlen > 0 && !pgconn_port_ok(port, portlen)) {
		*error_r = "bad port number";
		return -1;
	}
	pgconn_add(p, pgconn_numeric(name, namelen) ? "hostaddr" : "host",
	    name, namelen);
	pgconn_add(p, "port", port, portlen);
	return 0;
}

int
pgconn_params_init(struct pgconn_params *p, const struct sqlmap_conn *conn,
    const char *host, const char *application_name, const char **error_r)
{
	const char *d;
	int	 rc = 0;

	memset(p, 0, sizeof(*p));
	p->kind = dbhosts_kind(host);
	if (host == NULL)
		host = PGCONN_DEFAULT_HOST;

	/*
	 * Earlier keywords lose to later ones, and an expanded URI sits at
	 * the place of its dbname: the admin's URI may override our
	 * application_name, nothing overrides the encoding.
	 */
	pgconn_add_str(p, "application_name", application_name);

	d = host;
	if (strncmp(d, "unix:", 5) == 0 || strncmp(d, "inet:", 5) == 0)
		d += 5;
	switch (p->kind) {
	case DBHOSTS_URI:
		p->expand_dbname = 1;
		pgconn_add_str(p, "dbname", host);
		pgconn_add_str(p, "client_encoding", PGCONN_ENCODING);
		return 0;
	case DBHOSTS_UNIX:
		rc = pgconn_unix(p, d, error_r);
		break;
	case DBHOSTS_INET:
		rc = pgconn_inet(p, d, error_r);
		break;
	}
	if (rc < 0)
		return -1;
	pgconn_add_str(p, "dbname", conn->dbname);
	pgconn_add_str(p, "user", conn->user);
	pgconn_add_str(p, "password", conn->password);
	pgconn_add_str(p, "client_encoding", PGCONN_ENCODING);
	return 0;
}

void
pgconn_params_free(struct pgconn_params *p)
{
	size_t	 i;

	for (i = 0; i < p->nown; i++)
		free(p->own[i]);
	memset(p, 0, sizeof(*p));
}

/*
 * The host list.
 */

struct pgconn *
pgconn_new(const struct sqlmap_conn *conn, const char *appname)
{
	struct pgconn *pc = xcalloc(1, sizeof(*pc));
	struct pgconn_host *h;
	const char *spec, *error;
	size_t	 i;

	dbhosts_init(&pc->state, conn);
	for (i = 0; i < pc->state.n; i++) {
		h = &pc->hosts[i];
		spec = conn != NULL && conn->nhosts > 0 ? conn->hosts[i] : NULL;
		h->label = pgconn_host_label(spec);
		if (conn == NULL)
			h->bad = PGCONN_NO_DATABASE;
		else if (pgconn_params_init(&h->params, conn, spec, appname,
		    &error) < 0)
			h->bad = error;
	}
	return pc;
}

void
pgconn_free(struct pgconn **pcp)
{
	struct pgconn *pc = *pcp;
	size_t	 i;

	if (pc == NULL)
		return;
	*pcp = NULL;
	for (i = 0; i < pc->state.n; i++) {
		pgconn_params_free(&pc->hosts[i].params);
		free(pc->hosts[i].label);
	}
	dbhosts_clear(&pc->state);
	free(pc);
}

size_t
pgconn_nhosts(const struct pgconn *pc)
{
	return pc->state.n;
}

const char *
pgconn_label(const struct pgconn *pc, size_t i)
{
	return pc->hosts[i].label;
}

/* pgconn_rand - the random numbers of the order: load spreading only */
static uint64_t
pgconn_rand(void *arg)
{
	return rand_fast();
}

size_t
pgconn_order(const struct pgconn *pc, size_t order[DBHOSTS_MAX])
{
	return dbhosts_order(&pc->state, clock_mono_us(), pgconn_rand, NULL,
	    order);
}

bool
pgconn_skipped(const struct pgconn *pc, size_t i)
{
	return dbhosts_skipped(&pc->state, i, clock_mono_us());
}

bool
pgconn_failed(struct pgconn *pc, size_t i, const char *why)
{
	return dbhosts_failed(&pc->state, i, why, clock_mono_us());
}

bool
pgconn_up(struct pgconn *pc, size_t i)
{
	return dbhosts_up(&pc->state, i);
}

size_t
pgconn_ndown(const struct pgconn *pc)
{
	return dbhosts_ndown(&pc->state);
}

void
pgconn_set_target(struct pgconn *pc, enum dbhosts_target t)
{
	size_t	 i;

	pc->state.target = t;
	if (t != DBHOSTS_TARGET_PRIMARY)
		return;
	/* later keywords win: a URI's own target_session_attrs too */
	for (i = 0; i < pc->state.n; i++) {
		if (pc->hosts[i].bad == NULL)
			pgconn_add_str(&pc->hosts[i].params,
			    "target_session_attrs", PGCONN_ATTRS_PRIMARY);
	}
}

enum dbhosts_target
pgconn_target(const struct pgconn *pc)
{
	return pc->state.target;
}

void
pgconn_set_role(struct pgconn *pc, size_t i, enum dbhosts_role r)
{
	dbhosts_set_role(&pc->state, i, r);
}

bool
pgconn_fits(const struct pgconn *pc, size_t i)
{
	return dbhosts_fits(&pc->state, i, clock_mono_us());
}

enum dbhosts_role
pgconn_role(const PGconn *pg)
{
	const char *v = PQparameterStatus(pg, PGCONN_STANDBY_PARAM);

	if (v == NULL)
		return DBHOSTS_ROLE_UNKNOWN;
	return strcmp(v, "on") == 0 ? DBHOSTS_ROLE_STANDBY :
	    DBHOSTS_ROLE_PRIMARY;
}

/*
 * Connecting.
 */

enum pgconn_step
pgconn_start(const struct pgconn *pc, size_t i, PGconn **pg_r, int *fd_r,
    char **why_r)
{
	const struct pgconn_host *h = &pc->hosts[i];
	PGconn	*pg;

	*pg_r = NULL;
	*fd_r = -1;
	*why_r = NULL;
	if (h->bad != NULL) {
		*why_r = xstrdup(h->bad);
		return PGCONN_STEP_FAILED;
	}
	pg = PQconnectStartParams(h->params.keywords, h->params.values,
	    h->params.expand_dbname);
	if (pg == NULL) {
		*why_r = xstrdup("out of memory");
		return PGCONN_STEP_FAILED;
	}
	if (PQstatus(pg) == CONNECTION_BAD || PQsocket(pg) < 0) {
		*why_r = pgconn_oneline(PQerrorMessage(pg));
		PQfinish(pg);
		return PGCONN_STEP_FAILED;
	}
	*pg_r = pg;
	*fd_r = PQsocket(pg);
	/* libpq: before the first PQconnectPoll(), wait for writability */
	return PGCONN_STEP_WRITE;
}

enum pgconn_step
pgconn_poll(PGconn *pg, int *fd_r, char **why_r)
{
	enum pgconn_step st;

	*why_r = NULL;
	switch (PQconnectPoll(pg)) {
	case PGRES_POLLING_READING:
		st = PGCONN_STEP_READ;
		break;
	case PGRES_POLLING_WRITING:
		st = PGCONN_STEP_WRITE;
		break;
	case PGRES_POLLING_OK:
		*fd_r = PQsocket(pg);
		return PGCONN_STEP_OK;
	case PGRES_POLLING_FAILED:
	default:
		*why_r = pgconn_oneline(PQerrorMessage(pg));
		return PGCONN_STEP_FAILED;
	}
	if ((*fd_r = PQsocket(pg)) < 0) {
		*why_r = pgconn_oneline(PQerrorMessage(pg));
		return PGCONN_STEP_FAILED;
	}
	return st;
}

enum pgconn_wait
pgconn_wait(int fd, short events, uint64_t deadline_us, int stop_fd)
{
	struct pollfd p[2];
	uint64_t now;
	nfds_t	 n;
	int	 ms, rc;

	for (;;) {
		now = clock_mono_us();
		if (now >= deadline_us)
			return PGCONN_WAIT_TIMEOUT;
		ms = (int)((deadline_us - now + CLOCK_US_PER_MS - 1) /
		    CLOCK_US_PER_MS);
		n = 0;
		if (stop_fd >= 0) {
			p[n].fd = stop_fd;
			p[n].events = POLLIN;
			p[n++].revents = 0;
		}
		if (fd >= 0) {
			p[n].fd = fd;
			p[n].events = events;
			p[n++].revents = 0;
		}
		rc = poll(p, n, ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			msg_fatal("poll: %s", strerror(errno));
		if (stop_fd >= 0 && p[0].revents != 0)
			return PGCONN_WAIT_STOP;
		if (rc > 0)
			return PGCONN_WAIT_READY;
	}
}

enum pgconn_result
pgconn_result(PGconn *pg, uint64_t deadline_us, PGresult **res_r,
    char **why_r)
{
	PGresult *res;

	*res_r = NULL;
	*why_r = NULL;
	while (PQisBusy(pg)) {
		if (PQsocket(pg) < 0)
			goto broken;
		switch (pgconn_wait(PQsocket(pg), POLLIN, deadline_us, -1)) {
		case PGCONN_WAIT_TIMEOUT:
			return PGCONN_RESULT_TIMEOUT;
		case PGCONN_WAIT_STOP:
		case PGCONN_WAIT_READY:
			break;
		}
		if (PQconsumeInput(pg) == 0)
			goto broken;
	}
	/* one statement: one result, then NULL; keep the first */
	while ((res = PQgetResult(pg)) != NULL) {
		if (*res_r == NULL)
			*res_r = res;
		else
			PQclear(res);
	}
	if (PQstatus(pg) == CONNECTION_BAD || *res_r == NULL) {
		if (*res_r != NULL)
			PQclear(*res_r);
		*res_r = NULL;
		goto broken;
	}
	return PGCONN_RESULT_OK;

broken:
	*why_r = pgconn_oneline(PQerrorMessage(pg));
	return PGCONN_RESULT_BROKEN;
}

int
pgconn_connect(const struct pgconn *pc, size_t i, unsigned timeout_ms,
    int stop_fd, PGconn **pg_r, char **why_r)
{
	uint64_t deadline_us;
	enum pgconn_step st;
	enum pgconn_wait w;
	PGconn	*pg;
	int	 fd;

	*pg_r = NULL;
	deadline_us = clock_mono_us() + (uint64_t)timeout_ms * CLOCK_US_PER_MS;
	st = pgconn_start(pc, i, &pg, &fd, why_r);
	while (st == PGCONN_STEP_READ || st == PGCONN_STEP_WRITE) {
		w = pgconn_wait(fd, st == PGCONN_STEP_READ ? POLLIN : POLLOUT,
		    deadline_us, stop_fd);
		switch (w) {
		case PGCONN_WAIT_READY:
			st = pgconn_poll(pg, &fd, why_r);
			break;
		case PGCONN_WAIT_TIMEOUT:
			PQfinish(pg);
			*why_r = xasprintf("timed out after %u ms", timeout_ms);
			return -1;
		case PGCONN_WAIT_STOP:
			PQfinish(pg);
			return 1;
		}
	}
	if (st == PGCONN_STEP_FAILED) {
		if (pg != NULL)
			PQfinish(pg);
		return -1;
	}
	*pg_r = pg;
	return 0;
}

char *
pgconn_host_label(const char *host)
{
	const char *auth, *at, *colon, *end;
	char	*tmp, *out;

	if (host == NULL)
		host = PGCONN_DEFAULT_HOST;
	if (strncmp(host, PGCONN_URI_PREFIX, strlen(PGCONN_URI_PREFIX)) != 0)
		return pgconn_oneline(host);
	/* postgresql://user:secret@host/db?password=... */
	end = host + strcspn(host, "?");
	auth = strstr(host, "://");
	auth = auth != NULL && auth < end ? auth + 3 : end;
	at = memchr(auth, '@', (size_t)(end - auth));
	colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon != NULL)
		tmp = xasprintf("%.*s:*%.*s", (int)(colon - host), host,
		    (int)(end - at), at);
	else
		tmp = xstrndup(host, (size_t)(end - host));
	out = pgconn_oneline(tmp);
	free(tmp);
	return out;
}

const char *
pgconn_stmt_name(const struct sqlmap *sm, char buf[PGCONN_STMT_NAME_MAX])
{
	snprintf(buf, PGCONN_STMT_NAME_MAX, "vrcpt_%u", sm->id);
	return buf;
}

int
pgconn_values(const PGresult *res, char ***vals_r, size_t *nvals_r,
    char **error_r)
{
	size_t	 rows, cols, n, bytes, i, len;
	int	 r, c;
	char	**vals, *p;

	*vals_r = NULL;
	*nvals_r = 0;
	switch (PQresultStatus(res)) {
	case PGRES_TUPLES_OK:
		break;
	case PGRES_COMMAND_OK:
		return 0;	/* no rows: "not found" */
	default:
		*error_r = pgconn_result_error(res);
		return -1;
	}
	rows = (size_t)PQntuples(res);
	cols = (size_t)PQnfields(res);
	if (cols != 0 && rows > PGCONN_VALUES_MAX / cols) {
		*error_r = xasprintf("result too large: %zu rows of %zu "
		    "columns (limit %d values)", rows, cols,
		    PGCONN_VALUES_MAX);
		return -1;
	}
	n = rows * cols;
	if (n == 0)
		return 0;
	bytes = 0;
	for (r = 0; r < (int)rows; r++) {
		for (c = 0; c < (int)cols; c++) {
			if (!PQgetisnull(res, r, c))
				bytes += (size_t)PQgetlength(res, r, c) + 1;
		}
		if (bytes > PGCONN_RESULT_MAX) {
			*error_r = xasprintf("result too large: more than %d "
			    "bytes", PGCONN_RESULT_MAX);
			return -1;
		}
	}
	vals = xmalloc(n * sizeof(*vals) + bytes);
	p = (char *)(vals + n);
	i = 0;
	for (r = 0; r < (int)rows; r++) {
		for (c = 0; c < (int)cols; c++, i++) {
			if (PQgetisnull(res, r, c)) {
				vals[i] = NULL;
				continue;
			}
			len = (size_t)PQgetlength(res, r, c);
			memcpy(p, PQgetvalue(res, r, c), len);
			p[len] = '\0';
			vals[i] = p;
			p += len + 1;
		}
	}
	*vals_r = vals;
	*nvals_r = n;
	return 0;
}

char *
pgconn_oneline(const char *msg)
{
	char	*flat, *out, dst[PGCONN_ERROR_MAX + 4];
	const char *s;
	size_t	 n = 0;
	bool	 space = false;

	if (msg == NULL)
		msg = "";
	flat = xmalloc(strlen(msg) + 1);
	for (s = msg; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			space = n > 0;
			continue;
		}
		if (space)
			flat[n++] = ' ';
		space = false;
		flat[n++] = *s;
	}
	flat[n] = '\0';
	if (n == 0) {
		free(flat);
		return xstrdup(PGCONN_UNKNOWN_ERROR);
	}
	str_sanitize(dst, flat, n, PGCONN_ERROR_MAX);
	out = xstrdup(dst);
	free(flat);
	return out;
}

char *
pgconn_result_error(const PGresult *res)
{
	const char *msg;

	const char *state;
	char	*line, *out;

	if (res == NULL)
		return xstrdup(PGCONN_UNKNOWN_ERROR);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL || *msg == '\0')
		msg = PQresultErrorMessage(res);
	if (msg == NULL || *msg == '\0')
		msg = PQresStatus(PQresultStatus(res));
	line = pgconn_oneline(msg);
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	if (state == NULL || (strcmp(state, PGCONN_SQLSTATE_NO_STMT) != 0 &&
	    strcmp(state, PGCONN_SQLSTATE_DUP_STMT) != 0))
		return line;
	/* our statements are prepared once per connection: one that is
	 * gone, or there already, means the session is not ours alone */
	out = xasprintf("%s (%s)", line, PGCONN_POOLER_HINT);
	free(line);
	return out;
}
