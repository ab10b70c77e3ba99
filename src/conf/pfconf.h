#ifndef VRCPT_CONF_PFCONF_H
#define VRCPT_CONF_PFCONF_H
/*
 * pfconf - parameter values of a Postfix instance, as Postfix itself
 * computes them: "postconf -c DIR -x NAME..." (main.cf read with
 * Postfix's own rules, $name expanded recursively, Postfix's defaults for
 * what main.cf does not set). Asking postconf is exact by construction;
 * a parser of our own would have to track every default Postfix computes
 * (myhostname, mydomain, relay_domains by compatibility_level, ...).
 *
 * Cost: one fork and exec per call (about 10ms), at start and at each
 * reload; never while answering.
 *
 * Depends on: libc, util/. Runs a program (PFCONF_POSTCONF) with a
 * fixed, minimal environment and no shell; its output is bounded
 * (PFCONF_OUT_MAX) and so is its run time (PFCONF_TIMEOUT_MS).
 *
 * Security: postconf's messages may quote a line of main.cf (which may
 * hold a password); pfconf_query() keeps only the text before the first
 * double quote of each message.
 */
#include <stddef.h>

#ifndef VRCPT_POSTCONF
#define VRCPT_POSTCONF		"/usr/sbin/postconf"
#endif
#define PFCONF_POSTCONF		VRCPT_POSTCONF
#define PFCONF_OUT_MAX		(4 * 1024 * 1024)  /* bytes of its output */
#define PFCONF_ERR_MAX		4096		/* bytes of its messages kept */
#define PFCONF_TIMEOUT_MS	10000		/* its whole run */
#define PFCONF_NAMES_MAX	512		/* names asked at once */
#define PFCONF_NAME_MAX		100		/* bytes of one name */

struct pfconf {
	char	**names;	/* as postconf printed them */
	char	**values;	/* expanded ("postconf -x") */
	size_t	 n;
};

/*
 * pfconf_query - ask postconf for names[0..n) of the Postfix instance
 * whose configuration directory is dir (absolute). A name postconf does
 * not know is absent from *pf (postconf warns and prints nothing for
 * it). Returns 0 and fills *pf (free with pfconf_free), or -1 and a
 * fresh message in *err_r (postconf's own, sanitised and without quoted
 * text, or why it could not run).
 */
int	pfconf_query(const char *dir, const char *const *names, size_t n,
	    struct pfconf *pf, char **err_r);
/* pfconf_get - the value of name[0..len), or NULL */
const char *pfconf_get(const struct pfconf *pf, const char *name,
	    size_t len);
/*
 * pfconf_parse - postconf's output text[0..len) ("name = value" lines)
 * into *pf; -1 (and *pf empty) when a line is not of that form. For
 * pfconf_query and tests.
 */
int	pfconf_parse(const char *text, size_t len, struct pfconf *pf);
void	pfconf_free(struct pfconf *pf);

#endif
