/*
 * vrcptd - the vrcpt policy daemon: main.
 *
 * Runs in the foreground (systemd, or a terminal). Reads the
 * configuration, opens the listeners, drops root when told to, starts
 * the workers and waits for signals: SIGTERM/SIGINT stop gracefully,
 * SIGHUP reloads (the new configuration is built beside the old one and
 * swapped in only if it is valid).
 *
 * Depends on: everything. Security: privileges are dropped after the
 * sockets are bound and before any client is served.
 */
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/config.h"
#include "server/listen.h"
#include "server/metrics.h"
#include "server/server.h"
#include "util/log.h"
#include "util/priv.h"
#include "util/xalloc.h"

#ifndef VRCPT_VERSION
#define VRCPT_VERSION "dev"
#endif

struct daemon {
	struct event_base *base;
	struct config *cfg;
	struct server *srv;
	struct metrics_server *metrics;
	int	 fds[CONFIG_LISTEN_MAX];
	size_t	 nfds;
};

static void
usage(void)
{
	fprintf(stderr, "usage: vrcptd [-c config_file] [-t] [-v]\n"
	    "  -c FILE  configuration (default %s)\n"
	    "  -t       test the configuration and exit\n"
	    "  -v       verbose logging (repeat for more)\n",
	    CONFIG_DEFAULT_PATH);
	exit(2);
}

/* print_msgs - configuration messages go to stderr and the log */
static void
print_msgs(const struct config_msgs *msgs, bool to_log)
{
	size_t i;

	for (i = 0; i < msgs->n; i++) {
		if (to_log)
			msg_info("%s", msgs->v[i]);
		else
			fprintf(stderr, "vrcptd: %s\n", msgs->v[i]);
	}
}

/* open_log - the configured destination */
static void
open_log(const struct config *cfg)
{
	const char *err;

	if (log_open_maillog(cfg->syslog_name, cfg->syslog_facility,
	    cfg->maillog_file, &err) < 0)
		msg_fatal("cannot open log: %s", err);
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	msg_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(d->base);
}

/* same_listen - a reload cannot move the sockets: they are bound already */
static bool
same_listen(const struct config *a, const struct config *b)
{
	size_t i;

	if (a->nlisten != b->nlisten)
		return false;
	for (i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return false;
	return true;
}

static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	struct config_msgs msgs = { 0 };
	struct config *ncfg = NULL;

	msg_info("SIGHUP: reloading %s", d->cfg->path);
	if (config_load(d->cfg->path, &ncfg, &msgs) < 0) {
		print_msgs(&msgs, true);
		msg_warn("reload failed; still running with the previous "
		    "configuration");
		config_msgs_free(&msgs);
		return;
	}
	print_msgs(&msgs, true);
	config_msgs_free(&msgs);
	if (!same_listen(d->cfg, ncfg))
		msg_warn("reload: \"listen\" changed; restart vrcptd to "
		    "move the sockets");
	server_reload(d->srv, ncfg);
	config_unref(&d->cfg);
	d->cfg = ncfg;
	msg_info("reload: new configuration in use");
}

int
main(int argc, char **argv)
{
	const char *path = CONFIG_DEFAULT_PATH;
	struct config_msgs msgs = { 0 };
	struct daemon d = { 0 };
	struct event *ev_term, *ev_int, *ev_hup;
	bool test_only = false;
	int ch, verbose = 0, rc;
	size_t i;

	while ((ch = getopt(argc, argv, "c:tvV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("vrcptd %s\n", VRCPT_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	rc = config_load(path, &d.cfg, &msgs);
	print_msgs(&msgs, false);
	config_msgs_free(&msgs);
	if (rc < 0) {
		fprintf(stderr, "vrcptd: fatal: %s: configuration errors\n",
		    path);
		return 1;
	}
	if (test_only) {
		config_unref(&d.cfg);
		return 0;
	}
	open_log(d.cfg);
	log_set_verbose(verbose);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < d.cfg->nlisten; i++) {
		char err[LISTEN_ERR_LEN];
		int fd = listen_open(d.cfg->listen[i], d.cfg->listen_mode, err);

		if (fd < 0)
			msg_fatal("listen %s: %s", d.cfg->listen[i], err);
		d.fds[d.nfds++] = fd;
	}
	if ((d.base = event_base_new()) == NULL)
		msg_fatal("event_base_new failed");
	if (d.cfg->metrics_listen != NULL && *d.cfg->metrics_listen != '\0') {
		const char *err;

		d.metrics = metrics_start(d.base, d.cfg->metrics_listen,
		    d.cfg->listen_mode, d.cfg->ndbconfs > 0, &err);
		if (d.metrics == NULL)
			msg_fatal("metrics_listen %s: %s", d.cfg->metrics_listen,
			    err);
		msg_info("metrics on %s", d.cfg->metrics_listen);
	}
	priv_drop(d.cfg->user);

	ev_term = evsignal_new(d.base, SIGTERM, on_stop, &d);
	ev_int = evsignal_new(d.base, SIGINT, on_stop, &d);
	ev_hup = evsignal_new(d.base, SIGHUP, on_reload, &d);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);

	msg_info("vrcptd %s starting", VRCPT_VERSION);
	for (i = 0; i < d.cfg->nlisten; i++)
		msg_info("listening on %s", d.cfg->listen[i]);
	server_raise_nofile(d.cfg);
	d.srv = server_start(d.cfg, d.fds, d.nfds);
	event_base_dispatch(d.base);

	metrics_stop(&d.metrics);
	server_stop(&d.srv);
	for (i = 0; i < d.nfds; i++) {
		const char *up = listen_unix_path(d.cfg->listen[i]);

		close(d.fds[i]);
		if (up != NULL)
			(void)unlink(up);
	}
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_base_free(d.base);
	config_unref(&d.cfg);
	msg_info("stopped");
	log_close();
	return 0;
}
