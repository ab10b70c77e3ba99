#ifndef VRCPT_FACT_H
#define VRCPT_FACT_H
/*
 * fact - the outcome of one table lookup, as the engine reasons about it.
 * "Backend down" is a value here, not an error path, so that fail-open
 * versus tempfail is decided in exactly one place (engine.c).
 */

enum fact_result {
	FACT_FOUND,		/* the key has a non-empty value */
	FACT_NOT_FOUND,		/* no row, only empty/NULL values, or query
				 * suppressed (pgsql_table(5) %u/%d rules) */
	FACT_UNAVAILABLE	/* lookup error: database down, timeout,
				 * expansion_limit exceeded (DICT_ERR_RETRY) */
};

/* where a fact came from, for traces, logs and metrics */
enum fact_source {
	FACT_SRC_PURE,		/* answered without I/O (list, inline:, static:,
				 * suppressed query, domain= filter) */
	FACT_SRC_DB,		/* PostgreSQL */
	FACT_SRC_CACHE_LOCAL,	/* in-process cache */
	FACT_SRC_CACHE_REDIS	/* Redis */
};

const char *fact_result_name(enum fact_result r);	/* "found", ... */
const char *fact_source_name(enum fact_source s);	/* "pure", "db", ... */

#endif
