#ifndef VRCPT_RCACHE_EV_H
#define VRCPT_RCACHE_EV_H
/*
 * rcache_ev - drive a hiredis async context from a libevent loop (our
 * own adapter: hiredis 0.14's adapters/libevent.h frees its events in
 * ways that race with redisAsyncFree() on error paths).
 *
 * Internal to src/store/ (rcache.c).
 */
struct event_base;
struct redisAsyncContext;

/*
 * rcache_ev_attach - install the event hooks of ac on base. Returns 0,
 * or -1 (out of memory in libevent, or ac already attached). The hooks
 * are removed and freed by hiredis (its cleanup hook) when ac is freed.
 */
int	rcache_ev_attach(struct redisAsyncContext *ac, struct event_base *base);

#endif
