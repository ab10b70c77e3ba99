/*
 * vrcpt-milter - the milter frontend: the recipient decisions of vrcptd
 * for Postfix smtpd_milters and Sendmail INPUT_MAIL_FILTER.
 *
 * It decides nothing itself: at RCPT it asks vrcptd over the ordinary
 * policy protocol (one engine, one PostgreSQL pool and cache, in the
 * daemon) and turns the action into a milter reply whose SMTP text is
 * native smtpd's (proto/milter_map.h). This file is the start-up:
 * configuration, the policy client, the socket, privileges; the
 * callbacks that libmilter runs in its worker threads once smfi_main()
 * owns the process are in msess.c.
 *
 * It reads vrcptd's configuration file; "-o name=value" overrides a
 * parameter for the milter only (as postfix -o), e.g. its syslog_name:
 * "vrcpt-milter/smtpd" makes pflogsumm --syslog-name=vrcpt-milter count
 * the milter's Postfix-shaped reject lines (milter_log_reject = yes),
 * which it does not for Postfix's own "milter-reject:" lines.
 *
 * Depends on: libmilter, util/, proto/, daemon/config.h (the same file
 * as vrcptd), milter/pclient.h, milter/msess.h. Security: binds its
 * socket, then drops root before serving.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "daemon/config.h"
#include "milter/msess.h"
#include "milter/pclient.h"
#include "proto/milter_map.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/priv.h"
#include "util/xalloc.h"

#ifndef VRCPT_VERSION
#define VRCPT_VERSION "dev"
#endif

#define MILTER_NAME		MSESS_NAME
#define MILTER_DAEMON_IDENT	"vrcptd"	/* syslog_name default */
#define MILTER_POLICY_SLACK_MS	1000	/* beyond vrcptd's own deadline
					 * (request_timeout), which
					 * answers lookup_failure_action
					 * itself when it fires */
#define MILTER_OVERRIDES_MAX	32	/* -o name=value options */
#define MILTER_READ_CHUNK	8192

/* the process: set up in main() */
static struct {
	struct config *cfg;
	struct pclient *pc;
} milter;

/* ----------------------------------------------------------- start-up */

static void
usage(void)
{
	fprintf(stderr, "usage: vrcpt-milter [-c config_file] "
	    "[-o name=value] [-t] [-v]\n"
	    "  -c FILE  configuration, shared with vrcptd (default %s)\n"
	    "  -o N=V   override parameter N of that file for the milter\n"
	    "           only (repeatable), e.g. -o syslog_name=vrcpt-milter/"
	    "smtpd\n"
	    "  -t       test the configuration and exit\n"
	    "  -v       verbose logging (repeat for more)\n",
	    CONFIG_DEFAULT_PATH);
	exit(2);
}

/*
 * override_valid - "name=value" as postfix -o takes it: a parameter name
 * of [a-z0-9_], then '=', then a value without CR or LF (a line break
 * would start another parameter).
 */
static bool
override_valid(const char *o)
{
	const char *eq = strchr(o, '=');
	const char *p;

	if (eq == NULL || eq == o || strpbrk(o, "\r\n") != NULL)
		return false;
	for (p = o; p < eq; p++)
		if (!islower((unsigned char)*p) &&
		    !isdigit((unsigned char)*p) && *p != '_')
			return false;
	return true;
}

/*
 * relabel_msgs - configuration messages about the lines that -o added
 * name the option instead of a line the file does not have; that an
 * override overrides is its purpose, not worth a warning.
 */
static void
relabel_msgs(struct config_msgs *msgs, const char *path, size_t first,
    char *const *ov, size_t nov)
{
	size_t	 i, keep = 0, plen = strlen(path);
	unsigned long line;
	char	*end, *m;

	for (i = 0; i < msgs->n; i++) {
		m = msgs->v[i];
		if (strncmp(m, path, plen) != 0 || m[plen] != ':' ||
		    !isdigit((unsigned char)m[plen + 1]) ||
		    (line = strtoul(m + plen + 1, &end, 10)) < first ||
		    *end != ':' || (line - first) % 2 != 0 ||
		    (line - first) / 2 >= nov) {
			msgs->v[keep++] = m;
			continue;
		}
		if (strstr(end, ": warning: overriding earlier entry") ==
		    end) {
			free(m);
			continue;
		}
		msgs->v[keep++] = xasprintf("-o %s%s", ov[(line - first) / 2],
		    end);
		free(m);
	}
	msgs->n = keep;
}

