#ifndef VRCPT_CONF_LOAD_H
#define VRCPT_CONF_LOAD_H
/*
 * load - what conf.c and tables.c share while a configuration is being
 * loaded. Internal to src/conf/.
 */
#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

#define CONF_LIST_SEP	", \t\r\n"	/* Postfix CHARS_COMMA_SP */

struct tables_cached;

struct conf_ld {
	const char *path;	/* vrcptd.cf, for messages */
	char	*dir;		/* its directory, for relative .cf paths */
	struct sqlmap_cf cf;	/* its assignments */
	const char *const *ov;	/* -o name=value */
	size_t	 nov;
	struct conf *cfg;	/* being built */
	struct conf_msgs *msgs;
	size_t	 nerrors;
	unsigned long steps;	/* expansion work so far */
	char	**undef;	/* undefined $names already warned about */
	size_t	 nundef;
	bool	 bad[CONF_NPARAMS];	/* its value could not be read */
	struct tables_cached *cache;	/* tables.c: each table once */
	size_t	 ncache;
	unsigned nsql;		/* sqlmap ids handed out */
};

/* messages: conf_err/conf_warn free msg; o and pname say where */
void	conf_msg_add(struct conf_msgs *msgs, char *m);
/* conf_msg_lines - add each line of text; count errors in *count */
void	conf_msg_lines(struct conf_msgs *msgs, const char *text,
	    size_t *count);
void	conf_err(struct conf_ld *ld, const struct conf_origin *o,
	    const char *pname, char *msg);
void	conf_warn(struct conf_ld *ld, const struct conf_origin *o,
	    const char *pname, char *msg);
/* conf_quote - a bounded printable copy of a value (fresh) */
char	*conf_quote(const char *s);

/* conf_entry - the last assignment of name[0..len) in the file, or NULL */
const struct sqlmap_cf_entry *conf_entry(const struct conf_ld *ld,
	    const char *name, size_t len);
/*
 * conf_tok - the next list element (Postfix mystrtokq with CHARS_BRACE):
 * separated by commas and white space, "{...}" kept whole; NULL at the
 * end. Writes NULs into *sp.
 */
char	*conf_tok(char **sp);
/* conf_read_file - a whole file, at most max bytes; 0 / -1 + errno
 * (EFBIG: too large) */
int	conf_read_file(const char *path, size_t max, char **text_r,
	    size_t *len_r);

#endif
