/*
 * params - the parameter table as data, and the prose of the reference
 * around it. See params.h (the table) and conf.h (the types).
 *
 * Depends on: conf/conf.h. No code: the loader (conf.c) and the
 * reference generator (confdoc.c) walk these arrays.
 */
#include <stddef.h>

#include "conf/conf.h"

const struct conf_param conf_params[CONF_NPARAMS] = {
#define CONF_X_ROW(sec, name, type, def, min, max, flags, help)	\
	{ #name, CONF_T_##type, CONF_SEC_##sec, def, min, max, flags,	\
	    help, offsetof(struct conf, name) },
	CONF_PARAMS(CONF_X_ROW)
#undef CONF_X_ROW
};

const char *const conf_section_titles[CONF_NSECTIONS] = {
	[CONF_SEC_LISTEN] = "LISTENING",
	[CONF_SEC_TABLES] = "ADDRESS CLASSES AND TABLES (as in Postfix)",
	[CONF_SEC_REPLIES] = "REPLIES (as Postfix's own)",
	[CONF_SEC_CLIENTS] = "CLIENT CONNECTIONS",
	[CONF_SEC_LOGGING] = "LOGGING",
	[CONF_SEC_RESOURCES] = "RESOURCES",
	[CONF_SEC_MILTER] = "MILTER (vrcpt-milter reads this file too; see "
	    "postfix-milter.cf)",
	[CONF_SEC_CACHE] = "CACHING",
};
