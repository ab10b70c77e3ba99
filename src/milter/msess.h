#ifndef VRCPT_MSESS_H
#define VRCPT_MSESS_H
/*
 * msess - vrcpt-milter's libmilter callbacks and the per-session state
 * they keep (SMFICTX private data): what milter.c registers with
 * smfi_register(), apart from main(), so that a test can drive the very
 * callbacks the MTA drives (tests/fuzz/fuzz_milter_session.c).
 *
 * Depends on: libmilter (types, smfi_getpriv/setpriv/getsymval/setreply/
 * setsymlist), util/, proto/milter_map.h, client/pclient.h.
 */
#include <stdbool.h>

#include <libmilter/mfapi.h>

#include "core/engine.h"
#include "client/pclient.h"

#define MSESS_NAME	"vrcpt-milter"

/* what every session shares; read-only once smfi_main() runs */
struct msess_opts {
	struct pclient *pc;		/* where to ask (borrowed) */
	enum lookup_failure_action lfa;	/* when vrcptd gives no answer */
	bool	 log_reject;		/* Postfix-shaped reject lines */
	bool	 log_accept;		/* and accept lines */
	unsigned pid;			/* for the instance attribute */
};

/*
 * msess_init - set the shared options (copied; pc stays the caller's)
 * and fill desc with the name, version, flags and callbacks to register.
 * Call before smfi_main() (or before driving the callbacks directly).
 */
void	msess_init(const struct msess_opts *opts, struct smfiDesc *desc);

#endif
