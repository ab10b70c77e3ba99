/*
 * vrcptd - the vrcpt policy daemon: main.
 *
 * Runs in the foreground (systemd, or a terminal). Reads the
 * configuration, opens the listeners, drops root when told to, starts
 * the workers and waits for signals: SIGTERM/SIGINT stop gracefully,
 * SIGHUP reloads (the new configuration is built beside the old one and
 * swapped in only if it is valid; parameters that need a restart are
 * named), SIGUSR1 reopens the log file. A table file (hash:, regexp:,
 * ...) that changes on disk, say rebuilt by postmap, makes the same
 * reload happen by itself within DAEMON_MAPCHECK_MS, as a Postfix daemon
 * restarts when dict_changed() (util/dict.c) sees a table change; a
 * change that does not load is not tried again until the files change
 * again.
 *
 * Depends on: everything. Security: privileges are dropped after the
 * sockets are bound and before any client is served.
 */
#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "server/listen.h"
#include "server/metrics.h"
#include "server/server.h"
#include "store/db.h"
#include "store/mapload.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/priv.h"
#include "util/sdnotify.h"
#include "util/xalloc.h"

#ifndef VRCPT_VERSION
#define VRCPT_VERSION "dev"
#endif

struct daemon {
	struct event_base *base;
	struct conf *cfg;
	const char *const *ov;	/* -o name=value, kept for reloads */
	size_t	 nov;
	struct server *srv;
	struct metrics_server *metrics;
	struct endpoint_list bound;	/* what the fds are bound to */
	int	 fds[CONF_LISTEN_MAX];
	struct endpoint ctl_ep;		/* control_listen as bound */
	int	 ctl_fd;		/* or -1 */
	struct event *ready_ev;		/* until READY=1 went out */
	struct event *status_ev;	/* STATUS= now and then */
	uint64_t start_us;
	bool	 ready;			/* READY=1 sent */
	bool	 notify_failed;		/* logged once */
	uint64_t maps_failed;	/* conf_maps_changed() sig of table files
				 * that failed to load (0: none) */
};

/* how often the table files are checked for a change (a stat() each) */
#define DAEMON_MAPCHECK_MS	1000

/* what vrcptd reads: its parameters and the tables */
#define DAEMON_CONF	(CONF_D | CONF_TABLES)
#define DAEMON_READY_POLL_MS	100	/* is a database connection up? */
#define DAEMON_READY_WAIT_MS	10000	/* READY=1 without one after this */
#define DAEMON_STATUS_MS	10000	/* STATUS= to systemd */
#define DAEMON_CONTROL_MODE	0600	/* control_listen: root and our user */

/*
 * open_control - the control_listen socket, or none. The default path
 * is a convenience (vrcptctl finds the daemon without being told):
 * when it cannot be created, say so and go on; a path the admin set
 * must work.
 */
static void
open_control(struct daemon *d)
{
	char	 err[LISTEN_ERR_LEN];
	bool	 deflt;

	d->ctl_ep = d->cfg->control_listen;
	d->ctl_fd = -1;
	if (d->ctl_ep.kind == ENDPOINT_NONE)
		return;
	d->ctl_fd = listen_open(&d->ctl_ep, DAEMON_CONTROL_MODE, (gid_t)-1,
	    err);
	if (d->ctl_fd >= 0)
		return;
	deflt = d->cfg->origin[CONF_P_control_listen].src == CONF_SRC_DEFAULT;
	if (!deflt)
		msg_fatal("%s %s: %s", CONF_NAME(control_listen),
		    d->ctl_ep.text, err);
	msg_warn("%s %s: %s; vrcptctl query and stats will not reach this "
	    "daemon (set %s to a path that can be created, or to nothing)",
	    CONF_NAME(control_listen), d->ctl_ep.text, err,
	    CONF_NAME(control_listen));
}

static void
usage(void)
{
	fprintf(stderr, "usage: vrcptd [-c config_file] [-o name=value] [-t] "
	    "[-v]\n"
	    "  -c FILE  configuration (default %s)\n"
	    "  -o N=V   override parameter N of that file (repeatable)\n"
	    "  -t       test the configuration and exit\n"
	    "  -v       verbose logging (repeat for more)\n",
	    CONF_DEFAULT_PATH);
	exit(2);
}

/* print_msgs - configuration messages go to stderr and the log */
static void
print_msgs(const struct conf_msgs *msgs, bool to_log)
{
	size_t i;

	for (i = 0; i < msgs->n; i++) {
		if (to_log)
			msg_info("%s", msgs->v[i]);
		else
			fprintf(stderr, "vrcptd: %s\n", msgs->v[i]);
	}
}

/* open_log - the configured destination; fatal only at start-up */
static int
open_log(const struct conf *cfg, bool fatal)
{
	const char *err;

	if (log_open_maillog(cfg->syslog_name, cfg->syslog_facility,
	    cfg->maillog_file, &err) == 0)
		return 0;
	if (fatal)
		msg_fatal("cannot open log: %s", err);
	msg_warn("cannot open log %s: %s; logging stays as it was",
	    cfg->maillog_file, err);
	return -1;
}

