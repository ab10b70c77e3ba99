/*
 * pfconf - Postfix's parameter values from postconf(1). See pfconf.h.
 *
 * postconf runs with posix_spawn (safe in a threaded vrcptd reloading),
 * standard input /dev/null, its output and messages on two pipes read
 * with poll() until both close or PFCONF_TIMEOUT_MS passes (then it is
 * killed). Its environment is only PATH and LANG: nothing of vrcptd's
 * (MAIL_CONFIG, for one) changes what it reads.
 *
 * Depends on: libc, util/{buf,clock,strutil,xalloc}.
 *
 * Security: the output is bounded (PFCONF_OUT_MAX) and parsed strictly
 * ("name = value", a name of [A-Za-z0-9_]); postconf's messages are
 * cut at the first double quote (Postfix quotes offending text there)
 * and sanitised.
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/pfconf.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define PFCONF_ENV_PATH		"PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define PFCONF_ENV_LANG		"LANG=C"

void
pfconf_free(struct pfconf *pf)
{
	size_t	 i;

	for (i = 0; i < pf->n; i++) {
		free(pf->names[i]);
		free(pf->values[i]);
	}
	free(pf->names);
	free(pf->values);
	memset(pf, 0, sizeof(*pf));
}

const char *
pfconf_get(const struct pfconf *pf, const char *name, size_t len)
{
	size_t	 i;

	for (i = pf->n; i-- > 0;)
		if (strlen(pf->names[i]) == len &&
		    memcmp(pf->names[i], name, len) == 0)
			return pf->values[i];
	return NULL;
}

static bool
pfconf_namech(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

int
pfconf_parse(const char *text, size_t len, struct pfconf *pf)
{
	const char *cp = text, *end = text + len, *nl, *np, *vp;

	memset(pf, 0, sizeof(*pf));
	while (cp < end) {
		if ((nl = memchr(cp, '\n', (size_t)(end - cp))) == NULL)
			nl = end;
		for (np = cp; np < nl && pfconf_namech(*np); np++)
			;
		/* "name = value" or "name =" (an empty value) */
		if (np == cp || (size_t)(np - cp) > PFCONF_NAME_MAX ||
		    nl - np < 2 || np[0] != ' ' || np[1] != '=' ||
		    (nl - np > 2 && np[2] != ' ') ||
		    memchr(cp, '\0', (size_t)(nl - cp)) != NULL) {
			pfconf_free(pf);
			return -1;
		}
		vp = nl - np > 2 ? np + 3 : nl;
		pf->names = xreallocarray(pf->names, pf->n + 1,
		    sizeof(*pf->names));
		pf->values = xreallocarray(pf->values, pf->n + 1,
		    sizeof(*pf->values));
		pf->names[pf->n] = xstrndup(cp, (size_t)(np - cp));
		pf->values[pf->n] = xstrndup(vp, (size_t)(nl - vp));
		pf->n++;
		cp = nl + 1;
	}
	return 0;
}

/* pfconf_msg - postconf's last message, without quoted text (fresh) */
static char *
pfconf_msg(const struct buf *err)
{
	const char *s = buf_str(err), *last = s, *cp;
	char	 tmp[PFCONF_ERR_MAX + 4];
	size_t	 len;

	/* the fatal one is last; skip trailing newlines */
	len = err->len;
	while (len > 0 && s[len - 1] == '\n')
		len--;
	for (cp = s; cp < s + len; cp++)
		if (*cp == '\n')
			last = cp + 1;
	len = (size_t)(s + len - last);
	if ((cp = memchr(last, '"', len)) != NULL)
		len = (size_t)(cp - last);
	while (len > 0 && (last[len - 1] == ' ' || last[len - 1] == ':'))
		len--;
	if (len == 0)
		return xstrdup("(no message)");
	str_sanitize(tmp, last, len, PFCONF_ERR_MAX);
	return xstrdup(tmp);
}

/*
 * pfconf_drain - read what fd has into b; false at EOF. Past b's bound,
 * toolong != NULL: set it (the output is refused); NULL: keep the last
 * bytes (postconf's fatal message comes after its warnings)
 */
static bool
pfconf_drain(int fd, struct buf *b, bool *toolong)
{
	char	 chunk[PFCONF_ERR_MAX];
	ssize_t	 n;

	n = read(fd, chunk, sizeof(chunk));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	if (toolong == NULL && b->len + (size_t)n > b->max)
		buf_consume(b, b->len + (size_t)n - b->max);
	if (buf_append(b, chunk, (size_t)n) < 0 && toolong != NULL)
		*toolong = true;
	return true;
}

