/*
 * log - messages to syslog, a maillog-style file or stderr.
 *
 * Depends on: libc and pthreads only. In particular not on xalloc, whose
 * out-of-memory path ends up here: this module allocates nothing.
 *
 * Thread-safety: workers (milter threads) log concurrently. Each message
 * is formatted into a buffer on the caller's stack and leaves in a
 * single write(2) (or one syslog(3) call), so lines never interleave.
 * A read-write lock keeps log_open()/log_close() (reload) from changing
 * the destination under a writer.
 *
 * Security: the text may contain peer data; callers sanitise it first
 * (str_sanitize), and as a last guard a CR or LF in a message becomes a
 * space here, so a message can never forge a second log line. A line is
 * cut at LOG_LINE_MAX bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"

#define LOG_LINE_MAX	2048	/* one log line, bytes, with the newline */
#define LOG_IDENT_MAX	64	/* syslog_name, bytes */
#define LOG_HOST_MAX	256	/* host name in file lines, bytes */
#define LOG_FACILITY_NAME_MAX	16	/* "local7" and friends */
#define LOG_DEFAULT_FACILITY	LOG_MAIL

/* msg levels, Postfix msg_syslog.c: level -> syslog priority */
enum log_level {
	LOG_LVL_DEBUG,
	LOG_LVL_INFO,
	LOG_LVL_WARN,
	LOG_LVL_ERROR,
	LOG_LVL_FATAL,
	LOG_LVL_PANIC
};

/* syslog_facility names, as Postfix msg_syslog.c knows them */
static const struct log_facility {
	const char *name;
	int	 facility;
} log_facilities[] = {
	{ "auth", LOG_AUTH },
	{ "authpriv", LOG_AUTHPRIV },
	{ "cron", LOG_CRON },
	{ "daemon", LOG_DAEMON },
	{ "ftp", LOG_FTP },
	{ "kern", LOG_KERN },
	{ "lpr", LOG_LPR },
	{ "mail", LOG_MAIL },
	{ "news", LOG_NEWS },
	{ "security", LOG_AUTH },
	{ "syslog", LOG_SYSLOG },
	{ "user", LOG_USER },
	{ "uucp", LOG_UUCP },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

static const char log_months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/*
 * The destination. Guarded by log_lock: writers take it shared, log_open()
 * and log_close() exclusively. Before log_open() everything goes to stderr
 * under the program's name.
 */
static pthread_rwlock_t log_lock = PTHREAD_RWLOCK_INITIALIZER;
static enum log_dest log_dest = LOG_DEST_STDERR;
static int	log_fd = -1;		/* LOG_DEST_FILE */
static char	log_path[PATH_MAX];	/* LOG_DEST_FILE, for log_reopen() */
static char	log_facility_name[LOG_FACILITY_NAME_MAX];
/* openlog() keeps a pointer to log_ident: a fixed array, never freed */
static char	log_ident[LOG_IDENT_MAX];
static char	log_host[LOG_HOST_MAX];
static bool	log_syslog_open;
static atomic_int log_verbose_level;

/* log_facility_lookup - facility code for a name, or -1 */
static int
log_facility_lookup(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(log_facilities) / sizeof(log_facilities[0]);
	    i++)
		if (strcasecmp(log_facilities[i].name, name) == 0)
			return log_facilities[i].facility;
	return -1;
}

/* log_facility_valid - a syslog_facility name we know */
bool
log_facility_valid(const char *facility)
{
	return facility != NULL && log_facility_lookup(facility) >= 0;
}

/* log_ident_str - the ident to print (program name before log_open) */
static const char *
log_ident_str(void)
{
	if (log_ident[0] != '\0')
		return log_ident;
	return program_invocation_short_name;
}

/*
 * log_open - (re)configure logging. On error nothing changes.
 */