/*
 * load_config - the configuration file, with the -o overrides appended
 * as "name = value" lines (the last assignment of a name wins, as in
 * main.cf). 0, or -1; messages in *msgs (the caller prints them).
 */
static int
load_config(const char *path, char *const *ov, size_t nov,
    struct config **cfg_r, struct config_msgs *msgs)
{
	struct buf text;
	char	 chunk[MILTER_READ_CHUNK];
	ssize_t	 n;
	size_t	 i, first;
	int	 fd, rc, err = 0;

	*cfg_r = NULL;
	if (nov == 0)
		return config_load(path, cfg_r, msgs);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, MILTER_NAME ": %s: cannot read: %s\n", path,
		    strerror(errno));
		return -1;
	}
	/* the file and the overrides; config_load_text() checks the size */
	buf_init(&text, 0);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = errno;
		if (n <= 0)
			break;
		if (text.len + (size_t)n > CONFIG_FILE_MAX) {
			err = EFBIG;
			break;
		}
		buf_append(&text, chunk, (size_t)n);
	}
	close(fd);
	if (err != 0) {
		fprintf(stderr, MILTER_NAME ": %s: cannot read: %s\n", path,
		    err == EFBIG ? "file too large" : strerror(err));
		buf_free(&text);
		return -1;
	}
	/* override i is on line first + 2 * i (a blank line before each) */
	first = 1;
	for (i = 0; i < text.len; i++)
		if (text.data[i] == '\n')
			first++;
	first++;
	for (i = 0; i < nov; i++) {
		const char *eq = strchr(ov[i], '=');

		buf_printf(&text, "\n%.*s = %s\n", (int)(eq - ov[i]), ov[i],
		    eq + 1);
	}
	rc = config_load_text(path, buf_str(&text), text.len, cfg_r, msgs);
	buf_free(&text);
	relabel_msgs(msgs, path, first, ov, nov);
	return rc;
}

static void
print_msgs(const struct config_msgs *msgs)
{
	size_t	 i;

	for (i = 0; i < msgs->n; i++)
		fprintf(stderr, MILTER_NAME ": %s\n", msgs->v[i]);
}

/*
 * log_ident - vrcptd.cf's syslog_name is vrcptd's; the milter logs as
 * itself: a trailing "vrcptd" becomes "vrcpt-milter" ("postfix/vrcptd"
 * -> "postfix/vrcpt-milter"), any other name is used as it is.
 */
static char *
log_ident(const char *syslog_name)
{
	size_t	 len, dlen = sizeof(MILTER_DAEMON_IDENT) - 1;

	if (syslog_name == NULL || *syslog_name == '\0')
		return xstrdup(MILTER_NAME);
	len = strlen(syslog_name);
	if (len >= dlen && strcmp(syslog_name + len - dlen,
	    MILTER_DAEMON_IDENT) == 0)
		return xasprintf("%.*s" MILTER_NAME, (int)(len - dlen),
		    syslog_name);
	return xstrdup(syslog_name);
}

static void
open_log(const struct config *cfg)
{
	const char *err;
	char	*ident = log_ident(cfg->syslog_name);

	if (log_open_maillog(ident, cfg->syslog_facility, cfg->maillog_file,
	    &err) < 0)
		msg_fatal("cannot open log: %s", err);
	free(ident);
}

/* policy_service - where to ask: milter_policy_service, else listen[0] */
static const char *
policy_service(const struct config *cfg)
{
	if (cfg->milter_policy_service != NULL &&
	    *cfg->milter_policy_service != '\0')
		return cfg->milter_policy_service;
	if (cfg->nlisten > 0)
		return cfg->listen[0];
	return NULL;
}

