/*
 * common - what the parts of vrcptctl share. See ctl.h.
 *
 * Depends on: conf/, store/{rcachesync,sentinel}, util/.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "ctl/ctl.h"
#include "store/rcachesync.h"
#include "store/sentinel.h"
#include "util/strutil.h"

const char *
printable(char *buf, const char *s)
{
	if (s == NULL)
		return "";
	return str_sanitize(buf, s, strlen(s), STR_SANITIZE_MAX);
}

bool
ctl_redis_on(const struct conf *cfg)
{
	return cfg->cache.kind != CONF_CACHE_NONE;
}

const char *
ctl_cache_text(const struct conf *cfg)
{
	static char buf[CONF_CACHE_TEXT_MAX + 1];

	return conf_cache_text(cfg, buf, sizeof(buf));
}

struct sentinel *
ctl_sentinel(const struct conf *cfg)
{
	struct sentinel_opts so;

	if (cfg->cache.kind != CONF_CACHE_SENTINEL)
		return NULL;
	memset(&so, 0, sizeof(so));
	so.group = &cfg->cache.sentinels;
	so.password = cfg->redis_sentinel_password;
	so.master_password = cfg->redis_password;
	so.db = cfg->redis_db;
	so.timeout_ms = CTL_REDIS_TIMEOUT_MS;
	so.watch = false;	/* asked when needed; vrcptctl does not flush
				 * a master because it is new to it */
	return sentinel_new(&so);
}

struct rcachesync *
ctl_redis(const struct conf *cfg)
{
	struct rcachesync_opts ro;
	struct rcachesync *rs;

	memset(&ro, 0, sizeof(ro));
	ro.endpoint = &cfg->cache.redis;
	ro.sentinel = ctl_sentinel(cfg);
	ro.password = cfg->redis_password;
	ro.db = cfg->redis_db;
	ro.timeout_ms = CTL_REDIS_TIMEOUT_MS;
	rs = rcachesync_new(&ro);
	sentinel_unref(&ro.sentinel);
	return rs;
}

/* ctl_word - action is the word w, alone or followed by text */
static bool
ctl_word(const char *action, const char *w)
{
	size_t	 n = strlen(w);

	return strncasecmp(action, w, n) == 0 &&
	    (action[n] == '\0' || action[n] == ' ');
}

int
ctl_exit_for(const char *decision, const char *action)
{
	if (decision == NULL || action == NULL)
		return CTL_EXIT_ERROR;
	if (strcmp(decision, "valid") == 0)
		return CTL_EXIT_OK;
	if (strcmp(decision, "unknown") == 0)
		return CTL_EXIT_REJECT;
	if (strcmp(decision, "failure") == 0)
		return CTL_EXIT_TEMPFAIL;
	/* not ours: other_domain_action, which may itself be a reply
	 * (access(5): "5xx text", "REJECT text", "DEFER text"); a
	 * restriction name is Postfix's to apply */
	if (action[0] == '5' || ctl_word(action, "REJECT"))
		return CTL_EXIT_REJECT;
	if (action[0] == '4' || ctl_word(action, "DEFER"))
		return CTL_EXIT_TEMPFAIL;
	return CTL_EXIT_OK;
}
