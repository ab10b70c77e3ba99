#ifndef VRCPT_LOG_H
#define VRCPT_LOG_H
/*
 * log - messages to syslog, a maillog-style file or stderr.
 *
 * Levels follow Postfix msg(3): msg_info() plain, msg_warn() prefixes
 * "warning: ", msg_error() "error: ", msg_fatal() "fatal: " and exits 1,
 * msg_panic() "panic: " and aborts. Callers sanitise untrusted text
 * first (str_sanitize). Thread-safe: one line is one write.
 *
 * File and stderr lines look like Postfix's postlogd output:
 *   "Nov 25 19:01:25 host ident[pid]: text"
 * stderr lines are "ident[pid]: text" (systemd's journal adds the time).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

enum log_dest {
	LOG_DEST_SYSLOG,	/* openlog(ident, LOG_PID, facility) */
	LOG_DEST_FILE,		/* append to a path (maillog_file) */
	LOG_DEST_STDERR		/* "ident[pid]: text" on fd 2 */
};

/*
 * log_open - (re)configure logging. facility is a name as in Postfix's
 * syslog_facility ("mail", "local0".."local7", ...). path is used with
 * LOG_DEST_FILE ("/dev/stderr" selects LOG_DEST_STDERR). Returns 0, or -1
 * with *error_r set to a static message (logging stays as it was).
 */
int	log_open(const char *ident, enum log_dest dest, const char *facility,
	    const char *path, const char **error_r);
/*
 * log_open_maillog - log_open() the way vrcptd.cf says: syslog when
 * maillog_file is empty, stderr for "/dev/stderr", else that file.
 */
int	log_open_maillog(const char *ident, const char *facility,
	    const char *maillog_file, const char **error_r);
/*
 * log_reopen - open the log file again by its name (after logrotate
 * moved it): the same destination, ident and facility. Nothing to do
 * for syslog and stderr. 0, or -1 with *error_r (logging stays as it
 * was).
 */
int	log_reopen(const char **error_r);
/* log_facility_valid - a syslog_facility name we know */
bool	log_facility_valid(const char *facility);
/* log_set_verbose - enable msg_debug() output */
void	log_set_verbose(int level);
int	log_verbose(void);
void	log_close(void);

/*
 * log_rate - at most one line per interval for a message that an attacker
 * or a failing resource could otherwise repeat without end (accept()
 * failures, connection limits). Any thread; zero-initialised is ready.
 */
struct log_rate {
	_Atomic uint64_t next_ms;	/* no line before this (monotonic) */
	atomic_ulong suppressed;	/* held back since the last line */
};

/*
 * log_rate_ok - may a line be logged at now_ms? If so, *suppressed_r is
 * how many were held back since the last one (to say so in the line) and
 * the next is allowed interval_ms later; if not, the count grows.
 */
bool	log_rate_ok(struct log_rate *lr, uint64_t now_ms,
	    uint64_t interval_ms, unsigned long *suppressed_r);

/*
 * msg_warn_rated - msg_warn, at most once per interval_ms for lr (one
 * per call site: a static struct log_rate), with " (N more like this
 * not logged)" when some were held back. For what repeats per request
 * while something is down: lookup errors, stale answers, timeouts.
 */
#define LOG_RATE_OUTAGE_MS	1000
void	msg_warn_rated(struct log_rate *lr, uint64_t interval_ms,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void	msg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	msg_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2),
	    noreturn));
void	msg_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2),
	    noreturn));

#endif
