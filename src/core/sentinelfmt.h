#ifndef VRCPT_SENTINELFMT_H
#define VRCPT_SENTINELFMT_H
/*
 * sentinelfmt - what Redis and Redis Sentinel say about a master, pure:
 * the replication history a master is in (the master_replid line of
 * INFO replication: a promotion and a restart each start a new one),
 * and whether a Sentinel's "+switch-master" message is about our
 * master. store/sentinel asks; this reads the answers.
 *
 * Depends on: libc. No I/O.
 * Security: every text comes from the network (a Sentinel, a Redis):
 * lengths are given, NUL bytes are data, nothing is copied unchecked.
 */
#include <stdbool.h>
#include <stddef.h>

#define SENTINELFMT_REPLID_MAX	40	/* hex digits of a replication id */
#define SENTINELFMT_SWITCH_CHANNEL "+switch-master"

/*
 * sentinelfmt_replid - the value of the "master_replid:" line of an
 * INFO replication reply text[0..len) (lines end in CRLF or LF) into
 * replid, NUL-terminated. Returns 0, or -1 when there is no such line
 * or its value is not 1..SENTINELFMT_REPLID_MAX lower-case hex digits.
 */
int	sentinelfmt_replid(const char *text, size_t len,
	    char replid[SENTINELFMT_REPLID_MAX + 1]);

/*
 * sentinelfmt_switch_of - the payload[0..len) of a "+switch-master"
 * message ("NAME OLDIP OLDPORT NEWIP NEWPORT") is about master name.
 * The addresses are not taken from it: a switch only means "ask again".
 */
bool	sentinelfmt_switch_of(const char *payload, size_t len,
	    const char *name);

#endif
