/*
 * fact - names for lookup outcomes and their sources, for traces, logs
 * and metric labels.
 *
 * Depends on: nothing but the header. Pure.
 *
 * Security: none; constant strings only.
 */
#include "core/fact.h"

/* fact_result_name - "found", "not_found" or "unavailable" */
const char *
fact_result_name(enum fact_result r)
{
	switch (r) {
	case FACT_FOUND:
		return "found";
	case FACT_NOT_FOUND:
		return "not_found";
	case FACT_UNAVAILABLE:
		return "unavailable";
	}
	return "invalid";
}

/* fact_source_name - "pure", "db", "cache_local" or "cache_redis" */
const char *
fact_source_name(enum fact_source s)
{
	switch (s) {
	case FACT_SRC_PURE:
		return "pure";
	case FACT_SRC_DB:
		return "db";
	case FACT_SRC_CACHE_LOCAL:
		return "cache_local";
	case FACT_SRC_CACHE_REDIS:
		return "cache_redis";
	}
	return "invalid";
}
