/*
 * stats - the process-wide counters (see stats.h).
 *
 * Depends on: nothing. Security: none.
 */
#include "server/stats.h"

struct stats stats;
