/*
 * rcache_ev - a libevent adapter for hiredis async contexts. See
 * rcache_ev.h.
 *
 * hiredis asks for read and write interest through five hooks; we keep
 * one persistent read event and one persistent write event on the
 * context's socket and add or delete them. The cleanup hook frees both
 * events and the adapter; it is the last thing hiredis does with them,
 * so the event callbacks never touch the adapter after handing control
 * to hiredis (which may free it inside redisAsyncHandleRead/Write).
 *
 * Depends on: libevent (core), hiredis, util/.
 * Security: nothing here reads data; hiredis does.
 */
#include <stdbool.h>
#include <stdlib.h>

#include <event2/event.h>
#include <hiredis/async.h>

#include "store/rcache_ev.h"
#include "util/xalloc.h"

struct rcache_ev {
	redisAsyncContext *ac;
	struct event *rev, *wev;
	bool	 reading, writing;
};

static void
ev_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rcache_ev *e = arg;

	redisAsyncHandleRead(e->ac);	/* may free e */
}

static void
ev_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rcache_ev *e = arg;

	redisAsyncHandleWrite(e->ac);	/* may free e */
}

static void
ev_add_read(void *privdata)
{
	struct rcache_ev *e = privdata;

	if (!e->reading) {
		event_add(e->rev, NULL);
		e->reading = true;
	}
}

static void
ev_del_read(void *privdata)
{
	struct rcache_ev *e = privdata;

	if (e->reading) {
		event_del(e->rev);
		e->reading = false;
	}
}

static void
ev_add_write(void *privdata)
{
	struct rcache_ev *e = privdata;

	if (!e->writing) {
		event_add(e->wev, NULL);
		e->writing = true;
	}
}

static void
ev_del_write(void *privdata)
{
	struct rcache_ev *e = privdata;

	if (e->writing) {
		event_del(e->wev);
		e->writing = false;
	}
}

static void
ev_cleanup(void *privdata)
{
	struct rcache_ev *e = privdata;

	if (e == NULL)
		return;
	event_free(e->rev);
	event_free(e->wev);
	e->ac->ev.data = NULL;
	free(e);
}

int
rcache_ev_attach(redisAsyncContext *ac, struct event_base *base)
{
	struct rcache_ev *e;

	if (ac->ev.data != NULL)
		return -1;
	e = xcalloc(1, sizeof(*e));
	e->ac = ac;
	e->rev = event_new(base, ac->c.fd, EV_READ | EV_PERSIST, ev_read_cb,
	    e);
	e->wev = event_new(base, ac->c.fd, EV_WRITE | EV_PERSIST, ev_write_cb,
	    e);
	if (e->rev == NULL || e->wev == NULL) {
		if (e->rev != NULL)
			event_free(e->rev);
		if (e->wev != NULL)
			event_free(e->wev);
		free(e);
		return -1;
	}
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	ac->ev.data = e;
	return 0;
}