/*
 * notify - tell systemd (Type=notify); a failure is logged once: the
 * daemon works without it, systemd will say why it waits
 */
static void
notify(struct daemon *d, const char *state)
{
	if (sdnotify("%s", state) < 0 && !d->notify_failed) {
		msg_warn("NOTIFY_SOCKET: %s", strerror(errno));
		d->notify_failed = true;
	}
}

/* status - one line for systemctl status: what is going on */
static void
status(struct daemon *d)
{
	char	 msg[SDNOTIFY_MAX];

	if (!sdnotify_enabled())
		return;
	server_status(d->srv, msg, sizeof(msg));
	if (sdnotify("STATUS=%s", msg) < 0 && !d->notify_failed) {
		msg_warn("NOTIFY_SOCKET: %s", strerror(errno));
		d->notify_failed = true;
	}
}

/*
 * on_ready_check - READY=1 once the workers serve and the database has
 * answered (a connection is up), or after DAEMON_READY_WAIT_MS without
 * one: then vrcptd serves lookup_failure_action, and says so
 */
static void
on_ready_check(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	struct timeval tv = clock_tv_ms(DAEMON_READY_POLL_MS);
	bool	 db = d->cfg->ndbconfs == 0 || db_ready_connections() > 0;

	if (!db && clock_mono_us() - d->start_us <
	    DAEMON_READY_WAIT_MS * CLOCK_US_PER_MS) {
		evtimer_add(d->ready_ev, &tv);
		return;
	}
	if (!db)
		msg_warn("no PostgreSQL connection after %llus; serving "
		    "anyway (%s for what needs the database)",
		    (unsigned long long)(DAEMON_READY_WAIT_MS /
		    CLOCK_MS_PER_S), CONF_NAME(lookup_failure_action));
	d->ready = true;
	notify(d, "READY=1");
	status(d);
	msg_info("ready");
}

static void
on_status(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	if (d->ready)
		status(d);
}

static void
on_reopen(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	const char *err;

	if (log_reopen(&err) < 0)
		msg_warn("SIGUSR1: cannot reopen the log: %s", err);
	else
		msg_info("SIGUSR1: log reopened");
	(void)d;
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	msg_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopbreak(d->base);
}

/*
 * reload_restart_needed - log each changed parameter that a reload does
 * not apply (params.h: no CONF_LIVE)
 */
static void
reload_restart_needed(const struct conf *old, const struct conf *new)
{
	enum conf_param_id ids[CONF_NPARAMS];
	size_t i, n;

	n = conf_changed(old, new, CONF_D, ids);
	for (i = 0; i < n; i++)
		if (!(conf_params[ids[i]].flags & CONF_LIVE))
			msg_warn("reload: %s changed; it takes effect when "
			    "vrcptd is restarted", conf_params[ids[i]].name);
}

/* daemon_reload - load the configuration again and use it if valid */
static bool
daemon_reload(struct daemon *d)
{
	struct conf_msgs msgs = { 0 };
	struct conf *ncfg = NULL;

	notify(d, "RELOADING=1");
	if (conf_load(d->cfg->path, DAEMON_CONF, d->ov, d->nov, &ncfg,
	    &msgs) < 0) {
		print_msgs(&msgs, true);
		msg_warn("reload failed; still running with the previous "
		    "configuration");
		conf_msgs_free(&msgs);
		notify(d, "READY=1");
		return false;
	}
	print_msgs(&msgs, true);
	conf_msgs_free(&msgs);
	reload_restart_needed(d->cfg, ncfg);
	/* the log too: a new destination, or the same file after logrotate */
	(void)open_log(ncfg, false);
	server_reload(d->srv, ncfg);
	conf_unref(&d->cfg);
	d->cfg = ncfg;
	d->maps_failed = 0;
	msg_info("reload: new configuration in use");
	notify(d, "READY=1");
	status(d);
	return true;
}

static void
on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	msg_info("SIGHUP: reloading %s", d->cfg->path);
	(void)daemon_reload(d);
}

/* on_mapcheck - a table file changed: reload (once per change) */
static void
on_mapcheck(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	const char *path;
	uint64_t sig;

	if (!conf_maps_changed(d->cfg, &path, &sig) ||
	    (d->maps_failed != 0 && sig == d->maps_failed))
		return;
	msg_info("table %s has changed -- reloading %s", path, d->cfg->path);
	if (!daemon_reload(d))
		d->maps_failed = sig != 0 ? sig : 1;
}

