/*
 * mapre - POSIX and PCRE2 engines for regexp: and pcre: tables. See
 * mapre.h.
 *
 * Depends on: libc regex, libpcre2-8, pthreads, core/mappat, util/.
 *
 * Security: the subject (a recipient key) is untrusted; it is passed
 * with its length, and offsets come back unchanged for core/mappat to
 * check. PCRE2's default match limits bound the work of a pattern.
 */
#include <pthread.h>
#include <regex.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH	8
#include <pcre2.h>

#include "core/mappat.h"
#include "store/mapre.h"
#include "util/xalloc.h"

#define MAPRE_ERR_MAX	256	/* bytes of an engine's error text */

/*
 * POSIX: dict_regexp.c.
 */

static void *
posix_compile(const char *re, unsigned opts, size_t *nsub_r, char **err_r)
{
	regex_t	*rx = xmalloc(sizeof(*rx));
	char	 buf[MAPRE_ERR_MAX];
	int	 flags = 0, rc;

	if (opts & MAPPAT_O_EXTENDED)
		flags |= REG_EXTENDED;
	if (opts & MAPPAT_O_ICASE)
		flags |= REG_ICASE;
	if (opts & MAPPAT_O_NEWLINE)
		flags |= REG_NEWLINE;
	if (opts & MAPPAT_O_NOSUB)
		flags |= REG_NOSUB;
	if ((rc = regcomp(rx, re, flags)) != 0) {
		/* dict_regexp_regerror() */
		regerror(rc, rx, buf, sizeof(buf));
		*err_r = xstrdup(buf);
		free(rx);
		return NULL;
	}
	*nsub_r = rx->re_nsub;
	return rx;
}

static int
posix_exec(const void *re, const char *s, size_t len, size_t *ovec,
    size_t npairs)
{
	regmatch_t pm[MAPPAT_SUB_MAX + 1];
	size_t	 i;
	int	 rc;

	(void)len;
	if (npairs > MAPPAT_SUB_MAX + 1)
		npairs = MAPPAT_SUB_MAX + 1;
	rc = regexec(re, s, npairs, npairs > 0 ? pm : NULL, 0);
	if (rc == REG_NOMATCH)
		return 0;
	if (rc != 0)
		return -1;
	for (i = 0; i < npairs; i++) {
		ovec[2 * i] = pm[i].rm_so < 0 ? MAPPAT_UNSET :
		    (size_t)pm[i].rm_so;
		ovec[2 * i + 1] = pm[i].rm_eo < 0 ? MAPPAT_UNSET :
		    (size_t)pm[i].rm_eo;
	}
	return 1;
}

static void
posix_free(void *re)
{
	regfree(re);
	free(re);
}

const struct mappat_engine mapre_posix = {
	posix_compile, posix_exec, posix_free
};

/*
 * PCRE2: dict_pcre.c.
 */

struct pcre_re {
	pcre2_code *code;
	uint32_t pairs;		/* capture groups + 1 */
};

/* the calling thread's match data, grown to the largest pattern seen */
static pthread_key_t pcre_md_key;
static pthread_once_t pcre_md_once = PTHREAD_ONCE_INIT;

static void
pcre_md_free(void *md)
{
	pcre2_match_data_free(md);
}

static void
pcre_md_init(void)
{
	if (pthread_key_create(&pcre_md_key, pcre_md_free) != 0)
		abort();
}

static pcre2_match_data *
pcre_md(uint32_t pairs)
{
	pcre2_match_data *md;

	pthread_once(&pcre_md_once, pcre_md_init);
	md = pthread_getspecific(pcre_md_key);
	if (md != NULL && pcre2_get_ovector_count(md) >= pairs)
		return md;
	pcre2_match_data_free(md);
	if ((md = pcre2_match_data_create(pairs, NULL)) == NULL)
		abort();	/* out of memory, as xmalloc */
	if (pthread_setspecific(pcre_md_key, md) != 0)
		abort();
	return md;
}

static void *
pcre_compile(const char *re, unsigned opts, size_t *nsub_r, char **err_r)
{
	struct pcre_re *p;
	PCRE2_UCHAR msg[MAPRE_ERR_MAX];
	PCRE2_SIZE off;
	uint32_t flags = 0, count;
	int	 err;
	pcre2_code *code;

	if (opts & MAPPAT_O_ICASE)
		flags |= PCRE2_CASELESS;
	if (opts & MAPPAT_O_NEWLINE)
		flags |= PCRE2_MULTILINE;
	if (opts & MAPPAT_O_DOTALL)
		flags |= PCRE2_DOTALL;
	if (opts & MAPPAT_O_EXTENDED)
		flags |= PCRE2_EXTENDED;
	if (opts & MAPPAT_O_ANCHORED)
		flags |= PCRE2_ANCHORED;
	if (opts & MAPPAT_O_DOLLAR_ENDONLY)
		flags |= PCRE2_DOLLAR_ENDONLY;
	if (opts & MAPPAT_O_UNGREEDY)
		flags |= PCRE2_UNGREEDY;
	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, flags,
	    &err, &off, NULL);
	if (code == NULL) {
		if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
			strcpy((char *)msg, "unknown error");
		*err_r = xasprintf("error in regex at offset %lu: %s",
		    (unsigned long)off, (char *)msg);
		return NULL;
	}
	if (pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &count) != 0)
		count = 0;
	p = xmalloc(sizeof(*p));
	p->code = code;
	p->pairs = count + 1;
	*nsub_r = count;
	return p;
}

static int
pcre_exec(const void *re, const char *s, size_t len, size_t *ovec,
    size_t npairs)
{
	const struct pcre_re *p = re;
	pcre2_match_data *md = pcre_md(p->pairs);
	PCRE2_SIZE *ov;
	uint32_t n;
	size_t	 i;
	int	 rc;

	rc = pcre2_match(p->code, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc <= 0)
		return -1;
	ov = pcre2_get_ovector_pointer(md);
	n = pcre2_get_ovector_count(md);
	for (i = 0; i < npairs; i++) {
		if (i < (size_t)rc && i < n && ov[2 * i] != PCRE2_UNSET) {
			ovec[2 * i] = ov[2 * i];
			ovec[2 * i + 1] = ov[2 * i + 1];
		} else {
			ovec[2 * i] = ovec[2 * i + 1] = MAPPAT_UNSET;
		}
	}
	return 1;
}

static void
pcre_free(void *re)
{
	struct pcre_re *p = re;

	pcre2_code_free(p->code);
	free(p);
}

const struct mappat_engine mapre_pcre = {
	pcre_compile, pcre_exec, pcre_free
};
