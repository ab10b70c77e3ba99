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
 * It reads vrcptd's configuration file, its own parameters only (it
 * opens no table and reads no database password); "-o name=value"
 * overrides a parameter for the milter only (as postfix -o), e.g. its
 * syslog_name:
 * "vrcpt-milter/smtpd" makes pflogsumm --syslog-name=vrcpt-milter count
 * the milter's Postfix-shaped reject lines (milter_log_reject = yes),
 * which it does not for Postfix's own "milter-reject:" lines.
 *
 * Depends on: libmilter, util/, proto/, conf/ (the same file as
 * vrcptd), client/pclient.h, milter/msess.h. Security: binds its
 * socket, then drops root before serving.
 */
#include <sys/stat.h>
#include <sys/types.h>

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

#include "client/pclient.h"
#include "conf/conf.h"
#include "milter/msess.h"
#include "proto/milter_map.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/priv.h"
#include "util/xalloc.h"

#ifndef VRCPT_VERSION
#define VRCPT_VERSION "dev"
#endif

#define MILTER_NAME		"vrcpt-milter"
#define MILTER_DAEMON_IDENT	"vrcptd"	/* syslog_name default */
#define MILTER_POLICY_SLACK_MS	1000	/* beyond vrcptd's own deadline
					 * (request_timeout), which
					 * answers lookup_failure_action
					 * itself when it fires */

/* the process: set up in main() */
static struct {
	struct conf *cfg;
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
	    CONF_DEFAULT_PATH);
	exit(2);
}

static void
print_msgs(const struct conf_msgs *msgs)
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
open_log(const struct conf *cfg)
{
	const char *err;
	char	*ident = log_ident(cfg->syslog_name);

	if (log_open_maillog(ident, cfg->syslog_facility, cfg->maillog_file,
	    &err) < 0)
		msg_fatal("cannot open log: %s", err);
	free(ident);
}

/* policy_service - where to ask: milter_policy_service, else listen[0] */
static const struct endpoint *
policy_service(const struct conf *cfg)
{
	if (cfg->milter_policy_service.kind != ENDPOINT_NONE)
		return &cfg->milter_policy_service;
	return &cfg->listen.v[0];	/* conf: at least one */
}

/* setup - everything -t checks; 0 / -1 with a message on stderr */
static int
setup(const struct conf *cfg, char *spec, size_t spec_size)
{
	char	 err[PCLIENT_ERR_LEN];

	if (cfg->milter_listen.kind == ENDPOINT_NONE) {
		fprintf(stderr, MILTER_NAME ": fatal: %s is empty in %s: set "
		    "it to the endpoint the MTA connects to, e.g. "
		    "inet:127.0.0.1:10024\n", CONF_NAME(milter_listen),
		    cfg->path);
		return -1;
	}
	endpoint_milter_spec(&cfg->milter_listen, spec, spec_size);
	if (pclient_new(policy_service(cfg), cfg->request_timeout +
	    MILTER_POLICY_SLACK_MS, &milter.pc, err) < 0) {
		fprintf(stderr, MILTER_NAME ": fatal: %s: %s\n",
		    CONF_NAME(milter_policy_service), err);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct smfiDesc desc;
	struct msess_opts opts;
	struct conf_msgs msgs = { 0 };
	const char *path = CONF_DEFAULT_PATH;
	const char *unix_path = NULL;
	struct stat st;
	bool	 test_only = false;
	char	 spec[ENDPOINT_TEXT_MAX + 16];
	const char *ov[CONF_OVERRIDES_MAX];
	size_t	 nov = 0;
	int	 ch, verbose = 0, rc;

	while ((ch = getopt(argc, argv, "c:o:tvV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			if (nov == CONF_OVERRIDES_MAX) {
				fprintf(stderr, MILTER_NAME ": fatal: more "
				    "than %d -o options\n",
				    CONF_OVERRIDES_MAX);
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

	/* the milter's own parameters only: no table, no password */
	rc = conf_load(path, CONF_M, ov, nov, &milter.cfg, &msgs);
	print_msgs(&msgs);
	conf_msgs_free(&msgs);
	if (rc < 0) {
		fprintf(stderr, MILTER_NAME ": fatal: %s: configuration "
		    "errors\n", path);
		return 1;
	}
	if (setup(milter.cfg, spec, sizeof(spec)) < 0) {
		conf_unref(&milter.cfg);
		return 1;
	}
	if (test_only) {
		pclient_free(&milter.pc);
		conf_unref(&milter.cfg);
		return 0;
	}
	open_log(milter.cfg);
	log_set_verbose(verbose);
	signal(SIGPIPE, SIG_IGN);
	memset(&opts, 0, sizeof(opts));
	opts.pc = milter.pc;
	opts.lfa = milter.cfg->lookup_failure_action;
	milter_map_set_utf8(milter.cfg->smtputf8_enable);
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
		msg_fatal("cannot listen on %s (%s)", spec,
		    CONF_NAME(milter_listen));
	if (milter.cfg->milter_listen.kind == ENDPOINT_UNIX)
		unix_path = milter.cfg->milter_listen.path;
	if (unix_path != NULL) {
		gid_t	 gid = priv_socket_group(milter.cfg->listen_group,
		    milter.cfg->origin[CONF_P_listen_group].src ==
		    CONF_SRC_DEFAULT, CONF_NAME(listen_group));

		if (gid != (gid_t)-1 && chown(unix_path, (uid_t)-1, gid) < 0)
			msg_fatal("chown %s: %s", unix_path, strerror(errno));
		if (chmod(unix_path, milter.cfg->listen_mode) < 0)
			msg_fatal("chmod %s: %s", unix_path, strerror(errno));
	}
	priv_drop(milter.cfg->user);

	msg_info(MILTER_NAME " %s starting: milter %s, policy service %s, "
	    "%s = %s", VRCPT_VERSION, spec, pclient_endpoint(milter.pc),
	    CONF_NAME(lookup_failure_action), opts.lfa == LFA_DEFER ?
	    "defer" : "dunno");
	rc = smfi_main();
	msg_info("stopped");
	/* like vrcptd: leave no socket behind, and never remove a file */
	if (unix_path != NULL && lstat(unix_path, &st) == 0 &&
	    S_ISSOCK(st.st_mode))
		(void)unlink(unix_path);

	pclient_free(&milter.pc);
	conf_unref(&milter.cfg);
	log_close();
	return rc == MI_SUCCESS ? 0 : 1;
}
