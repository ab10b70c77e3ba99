/*
 * check_endpoint - the one parser of endpoint strings: the forms each
 * parameter takes, the canonical text, libmilter's smfi_setconn() form,
 * and everything refused; Sentinel groups ("cache = redis-sentinel:")
 * and the master addresses a Sentinel replies with (untrusted bytes).
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "conf/endpoint.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))
#define ANY	ENDPOINT_ANY_HOST
#define BARE	ENDPOINT_BARE_INET
#define MILT	(ENDPOINT_ANY_HOST | ENDPOINT_MILTER)
#define UNIX	ENDPOINT_UNIX_ONLY

static const struct ep_case {
	const char *in;
	unsigned flags;
	const char *text;	/* canonical; NULL: refused */
	const char *milter;	/* smfi_setconn() form */
} ep_cases[] = {
	{ "", 0, "", "" },
	{ "unix:/run/vrcpt/policy.sock", 0, "unix:/run/vrcpt/policy.sock",
	  "unix:/run/vrcpt/policy.sock" },
	{ "inet:127.0.0.1:10023", 0, "inet:127.0.0.1:10023",
	  "inet:10023@127.0.0.1" },
	{ "inet:localhost:10024", 0, "inet:localhost:10024",
	  "inet:10024@localhost" },
	{ "inet:[::1]:10024", 0, "inet:[::1]:10024", "inet6:10024@[::1]" },
	{ "inet:::1:10024", 0, "inet:[::1]:10024", "inet6:10024@[::1]" },
	{ "inet:10024", ANY, "inet:10024", "inet:10024" },
	{ "inet:10024", 0, NULL, NULL },
	/* libmilter's own forms, for milter_listen */
	{ "local:/run/vrcpt/milter.sock", MILT, "unix:/run/vrcpt/milter.sock",
	  "unix:/run/vrcpt/milter.sock" },
	{ "inet:10024@127.0.0.1", MILT, "inet:127.0.0.1:10024",
	  "inet:10024@127.0.0.1" },
	{ "inet6:10024@[::1]", MILT, "inet:[::1]:10024", "inet6:10024@[::1]" },
	{ "inet6:10024", MILT, "inet:10024", "inet6:10024" },
	{ "local:/run/m.sock", 0, NULL, NULL },
	{ "inet:10024@127.0.0.1", 0, NULL, NULL },
	/* control_listen: unix only */
	{ "unix:/run/vrcpt/control.sock", UNIX, "unix:/run/vrcpt/control.sock",
	  "unix:/run/vrcpt/control.sock" },
	{ "inet:127.0.0.1:10025", UNIX, NULL, NULL },
	{ "inet:10025", UNIX | ANY, NULL, NULL },
	{ "local:/run/vrcpt/control.sock", UNIX | MILT, NULL, NULL },
	{ "127.0.0.1:6379", UNIX | BARE, NULL, NULL },
	/* redis:host:port */
	{ "127.0.0.1:6379", BARE, "inet:127.0.0.1:6379",
	  "inet:6379@127.0.0.1" },
	{ "[::1]:6379", BARE, "inet:[::1]:6379", "inet6:6379@[::1]" },
	{ "127.0.0.1:6379", 0, NULL, NULL },
	/* refused everywhere */
	{ "unix:relative", MILT, NULL, NULL },
	{ "unix:", MILT, NULL, NULL },
	{ "inet:", MILT, NULL, NULL },
	{ "inet:host:", MILT, NULL, NULL },
	{ "inet::10024", MILT, NULL, NULL },
	{ "inet:host:port", MILT, NULL, NULL },
	{ "inet:[::1]10024", MILT, NULL, NULL },
	{ "inet:[]:10024", MILT, NULL, NULL },
	{ "inet:h:0", MILT, NULL, NULL },
	{ "inet:h:65536", MILT, NULL, NULL },
	{ "inet:h:123456", MILT, NULL, NULL },
	{ "inet:123456@h", MILT, NULL, NULL },
	{ "inet:10024@", MILT, NULL, NULL },
	{ "inet:h st:25", MILT, NULL, NULL },
	{ "inet:h/x:25", MILT, NULL, NULL },
	{ "tcp:127.0.0.1:10024", MILT | BARE, NULL, NULL },
};

START_TEST(parse)
{
	const struct ep_case *c = &ep_cases[_i];
	struct endpoint ep;
	const char *hint = NULL;
	char	 spec[ENDPOINT_TEXT_MAX + 16];
	int	 rc = endpoint_parse(c->in, c->flags, &ep, &hint);

	ck_assert_ptr_nonnull(hint);
	if (c->text == NULL) {
		ck_assert_msg(rc == -1, "\"%s\" accepted as %s", c->in,
		    ep.text);
		ck_assert_int_eq(ep.kind, ENDPOINT_NONE);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\" refused", c->in);
	ck_assert_str_eq(ep.text, c->text);
	ck_assert_str_eq(endpoint_milter_spec(&ep, spec, sizeof(spec)),
	    c->milter);
}
END_TEST