int
main(int argc, char **argv)
{
	const char *path = CONF_DEFAULT_PATH;
	struct conf_msgs msgs = { 0 };
	struct daemon d = { 0 };
	struct event *ev_term, *ev_int, *ev_hup, *ev_usr1, *ev_maps;
	gid_t	 sock_gid;
	struct timeval tv;
	const char *ov[CONF_OVERRIDES_MAX];
	bool test_only = false;
	int ch, verbose = 0, rc;
	size_t i, nov = 0;

	while ((ch = getopt(argc, argv, "c:o:tvV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			if (nov == CONF_OVERRIDES_MAX) {
				fprintf(stderr, "vrcptd: more than %d -o "
				    "options\n", CONF_OVERRIDES_MAX);
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
			printf("vrcptd %s\n", VRCPT_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	d.ov = ov;
	d.nov = nov;
	mapload_register();	/* hash:, regexp:, ... tables */
	rc = conf_load(path, DAEMON_CONF, ov, nov, &d.cfg, &msgs);
	print_msgs(&msgs, false);
	conf_msgs_free(&msgs);
	if (rc < 0) {
		fprintf(stderr, "vrcptd: fatal: %s: configuration errors\n",
		    path);
		return 1;
	}
	if (test_only) {
		conf_unref(&d.cfg);
		return 0;
	}
	open_log(d.cfg, true);
	log_set_verbose(verbose);
	signal(SIGPIPE, SIG_IGN);

	d.bound = d.cfg->listen;
	sock_gid = priv_socket_group(d.cfg->listen_group,
	    d.cfg->origin[CONF_P_listen_group].src == CONF_SRC_DEFAULT,
	    CONF_NAME(listen_group));
	for (i = 0; i < d.bound.n; i++) {
		char err[LISTEN_ERR_LEN];

		d.fds[i] = listen_open(&d.bound.v[i], d.cfg->listen_mode,
		    sock_gid, err);
		if (d.fds[i] < 0)
			msg_fatal("%s %s: %s", CONF_NAME(listen),
			    d.bound.v[i].text, err);
	}
	open_control(&d);
	if ((d.base = event_base_new()) == NULL)
		msg_fatal("event_base_new failed");
	if (d.cfg->metrics_listen.kind != ENDPOINT_NONE) {
		const char *err;

		d.metrics = metrics_start(d.base, &d.cfg->metrics_listen,
		    d.cfg->listen_mode, sock_gid, d.cfg->ndbconfs > 0, &err);
		if (d.metrics == NULL)
			msg_fatal("%s %s: %s", CONF_NAME(metrics_listen),
			    d.cfg->metrics_listen.text, err);
		msg_info("metrics on %s", d.cfg->metrics_listen.text);
	}
	priv_drop(d.cfg->user);

	ev_term = evsignal_new(d.base, SIGTERM, on_stop, &d);
	ev_int = evsignal_new(d.base, SIGINT, on_stop, &d);
	ev_hup = evsignal_new(d.base, SIGHUP, on_reload, &d);
	ev_usr1 = evsignal_new(d.base, SIGUSR1, on_reopen, &d);
	event_add(ev_usr1, NULL);
	event_add(ev_term, NULL);
	event_add(ev_int, NULL);
	event_add(ev_hup, NULL);

	msg_info("vrcptd %s starting", VRCPT_VERSION);
	for (i = 0; i < d.bound.n; i++)
		msg_info("listening on %s", d.bound.v[i].text);
	if (d.ctl_fd >= 0)
		msg_info("control on %s", d.ctl_ep.text);
	server_raise_nofile(d.cfg);
	d.start_us = clock_mono_us();
	d.srv = server_start(d.cfg, d.fds, d.bound.n, d.ctl_fd);
	if (d.metrics != NULL)
		metrics_set_cache(d.metrics, server_cache(d.srv));
	d.ready_ev = evtimer_new(d.base, on_ready_check, &d);
	d.status_ev = event_new(d.base, -1, EV_PERSIST, on_status, &d);
	if (d.ready_ev == NULL || d.status_ev == NULL)
		msg_fatal("event_new: out of memory");
	tv = clock_tv_ms(0);
	evtimer_add(d.ready_ev, &tv);
	tv = clock_tv_ms(DAEMON_STATUS_MS);
	event_add(d.status_ev, &tv);
	ev_maps = event_new(d.base, -1, EV_PERSIST, on_mapcheck, &d);
	if (ev_maps == NULL)
		msg_fatal("event_new: out of memory");
	tv = clock_tv_ms(DAEMON_MAPCHECK_MS);
	event_add(ev_maps, &tv);
	event_base_dispatch(d.base);
	notify(&d, "STOPPING=1");

	/* no new clients from now on; those connected finish (drain) */
	for (i = 0; i < d.bound.n; i++)
		listen_unlink(&d.bound.v[i]);
	metrics_stop(&d.metrics);
	server_stop(&d.srv);
	for (i = 0; i < d.bound.n; i++)
		close(d.fds[i]);
	if (d.ctl_fd >= 0)
		listen_close(&d.ctl_ep, d.ctl_fd);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(ev_usr1);
	event_free(ev_maps);
	event_free(d.ready_ev);
	event_free(d.status_ev);
	event_base_free(d.base);
	conf_unref(&d.cfg);
	msg_info("stopped");
	log_close();
	return 0;
}