int
log_open(const char *ident, enum log_dest dest, const char *facility,
    const char *path, const char **error_r)
{
	int	 fac = LOG_DEFAULT_FACILITY;
	int	 fd = -1;
	int	 saved_errno = errno;

	if (ident == NULL || ident[0] == '\0') {
		*error_r = "empty syslog_name";
		return -1;
	}
	if (strlen(ident) >= LOG_IDENT_MAX) {
		*error_r = "syslog_name too long";
		return -1;
	}
	if (facility != NULL && (fac = log_facility_lookup(facility)) < 0) {
		*error_r = "unknown syslog_facility";
		return -1;
	}
	switch (dest) {
	case LOG_DEST_SYSLOG:
	case LOG_DEST_STDERR:
		break;
	case LOG_DEST_FILE:
		if (path == NULL || path[0] == '\0') {
			*error_r = "no log file name";
			return -1;
		}
		if (strcmp(path, "/dev/stderr") == 0) {
			dest = LOG_DEST_STDERR;
			break;
		}
		/* no symlink: a log directory an attacker can write to must
		 * not make us append to a file of their choosing */
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		    O_NOCTTY | O_NOFOLLOW, 0640);
		if (fd < 0) {
			*error_r = "cannot open log file";
			errno = saved_errno;
			return -1;
		}
		break;
	}

	tzset();
	pthread_rwlock_wrlock(&log_lock);
	if (log_syslog_open) {
		closelog();
		log_syslog_open = false;
	}
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	/* Mutated only under the write lock; readers hold the read lock. */
	memcpy(log_ident, ident, strlen(ident) + 1);
	snprintf(log_path, sizeof(log_path), "%s",
	    dest == LOG_DEST_FILE ? path : "");
	snprintf(log_facility_name, sizeof(log_facility_name), "%s",
	    facility != NULL ? facility : "");
	if (gethostname(log_host, sizeof(log_host)) != 0)
		strcpy(log_host, "localhost");
	log_host[sizeof(log_host) - 1] = '\0';
	log_dest = dest;
	if (dest == LOG_DEST_SYSLOG) {
		openlog(log_ident, LOG_PID | LOG_NDELAY, fac);
		log_syslog_open = true;
	}
	pthread_rwlock_unlock(&log_lock);
	errno = saved_errno;
	return 0;
}

int
log_reopen(const char **error_r)
{
	char	 ident[LOG_IDENT_MAX], path[PATH_MAX];
	char	 fac[LOG_FACILITY_NAME_MAX];
	enum log_dest dest;

	pthread_rwlock_rdlock(&log_lock);
	dest = log_dest;
	memcpy(ident, log_ident, sizeof(ident));
	memcpy(path, log_path, sizeof(path));
	memcpy(fac, log_facility_name, sizeof(fac));
	pthread_rwlock_unlock(&log_lock);
	if (dest != LOG_DEST_FILE)
		return 0;
	return log_open(ident, dest, *fac != '\0' ? fac : NULL, path,
	    error_r);
}

/* log_close - back to stderr; closes the file and syslog */
void
log_close(void)
{
	int	 saved_errno = errno;

	pthread_rwlock_wrlock(&log_lock);
	if (log_syslog_open) {
		closelog();
		log_syslog_open = false;
	}
	if (log_fd >= 0) {
		close(log_fd);
		log_fd = -1;
	}
	log_dest = LOG_DEST_STDERR;
	pthread_rwlock_unlock(&log_lock);
	errno = saved_errno;
}

void
log_set_verbose(int level)
{
	atomic_store(&log_verbose_level, level);
}

int
log_verbose(void)
{
	return atomic_load(&log_verbose_level);
}

/* log_level_prefix - Postfix msg(3) severity text */
static const char *
log_level_prefix(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG:
	case LOG_LVL_INFO:
		return "";
	case LOG_LVL_WARN:
		return "warning: ";
	case LOG_LVL_ERROR:
		return "error: ";
	case LOG_LVL_FATAL:
		return "fatal: ";
	case LOG_LVL_PANIC:
		return "panic: ";
	}
	return "";
}

/* log_level_priority - syslog priority, as Postfix msg_syslog.c */
static int
log_level_priority(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG:
	case LOG_LVL_INFO:
		return LOG_INFO;
	case LOG_LVL_WARN:
		return LOG_WARNING;
	case LOG_LVL_ERROR:
		return LOG_ERR;
	case LOG_LVL_FATAL:
	case LOG_LVL_PANIC:
		return LOG_CRIT;
	}
	return LOG_INFO;
}

/* log_write_all - one write(2), retried only when nothing was written */
static void
log_write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	do {
		w = write(fd, p, n);
	} while (w < 0 && errno == EINTR);
	/* nowhere left to report a failed log write */
}

/*
 * log_append - bounded append of a C string at *pos in line[0..size);
 * silently cut when it does not fit. The caller keeps one byte spare.
 */
static void
log_append(char *line, size_t size, size_t *pos, const char *s)
{
	size_t	 n = strlen(s);

	if (*pos >= size)
		return;
	if (n > size - *pos)
		n = size - *pos;
	memcpy(line + *pos, s, n);
	*pos += n;
}

/*
 * log_vemit - format and deliver one message. errno is preserved so that
 * "%m" and the caller's error handling both see the original value.
 */
