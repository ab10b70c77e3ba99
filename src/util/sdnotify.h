#ifndef VRCPT_SDNOTIFY_H
#define VRCPT_SDNOTIFY_H
/*
 * sdnotify - systemd's readiness protocol (sd_notify(3)) without
 * libsystemd: one datagram of "NAME=value" lines to the unix socket that
 * $NOTIFY_SOCKET names (a path, or "@name" in the abstract namespace).
 * Without $NOTIFY_SOCKET (not started by systemd with Type=notify) it
 * does nothing.
 */
#include <stdbool.h>

#define SDNOTIFY_MAX	1024	/* bytes of one message */

/* sdnotify_enabled - $NOTIFY_SOCKET is set */
bool	sdnotify_enabled(void);
/*
 * sdnotify - send state, e.g. "READY=1\nSTATUS=serving" (printf-style).
 * 0 when sent or not wanted, -1 on failure (errno); callers log it once.
 */
int	sdnotify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
