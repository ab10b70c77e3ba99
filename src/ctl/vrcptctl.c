/*
 * vrcptctl - the vrcpt admin tool.
 *
 *   vrcptctl [-c FILE] query [--direct] ADDRESS...
 *       what Postfix is told for each ADDRESS. By default the running
 *       vrcptd is asked on control_listen, through its caches, and says
 *       which tier answered (ctl/daemon.c); --direct runs the engine
 *       and the SQL here and prints every lookup (ctl/direct.c).
 *   vrcptctl [-c FILE] flush ADDRESS|@DOMAIN|--all
 *       drop cached answers in every vrcptd and in Redis (ctl/flush.c)
 *   vrcptctl [-c FILE] stats
 *       the running vrcptd's counters
 *   vrcptctl [-c FILE] check [-a] [--live]
 *       test the configuration; show every parameter set (-a: all) and
 *       where it comes from; --live: connect to what it names
 *   vrcptctl reference
 *       the commented reference configuration (deploy/vrcptd.cf)
 *
 * Exit codes: ctl/ctl.h (0 accepted, 1 rejected, 2 error, 3 temporary
 * failure), as postmap -q.
 *
 * Depends on: conf/, ctl/, store/mapload (the table file types).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/reference.h"
#include "ctl/ctl.h"
#include "store/mapload.h"
#include "util/buf.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: vrcptctl [-c config_file] [-o name=value] query "
	    "[--direct] ADDRESS...\n"
	    "       vrcptctl [-c config_file] [-o name=value] flush "
	    "ADDRESS|@DOMAIN|--all\n"
	    "       vrcptctl [-c config_file] [-o name=value] stats\n"
	    "       vrcptctl [-c config_file] [-o name=value] check [-a] "
	    "[--live]\n"
	    "       vrcptctl reference\n"
	    "exit: 0 accepted, 1 rejected, 2 error, 3 temporary failure\n");
	exit(CTL_EXIT_ERROR);
}

/* the command line after the options */
struct ctl_cmd {
	const char *name;
	bool	 direct;		/* query --direct */
	bool	 all;			/* check -a */
	bool	 live;			/* check --live */
	const char *flush;		/* flush's argument; NULL: --all */
	char	**addrs;		/* query's */
	int	 naddrs;
	unsigned what;			/* what to load of the configuration */
};

static void
ctl_parse(int argc, char **argv, struct ctl_cmd *c)
{
	int	 i;

	memset(c, 0, sizeof(*c));
	c->name = argv[0];
	c->what = CONF_C;
	if (strcmp(c->name, "query") == 0) {
		i = 1;
		if (i < argc && strcmp(argv[i], "--direct") == 0) {
			c->direct = true;
			c->what |= CONF_TABLES;
			i++;
		}
		if (i >= argc)
			usage();
		c->addrs = argv + i;
		c->naddrs = argc - i;
	} else if (strcmp(c->name, "flush") == 0) {
		if (argc != 2)
			usage();
		if (strcmp(argv[1], "all") == 0) {
			fprintf(stderr, "vrcptctl: flush all: say --all to "
			    "drop everything\n");
			exit(CTL_EXIT_ERROR);
		}
		c->flush = strcmp(argv[1], "--all") == 0 ? NULL : argv[1];
		c->what |= CONF_TABLES;
	} else if (strcmp(c->name, "stats") == 0) {
		if (argc != 1)
			usage();
	} else if (strcmp(c->name, "check") == 0) {
		for (i = 1; i < argc; i++) {
			if (strcmp(argv[i], "-a") == 0)
				c->all = true;
			else if (strcmp(argv[i], "--live") == 0)
				c->live = true;
			else
				usage();
		}
		/* everything any program of vrcpt reads */
		c->what |= CONF_D | CONF_M | CONF_TABLES;
	} else
		usage();
}

int
main(int argc, char **argv)
{
	const char *path = CONF_DEFAULT_PATH;
	struct conf_msgs msgs = { 0 };
	struct conf *cfg = NULL;
	const char *ov[CONF_OVERRIDES_MAX];
	struct ctl_cmd cmd;
	int	 ch, rc;
	size_t	 j, nov = 0;

	while ((ch = getopt(argc, argv, "+c:o:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			if (nov == CONF_OVERRIDES_MAX)
				usage();
			ov[nov++] = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	if (strcmp(argv[0], "reference") == 0) {
		struct buf b;
		bool	 man = argc == 2 && strcmp(argv[1], "--man") == 0;

		if (argc != 1 && !man)
			usage();
		buf_init(&b, 0);
		if (man)
			reference_man(&b);	/* vrcptd.cf(5) */
		else
			reference_cf(&b);
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
		return ferror(stdout) ? CTL_EXIT_ERROR : CTL_EXIT_OK;
	}
	ctl_parse(argc, argv, &cmd);

	mapload_register();	/* hash:, regexp:, ... tables */
	rc = conf_load(path, cmd.what, ov, nov, &cfg, &msgs);
	for (j = 0; j < msgs.n; j++)
		fprintf(stderr, "vrcptctl: %s\n", msgs.v[j]);
	conf_msgs_free(&msgs);
	if (rc < 0) {
		fprintf(stderr, "vrcptctl: %s: configuration errors\n", path);
		return CTL_EXIT_ERROR;
	}
	if (strcmp(cmd.name, "check") == 0) {
		rc = ctl_check(cfg, cmd.all);
		if (rc == CTL_EXIT_OK && cmd.live)
			rc = ctl_check_live(cfg);
	} else if (strcmp(cmd.name, "flush") == 0)
		rc = ctl_flush(cfg, cmd.flush);
	else if (strcmp(cmd.name, "stats") == 0)
		rc = ctl_stats(cfg);
	else if (cmd.direct)
		rc = ctl_query_direct(cfg, cmd.addrs, cmd.naddrs);
	else
		rc = ctl_query_daemon(cfg, cmd.addrs, cmd.naddrs);
	conf_unref(&cfg);
	return rc;
}