static void __attribute__((format(printf, 2, 0)))
log_vemit(enum log_level lvl, const char *fmt, va_list ap)
{
	char	 text[LOG_LINE_MAX];
	char	 line[LOG_LINE_MAX];
	char	 head[LOG_IDENT_MAX + LOG_HOST_MAX + 128];
	size_t	 pos = 0, i, tlen;
	int	 saved_errno = errno;
	int	 n;

	/* prefix + message text, cut to fit */
	n = snprintf(text, sizeof(text), "%s", log_level_prefix(lvl));
	if (n < 0)
		n = 0;
	errno = saved_errno;
	(void)vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	tlen = strlen(text);
	for (i = 0; i < tlen; i++)
		if (text[i] == '\n' || text[i] == '\r')
			text[i] = ' ';

	pthread_rwlock_rdlock(&log_lock);
	switch (log_dest) {
	case LOG_DEST_SYSLOG:
		syslog(log_level_priority(lvl), "%s", text);
		break;
	case LOG_DEST_FILE: {
		struct tm tm;
		time_t	 now = time(NULL);

		/* postlogd maillog_file: "Mmm dd hh:mm:ss host ident[pid]: " */
		if (localtime_r(&now, &tm) == NULL)
			memset(&tm, 0, sizeof(tm));
		if (tm.tm_mon < 0 || tm.tm_mon > 11)
			tm.tm_mon = 0;
		(void)snprintf(head, sizeof(head),
		    "%s %2d %02d:%02d:%02d %s %s[%ld]: ", log_months[tm.tm_mon],
		    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, log_host,
		    log_ident_str(), (long)getpid());
		log_append(line, sizeof(line) - 1, &pos, head);
		log_append(line, sizeof(line) - 1, &pos, text);
		line[pos++] = '\n';
		log_write_all(log_fd, line, pos);
		break;
	}
	case LOG_DEST_STDERR:
		(void)snprintf(head, sizeof(head), "%s[%ld]: ",
		    log_ident_str(), (long)getpid());
		log_append(line, sizeof(line) - 1, &pos, head);
		log_append(line, sizeof(line) - 1, &pos, text);
		line[pos++] = '\n';
		log_write_all(STDERR_FILENO, line, pos);
		break;
	}
	pthread_rwlock_unlock(&log_lock);
	errno = saved_errno;
}

void
msg_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (atomic_load(&log_verbose_level) <= 0)
		return;
	va_start(ap, fmt);
	log_vemit(LOG_LVL_DEBUG, fmt, ap);
	va_end(ap);
}

void
msg_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_INFO, fmt, ap);
	va_end(ap);
}

void
msg_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_WARN, fmt, ap);
	va_end(ap);
}

void
msg_error(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
}

/* msg_fatal - configuration or environment problem: log and exit 1 */
void
msg_fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_FATAL, fmt, ap);
	va_end(ap);
	exit(1);
}

/* msg_panic - broken invariant (our bug): log and dump core */
void
msg_panic(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_PANIC, fmt, ap);
	va_end(ap);
	abort();
}

int
log_open_maillog(const char *ident, const char *facility,
    const char *maillog_file, const char **error_r)
{
	enum log_dest dest = LOG_DEST_SYSLOG;

	if (maillog_file != NULL && *maillog_file != '\0')
		dest = strcmp(maillog_file, "/dev/stderr") == 0 ?
		    LOG_DEST_STDERR : LOG_DEST_FILE;
	return log_open(ident, dest, facility, maillog_file, error_r);
}

bool
log_rate_ok(struct log_rate *lr, uint64_t now_ms, uint64_t interval_ms,
    unsigned long *suppressed_r)
{
	uint64_t next = atomic_load(&lr->next_ms);

	/* one thread wins the slot; the others count as held back */
	if ((next != 0 && now_ms < next) ||
	    !atomic_compare_exchange_strong(&lr->next_ms, &next,
	    now_ms + interval_ms)) {
		atomic_fetch_add(&lr->suppressed, 1);
		return false;
	}
	*suppressed_r = atomic_exchange(&lr->suppressed, 0);
	return true;
}

void
msg_warn_rated(struct log_rate *lr, uint64_t interval_ms, const char *fmt,
    ...)
{
	char	 text[LOG_LINE_MAX];
	unsigned long held;
	va_list	 ap;

	if (!log_rate_ok(lr, clock_mono_ms(), interval_ms, &held))
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (held > 0)
		msg_warn("%s (%lu more like this not logged)", text, held);
	else
		msg_warn("%s", text);
}