/* a unix path that barely fits sun_path, and one byte over */
START_TEST(path_limit)
{
	char	 in[8 + ENDPOINT_PATH_MAX + 2];
	struct endpoint ep;
	const char *hint;

	memcpy(in, "unix:/", 6);
	memset(in + 6, 'p', ENDPOINT_PATH_MAX - 1);
	in[5 + ENDPOINT_PATH_MAX] = '\0';
	ck_assert_int_eq(endpoint_parse(in, 0, &ep, &hint), 0);
	ck_assert_uint_eq(strlen(ep.path), ENDPOINT_PATH_MAX);
	in[5 + ENDPOINT_PATH_MAX] = 'p';
	in[6 + ENDPOINT_PATH_MAX] = '\0';
	ck_assert_int_eq(endpoint_parse(in, 0, &ep, &hint), -1);
}
END_TEST

/* redis-sentinel:GROUP, after the prefix */
static const struct sg_case {
	const char *in;
	const char *text;	/* canonical; NULL: refused */
	size_t	 n;		/* Sentinels */
	const char *master;
} sg_cases[] = {
	{ "127.0.0.1:26379/mymaster", "127.0.0.1:26379/mymaster", 1,
	  "mymaster" },
	{ "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster",
	  "10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster", 3,
	  "mymaster" },
	{ "s1.example:26379, s2.example:26380 ,\ts3:1/cache-1.main_x",
	  "s1.example:26379,s2.example:26380,s3:1/cache-1.main_x", 3,
	  "cache-1.main_x" },
	{ "[::1]:26379,::1:26380/m", "[::1]:26379,[::1]:26380/m", 2, "m" },
	{ "h:65535/M", "h:65535/M", 1, "M" },
	/* refused */
	{ "", NULL, 0, NULL },
	{ "/mymaster", NULL, 0, NULL },
	{ "127.0.0.1:26379", NULL, 0, NULL },
	{ "127.0.0.1:26379/", NULL, 0, NULL },
	{ "127.0.0.1/mymaster", NULL, 0, NULL },
	{ ":26379/mymaster", NULL, 0, NULL },
	{ "h:0/m", NULL, 0, NULL },
	{ "h:65536/m", NULL, 0, NULL },
	{ "h:1,/m", NULL, 0, NULL },
	{ ",h:1/m", NULL, 0, NULL },
	{ "h:1,,h:2/m", NULL, 0, NULL },
	{ "h:1, /m", NULL, 0, NULL },
	{ "h:1,h:1/m", NULL, 0, NULL },
	{ "h:1,H:1/m", "h:1,H:1/m", 2, "m" },	/* names are not resolved */
	{ "h:1/m/x", NULL, 0, NULL },
	{ "h:1/my master", NULL, 0, NULL },
	{ "h:1/m:x", NULL, 0, NULL },
	{ "h:1/m,h:2", NULL, 0, NULL },
	{ "inet:h:1/m", NULL, 0, NULL },
	{ "unix:/run/sentinel.sock/m", NULL, 0, NULL },
	{ "h h:1/m", NULL, 0, NULL },
	{ "[::1]26379/m", NULL, 0, NULL },
};

/* stack_dirty - leave junk where the parser's locals will be */
static void __attribute__((noinline))
stack_dirty(void)
{
	volatile char junk[4 * sizeof(struct endpoint)];

	memset((char *)junk, 0x5a, sizeof(junk));
}

START_TEST(sentinels)
{
	const struct sg_case *c = &sg_cases[_i];
	struct endpoint_sentinels es;
	struct endpoint back;
	const char *hint = NULL;
	size_t	 i;
	int	 rc;

	stack_dirty();
	rc = endpoint_parse_sentinels(c->in, &es, &hint);

	ck_assert_ptr_nonnull(hint);
	if (c->text == NULL) {
		ck_assert_msg(rc == -1, "\"%s\" accepted as %s", c->in,
		    es.text);
		ck_assert_uint_eq(es.n, 0);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\" refused", c->in);
	ck_assert_str_eq(es.text, c->text);
	ck_assert_uint_eq(es.n, c->n);
	ck_assert_str_eq(es.master, c->master);
	ck_assert_int_eq(es.v[0].kind, ENDPOINT_INET);
	/* every field determined, as endpoint_parse() leaves them (the
	 * path was stack junk: found by fuzz_endpoint) */
	for (i = 0; i < es.n; i++) {
		ck_assert_int_eq(endpoint_parse(es.v[i].text, 0, &back,
		    &hint), 0);
		ck_assert_str_eq(es.v[i].path, back.path);
		ck_assert_str_eq(es.v[i].host, back.host);
		ck_assert_str_eq(es.v[i].text, back.text);
		ck_assert_uint_eq(es.v[i].port, back.port);
		ck_assert_int_eq(es.v[i].v6, back.v6);
	}
}
END_TEST

