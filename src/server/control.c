/*
 * control - replies on control_listen. See control.h.
 *
 * Depends on: core/engine, proto/control, server/{cache,stats},
 * store/db (connection count), util/.
 */
#include <stdio.h>

#include "core/engine.h"
#include "proto/control.h"
#include "server/cache.h"
#include "server/control.h"
#include "server/stats.h"
#include "store/db.h"
#include "util/buf.h"

void
control_query_reply(struct buf *b, const struct verdict *v,
    const char *tier, unsigned nstale, uint64_t delay_us)
{
	control_attr(b, "action", v->action);
	control_attr(b, "decision", verdict_kind_name(v->kind));
	control_attr(b, "class", domain_class_name(v->dclass));
	control_attr(b, "tier", tier);
	if (v->code != 0) {
		control_attr_u(b, "code", v->code);
		control_attr(b, "dsn", v->dsn);
		control_attr(b, "text", v->text);
	}
	control_attr(b, "warn_only", v->warn_only ? "yes" : "no");
	control_attr_u(b, "stale", nstale);
	control_attr_u(b, "delay_us", delay_us);
	control_end(b);
}

void
control_stats_reply(struct buf *b, struct cache *cache)
{
	static const enum verdict_kind kinds[] = { VERDICT_VALID,
	    VERDICT_UNKNOWN, VERDICT_FAILURE, VERDICT_NOT_HANDLED };
	char	 name[64];
	size_t	 entries, bytes, i;
	uint64_t sum;
	unsigned c;

	stats_format(b, "\n");
	buf_puts(b, "\n");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		sum = 0;
		for (c = 0; c < STATS_NCLASSES; c++)
			sum += stats_decisions(kinds[i], c);
		snprintf(name, sizeof(name), "decided_%s",
		    verdict_kind_name(kinds[i]));
		control_attr_u(b, name, sum);
	}
	cache_size(cache, &entries, &bytes);
	control_attr_u(b, "local_entries", entries);
	control_attr_u(b, "local_bytes", bytes);
	control_attr_u(b, "cache_trusted", cache_trusted(cache) ? 1 : 0);
	control_attr_u(b, "db_connections_up", db_ready_connections());
	control_end(b);
}

void
control_error_reply(struct buf *b, const char *text)
{
	control_attr(b, "error", text);
	control_end(b);
}