/* setup - everything -t checks; 0 / -1 with a message on stderr */
static int
setup(const struct config *cfg, char **spec_r)
{
	const char *svc = policy_service(cfg);
	char	 err[PCLIENT_ERR_LEN];

	if (cfg->milter_listen == NULL || *cfg->milter_listen == '\0') {
		fprintf(stderr, MILTER_NAME ": fatal: milter_listen is empty "
		    "in %s: set it to the endpoint the MTA connects to, e.g. "
		    "inet:127.0.0.1:10024\n", cfg->path);
		return -1;
	}
	if (milter_map_conn_spec(cfg->milter_listen, spec_r) < 0) {
		fprintf(stderr, MILTER_NAME ": fatal: milter_listen = %s: "
		    "want unix:/path, inet:host:port or inet:port@host\n",
		    cfg->milter_listen);
		return -1;
	}
	if (svc == NULL) {
		fprintf(stderr, MILTER_NAME ": fatal: no policy service: set "
		    "milter_policy_service or listen\n");
		return -1;
	}
	if (pclient_new(svc, cfg->request_timeout_ms + MILTER_POLICY_SLACK_MS,
	    &milter.pc, err) < 0) {
		fprintf(stderr, MILTER_NAME ": fatal: milter_policy_service: "
		    "%s\n", err);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc;
	struct msess_opts opts;
	struct config_msgs msgs = { 0 };
	const char *path = CONFIG_DEFAULT_PATH;
	const char *unix_path = NULL;
	struct stat st;
	bool	 test_only = false;
	char	*spec = NULL;
	char	*ov[MILTER_OVERRIDES_MAX];
	size_t	 nov = 0;
	int	 ch, verbose = 0, rc;

	while ((ch = getopt(argc, argv, "c:o:tvV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			if (!override_valid(optarg)) {
				fprintf(stderr, MILTER_NAME ": fatal: -o %s: "
				    "want name=value\n", optarg);
				return 2;
			}
			if (nov == MILTER_OVERRIDES_MAX) {
				fprintf(stderr, MILTER_NAME ": fatal: more "
				    "than %d -o options\n",
				    MILTER_OVERRIDES_MAX);
				return 2;
			}
			ov[nov++] = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf(MILTER_NAME " %s\n", VRCPT_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	rc = load_config(path, ov, nov, &milter.cfg, &msgs);
	print_msgs(&msgs);
	config_msgs_free(&msgs);
	if (rc < 0) {
		fprintf(stderr, MILTER_NAME ": fatal: %s: configuration "
		    "errors\n", path);
		return 1;
	}
	if (setup(milter.cfg, &spec) < 0) {
		config_unref(&milter.cfg);
		return 1;
	}
	if (test_only) {
		free(spec);
		pclient_free(&milter.pc);
		config_unref(&milter.cfg);
		return 0;
	}
	open_log(milter.cfg);
	log_set_verbose(verbose);
	signal(SIGPIPE, SIG_IGN);
	memset(&opts, 0, sizeof(opts));
	opts.pc = milter.pc;
	opts.lfa = milter.cfg->engine.lookup_failure_action;
	opts.log_reject = milter.cfg->milter_log_reject;
	opts.log_accept = milter.cfg->milter_log_reject &&
	    milter.cfg->log_level >= 1;
	opts.pid = (unsigned)getpid();
	msess_init(&opts, &desc);
	if (smfi_setconn(spec) != MI_SUCCESS)
		msg_fatal("smfi_setconn %s failed", spec);
	if (smfi_register(desc) != MI_SUCCESS)
		msg_fatal("smfi_register failed");
	/* bind now, as root if we are, and remove a stale socket */
	if (smfi_opensocket(true) != MI_SUCCESS)
		msg_fatal("cannot listen on %s (milter_listen)", spec);
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
		unix_path = strchr(spec, ':') + 1;
	if (unix_path != NULL &&
	    chmod(unix_path, milter.cfg->listen_mode) < 0)
		msg_fatal("chmod %s: %s", unix_path, strerror(errno));
	priv_drop(milter.cfg->user);

	msg_info(MILTER_NAME " %s starting: milter %s, policy service %s, "
	    "lookup_failure_action = %s", VRCPT_VERSION, spec,
	    pclient_endpoint(milter.pc), opts.lfa == LFA_DEFER ?
	    "defer" : "dunno");
	rc = smfi_main();
	msg_info("stopped");
	/* like vrcptd: leave no socket behind, and never remove a file */
	if (unix_path != NULL && lstat(unix_path, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		(void)unlink(unix_path);

	pclient_free(&milter.pc);
	config_unref(&milter.cfg);
	free(spec);
	log_close();
	return rc == MI_SUCCESS ? 0 : 1;
}
