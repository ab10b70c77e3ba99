#ifndef VRCPT_SMAPREQ_H
#define VRCPT_SMAPREQ_H
/*
 * smapreq - one socketmap request (proto/socketmap.h) from a parsed
 * "name key" to its reply: the search of core/smap over the same
 * resolver as the policy requests (server/resolve: the in-process tier,
 * Redis, PostgreSQL, single flight), so the answers are cached and
 * invalidated with the rest.
 *
 * Replies, as Postfix's dict_sockmap.c reads them:
 *   OK value        found (the value as Postfix would use it)
 *   NOTFOUND        not found, or a key no table can hold
 *   TEMP reason     a lookup error, or request_timeout ran out (Postfix
 *                   defers, as it does when its own lookup fails); also
 *                   a "not found" resting on a stale cached answer while
 *                   PostgreSQL is down (a mailbox may have been created
 *                   since: bouncing or delivering unaliased would be
 *                   for good)
 *   PERM reason     an unknown map name (Postfix: a configuration error)
 *
 * A connection runs one request at a time (server/conn), so each has
 * one struct smapreq, made at accept and reused.
 */
#include <stddef.h>

struct conn;
struct gen;
struct smapreq;
struct worker;

#define SMAPREQ_ROUNDS_MAX	8	/* search steps; 1 or 2 are needed */

struct smapreq *smapreq_new(struct worker *w, struct conn *c);
/* smapreq_free - the connection goes: cancel what runs, free */
void	smapreq_free(struct smapreq **rp);
/*
 * smapreq_start - answer name[0..nlen) key[0..klen) (copied) on
 * generation g. Calls conn_done_reply() exactly once, maybe before
 * returning.
 */
void	smapreq_start(struct smapreq *r, struct gen *g, const char *name,
	    size_t nlen, const char *key, size_t klen);

#endif