/* the limits: sentinels, the master name, a host name */
START_TEST(sentinels_limits)
{
	char	 in[ENDPOINT_SENTINELS_TEXT_MAX + 64];
	char	 name[ENDPOINT_MASTER_MAX + 2];
	struct endpoint_sentinels es;
	const char *hint;
	size_t	 i, len = 0;

	/* ENDPOINT_SENTINELS_MAX of the longest host names fit */
	for (i = 0; i < ENDPOINT_SENTINELS_MAX; i++) {
		memset(in + len, 'h', ENDPOINT_HOST_MAX);
		len += ENDPOINT_HOST_MAX;
		len += (size_t)snprintf(in + len, sizeof(in) - len, ":%zu,",
		    60000 + i);
	}
	memset(name, 'n', ENDPOINT_MASTER_MAX);
	name[ENDPOINT_MASTER_MAX] = '\0';
	snprintf(in + len - 1, sizeof(in) - len + 1, "/%s", name);
	ck_assert_int_eq(endpoint_parse_sentinels(in, &es, &hint), 0);
	ck_assert_uint_eq(es.n, ENDPOINT_SENTINELS_MAX);
	ck_assert_uint_eq(strlen(es.text), strlen(in));
	/* one master name character over */
	strcat(in, "n");
	ck_assert_int_eq(endpoint_parse_sentinels(in, &es, &hint), -1);
	/* one Sentinel over */
	snprintf(in, sizeof(in), "h:1");
	for (i = 1; i <= ENDPOINT_SENTINELS_MAX; i++) {
		len = strlen(in);
		snprintf(in + len, sizeof(in) - len, ",h:%zu", i + 1);
	}
	strcat(in, "/m");
	ck_assert_int_eq(endpoint_parse_sentinels(in, &es, &hint), -1);
	/* a host name one byte over */
	memset(in, 'h', ENDPOINT_HOST_MAX + 1);
	snprintf(in + ENDPOINT_HOST_MAX + 1, sizeof(in) - ENDPOINT_HOST_MAX - 1,
	    ":1/m");
	ck_assert_int_eq(endpoint_parse_sentinels(in, &es, &hint), -1);
}
END_TEST

/* what a Sentinel says where the master is: host and port apart */
static const struct reply_case {
	const char *host;
	size_t	 hlen;
	const char *port;
	size_t	 plen;
	const char *text;	/* NULL: refused */
} reply_cases[] = {
	{ "127.0.0.1", 9, "6379", 4, "inet:127.0.0.1:6379" },
	{ "::1", 3, "6380", 4, "inet:[::1]:6380" },
	{ "fe80::1%eth0", 12, "1", 1, "inet:[fe80::1%eth0]:1" },
	{ "redis-1.example", 15, "65535", 5, "inet:redis-1.example:65535" },
	/* refused: hostile or broken */
	{ "", 0, "6379", 4, NULL },
	{ "127.0.0.1", 9, "", 0, NULL },
	{ "127.0.0.1", 9, "0", 1, NULL },
	{ "127.0.0.1", 9, "65536", 5, NULL },
	{ "127.0.0.1", 9, "063790", 6, NULL },
	{ "127.0.0.1", 9, "+6379", 5, NULL },
	{ "127.0.0.1", 9, " 6379", 5, NULL },
	{ "127.0.0.1", 9, "6379\0", 5, NULL },
	{ "127.0.0.1\0evil", 14, "6379", 4, NULL },
	{ "127.0.0.1 x", 11, "6379", 4, NULL },
	{ "[::1]", 5, "6379", 4, NULL },
	{ "h/../x", 6, "1", 1, NULL },
	{ "h\r\nSET x y", 12, "1", 1, NULL },
	{ "::g", 3, "1", 1, NULL },
};

START_TEST(from_reply)
{
	const struct reply_case *c = &reply_cases[_i];
	struct endpoint ep;
	int	 rc = endpoint_from_reply(c->host, c->hlen, c->port, c->plen,
	    &ep);

	if (c->text == NULL) {
		ck_assert_msg(rc == -1, "case %d accepted as %s", _i, ep.text);
		ck_assert_int_eq(ep.kind, ENDPOINT_NONE);
		return;
	}
	ck_assert_msg(rc == 0, "case %d refused", _i);
	ck_assert_str_eq(ep.text, c->text);
}
END_TEST

/* a host name that barely fits, and one byte over */
START_TEST(from_reply_limit)
{
	char	 host[ENDPOINT_HOST_MAX + 1];
	struct endpoint ep;

	memset(host, 'h', sizeof(host));
	ck_assert_int_eq(endpoint_from_reply(host, ENDPOINT_HOST_MAX, "1", 1,
	    &ep), 0);
	ck_assert_uint_eq(strlen(ep.host), ENDPOINT_HOST_MAX);
	ck_assert_int_eq(endpoint_from_reply(host, ENDPOINT_HOST_MAX + 1, "1",
	    1, &ep), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("endpoint");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 failed;

	tcase_add_loop_test(tc, parse, 0, N(ep_cases));
	tcase_add_test(tc, path_limit);
	tcase_add_loop_test(tc, sentinels, 0, N(sg_cases));
	tcase_add_test(tc, sentinels_limits);
	tcase_add_loop_test(tc, from_reply, 0, N(reply_cases));
	tcase_add_test(tc, from_reply_limit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
