/*
 * pfcmd - Postfix's own postconf and postmap, run for vrcptctl audit:
 * fork and exec with a timeout (CTL_PF_TIMEOUT_MS) and an output bound
 * (CTL_PF_OUTPUT_MAX), input written and output read at once (poll),
 * so that neither side blocks on a full pipe.
 *
 * Depends on: ctl/ctl.h, util/; runs postconf and postmap from PATH.
 * Security: keys go to postmap on its standard input, never on its
 * command line, and a key with a line break is not sent (it would be
 * two keys). What the commands print is parsed here and printed
 * sanitised by the caller.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/xalloc.h"

/* pf_argv - PROG, with -c DIR when given; the number of arguments */
static size_t
pf_argv(const char *dir, const char *prog, char **argv)
{
	size_t	 n = 0;

	argv[n++] = (char *)prog;
	if (dir != NULL) {
		argv[n++] = (char *)"-c";
		argv[n++] = (char *)dir;
	}
	return n;
}

int
ctl_pf_run(char *const argv[], const char *in, size_t inlen, char **out_r,
    char **err_r)
{
	int	 pin[2], pout[2], perr[2], status, rc = -1;
	struct buf out, err;
	struct pollfd pfd[3];
	uint64_t deadline = clock_mono_us() +
	    (uint64_t)CTL_PF_TIMEOUT_MS * CLOCK_US_PER_MS;
	size_t	 off = 0;
	bool	 timed_out = false;
	pid_t	 pid;

	*out_r = NULL;
	*err_r = NULL;
	if (pipe2(pin, O_CLOEXEC) < 0)
		goto fail;
	if (pipe2(pout, O_CLOEXEC) < 0) {
		close(pin[0]);
		close(pin[1]);
		goto fail;
	}
	if (pipe2(perr, O_CLOEXEC) < 0) {
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		goto fail;
	}
	if ((pid = fork()) < 0) {
		close(pin[0]);
		close(pin[1]);
		close(pout[0]);
		close(pout[1]);
		close(perr[0]);
		close(perr[1]);
		goto fail;
	}
	if (pid == 0) {
		if (dup2(pin[0], 0) < 0 || dup2(pout[1], 1) < 0 ||
		    dup2(perr[1], 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	close(perr[1]);
	(void)fcntl(pin[1], F_SETFL, O_NONBLOCK);
	if (inlen == 0) {
		close(pin[1]);
		pin[1] = -1;
	}
	buf_init(&out, 0);
	buf_init(&err, 0);
	for (;;) {
		char	 chunk[16384];
		uint64_t now = clock_mono_us();
		ssize_t	 r;
		int	 i, np = 0;

		if (now >= deadline) {
			timed_out = true;
			break;
		}
		pfd[np].fd = pout[0];
		pfd[np++].events = POLLIN;
		pfd[np].fd = perr[0];
		pfd[np++].events = POLLIN;
		if (pin[1] >= 0) {
			pfd[np].fd = pin[1];
			pfd[np++].events = POLLOUT;
		}
		if (pout[0] < 0 && perr[0] < 0)
			break;
		for (i = 0; i < np; i++)
			if (pfd[i].fd < 0)
				pfd[i].events = 0;
		if (poll(pfd, (nfds_t)np, (int)((deadline - now) /
		    CLOCK_US_PER_MS) + 1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < np; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (pfd[i].fd == pin[1]) {
				r = write(pin[1], in + off, inlen - off);
				if (r > 0)
					off += (size_t)r;
				if ((r < 0 && errno != EAGAIN) ||
				    off == inlen) {
					close(pin[1]);
					pin[1] = -1;
				}
				continue;
			}
			r = read(pfd[i].fd, chunk, sizeof(chunk));
			if (r > 0) {
				buf_append(pfd[i].fd == pout[0] ? &out : &err,
				    chunk, (size_t)r);
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			if (pfd[i].fd == pout[0]) {
				close(pout[0]);
				pout[0] = -1;
			} else {
				close(perr[0]);
				perr[0] = -1;
			}
		}
		if (out.len > CTL_PF_OUTPUT_MAX ||
		    err.len > CTL_PF_OUTPUT_MAX) {
			timed_out = true;
			break;
		}
	}
	if (pin[1] >= 0)
		close(pin[1]);
	if (pout[0] >= 0)
		close(pout[0]);
	if (perr[0] >= 0)
		close(perr[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	buf_append(&err, "", 1);
	err.data[strcspn(err.data, "\n")] = '\0';
	if (timed_out) {
		*err_r = xasprintf("%s: no answer within %ums (or too much "
		    "output)", argv[0], CTL_PF_TIMEOUT_MS);
		buf_free(&out);
	} else {
		rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		*err_r = xstrdup(err.data);
		buf_append(&out, "", 1);
		*out_r = xstrdup(out.data);
		buf_free(&out);
	}
	buf_free(&err);
	return rc;
fail:
	*err_r = xasprintf("cannot run %s: %s", argv[0], strerror(errno));
	return -1;
}

int
ctl_pf_postconf(const char *dir, const char *const *names, size_t n,
    char **values, char **err_r)
{
	char	**argv, *out, *err, *p, *nl;
	size_t	 an, i;
	int	 rc;

	*err_r = NULL;
	argv = xcalloc(n + 8, sizeof(char *));
	an = pf_argv(dir, CTL_PF_POSTCONF, argv);
	argv[an++] = (char *)"-x";
	argv[an++] = (char *)"-h";
	for (i = 0; i < n; i++)
		argv[an++] = (char *)names[i];
	argv[an] = NULL;
	rc = ctl_pf_run(argv, NULL, 0, &out, &err);
	free(argv);
	if (rc != 0) {
		*err_r = xasprintf("postconf: %s", err[0] ? err : "failed");
		free(out);
		free(err);
		return -1;
	}
	free(err);
	/* one value a line, in the order asked */
	for (i = 0, p = out; i < n; i++, p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL) {
			*err_r = xasprintf("postconf: %zu values for %zu "
			    "parameters", i, n);
			while (i > 0)
				free(values[--i]);
			free(out);
			return -1;
		}
		*nl = '\0';
		values[i] = xstrdup(p);
	}
	free(out);
	return 0;
}

void
ctl_pf_postmap(const char *dir, const char *map, struct ctl_pfkey *k,
    size_t n)
{
	char	*argv[8], *out = NULL, *err = NULL, *line, *nl;
	struct buf in;
	size_t	 i, j = 0, klen, an;
	int	 rc;

	buf_init(&in, 0);
	for (i = 0; i < n; i++) {
		k[i].result = FACT_NOT_FOUND;
		if (strpbrk(k[i].key, "\r\n") != NULL) {
			k[i].result = FACT_UNAVAILABLE;
			k[i].why = xstrdup("a key with a line break");
			continue;
		}
		buf_append(&in, k[i].key, strlen(k[i].key));
		buf_append(&in, "\n", 1);
	}
	an = pf_argv(dir, CTL_PF_POSTMAP, argv);
	argv[an++] = (char *)"-q";
	argv[an++] = (char *)"-";
	/* proxy: needs a running Postfix; the table is the same without */
	argv[an++] = (char *)(strncmp(map, "proxy:", 6) == 0 ? map + 6 : map);
	argv[an] = NULL;
	rc = in.len > 0 ? ctl_pf_run(argv, in.data, in.len, &out, &err) : 0;
	buf_free(&in);
	/* output: "key<TAB>value" for the keys found, in their order */
	for (line = out; rc >= 0 && line != NULL && *line != '\0';
	    line = nl) {
		if ((nl = strchr(line, '\n')) != NULL)
			*nl++ = '\0';
		for (; j < n; j++) {
			klen = strlen(k[j].key);
			if (k[j].result != FACT_UNAVAILABLE &&
			    strncmp(line, k[j].key, klen) == 0 &&
			    line[klen] == '\t') {
				/* an empty result: dict_pgsql's "not found" */
				if (line[klen + 1] != '\0') {
					k[j].result = FACT_FOUND;
					k[j].value = xstrdup(line + klen + 1);
				}
				j++;
				break;
			}
		}
	}
	/* a lookup error ends postmap (msg_fatal): the keys after the last
	 * answer are unknown */
	if (rc < 0 || (err != NULL && strstr(err, "fatal:") != NULL))
		for (i = j; i < n; i++)
			if (k[i].result == FACT_NOT_FOUND) {
				k[i].result = FACT_UNAVAILABLE;
				k[i].why = xstrdup(err != NULL && *err ? err :
				    "postmap failed");
			}
	free(out);
	free(err);
}