/* pfconf_spawn - start postconf with argv; its pipes in out/err */
static int
pfconf_spawn(char *const *argv, pid_t *pid, int *outfd, int *errfd,
    char **err_r)
{
	static char *const envp[] = { (char *)PFCONF_ENV_PATH,
	    (char *)PFCONF_ENV_LANG, NULL };
	posix_spawn_file_actions_t fa;
	int	 op[2] = { -1, -1 }, ep[2] = { -1, -1 }, rc;

	if (pipe2(op, O_CLOEXEC) < 0 || pipe2(ep, O_CLOEXEC) < 0) {
		*err_r = xasprintf("pipe: %s", strerror(errno));
		goto fail;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		*err_r = xasprintf("posix_spawn: %s", strerror(rc));
		goto fail;
	}
	if ((rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null",
	    O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, op[1], 1)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, ep[1], 2)) != 0 ||
	    (rc = posix_spawn(pid, PFCONF_POSTCONF, &fa, NULL, argv,
	    envp)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		*err_r = xasprintf("cannot run %s: %s", PFCONF_POSTCONF,
		    strerror(rc));
		goto fail;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(op[1]);
	close(ep[1]);
	*outfd = op[0];
	*errfd = ep[0];
	return 0;
fail:
	if (op[0] >= 0) {
		close(op[0]);
		close(op[1]);
	}
	if (ep[0] >= 0) {
		close(ep[0]);
		close(ep[1]);
	}
	return -1;
}

/*
 * pfconf_collect - read both pipes until they close or the deadline;
 * returns 0, or -1 on a timeout (the caller kills)
 */
static int
pfconf_collect(int outfd, int errfd, struct buf *out, struct buf *err,
    bool *toolong)
{
	struct pollfd pfd[2];
	uint64_t deadline = clock_mono_us() + PFCONF_TIMEOUT_MS * 1000ULL,
		 now;
	int	 n;

	pfd[0].fd = outfd;
	pfd[1].fd = errfd;
	pfd[0].events = pfd[1].events = POLLIN;
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		if ((now = clock_mono_us()) >= deadline)
			return -1;
		n = poll(pfd, 2, (int)((deadline - now) / 1000) + 1);
		if (n < 0 && errno != EINTR)
			return -1;
		if (n <= 0)
			continue;
		if (pfd[0].revents != 0 && !pfconf_drain(outfd, out, toolong))
			pfd[0].fd = -1;
		if (pfd[1].revents != 0 && !pfconf_drain(errfd, err, NULL))
			pfd[1].fd = -1;
	}
	return 0;
}

int
pfconf_query(const char *dir, const char *const *names, size_t n,
    struct pfconf *pf, char **err_r)
{
	struct buf out, err;
	char	**argv, *msg;
	pid_t	 pid, w;
	int	 outfd, errfd, status = 0, rc = -1;
	bool	 toolong = false, timedout;
	size_t	 i;

	memset(pf, 0, sizeof(*pf));
	*err_r = NULL;
	if (n > PFCONF_NAMES_MAX) {
		*err_r = xasprintf("more than %d names", PFCONF_NAMES_MAX);
		return -1;
	}
	/* postconf -c DIR -x NAME... */
	argv = xcalloc(n + 5, sizeof(*argv));
	argv[0] = xstrdup("postconf");
	argv[1] = xstrdup("-c");
	argv[2] = xstrdup(dir);
	argv[3] = xstrdup("-x");
	for (i = 0; i < n; i++)
		argv[4 + i] = xstrdup(names[i]);
	if (pfconf_spawn(argv, &pid, &outfd, &errfd, err_r) < 0)
		goto done;
	buf_init(&out, PFCONF_OUT_MAX);
	buf_init(&err, PFCONF_ERR_MAX);
	timedout = pfconf_collect(outfd, errfd, &out, &err, &toolong) < 0;
	close(outfd);
	close(errfd);
	if (timedout)
		(void)kill(pid, SIGKILL);
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (timedout)
		*err_r = xasprintf("%s did not finish within %ds",
		    PFCONF_POSTCONF, PFCONF_TIMEOUT_MS / 1000);
	else if (w < 0)
		*err_r = xasprintf("waitpid: %s", strerror(errno));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		msg = pfconf_msg(&err);
		*err_r = WIFEXITED(status) ? xasprintf("%s failed (exit "
		    "status %d): %s", PFCONF_POSTCONF, WEXITSTATUS(status),
		    msg) : xasprintf("%s was killed by signal %d",
		    PFCONF_POSTCONF, WTERMSIG(status));
		free(msg);
	} else if (toolong)
		*err_r = xasprintf("%s printed more than %d bytes",
		    PFCONF_POSTCONF, PFCONF_OUT_MAX);
	else if (pfconf_parse(buf_str(&out), out.len, pf) < 0)
		*err_r = xasprintf("%s printed a line that is not "
		    "\"name = value\"", PFCONF_POSTCONF);
	else
		rc = 0;
	buf_free(&out);
	buf_free(&err);
done:
	for (i = 0; i < n + 4; i++)
		free(argv[i]);
	free(argv);
	return rc;
}
