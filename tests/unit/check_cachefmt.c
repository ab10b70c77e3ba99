/*
 * check_cachefmt - what the cache tiers agree on: map identities (a
 * changed .cf must never read the old map's answers), Redis records
 * (hostile contents are misses), the age rules with a fake clock, and
 * the invalidation messages of the triggers.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cachefmt.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define BASE_CF	"hosts = unix:/run/postgresql\nuser = mailserver\n" \
		"password = one\ndbname = mailserver\n" \
		"query = SELECT 1 FROM virtual_users WHERE email='%s'\n"

static struct sqlmap *
parse(const char *text)
{
	struct sqlmap *sm = NULL;
	char	*err = NULL, *warn = NULL;

	if (sqlmap_parse("/etc/postfix/t.cf", text, strlen(text), &sm, &warn,
	    &err) != 0)
		ck_abort_msg("parse failed: %s", err);
	free(warn);
	return sm;
}

static void
ns_of(const char *text, char ns[CACHEFMT_NS_LEN + 1])
{
	struct sqlmap *sm = parse(text);

	cachefmt_ns(sm, ns);
	sqlmap_free(&sm);
}

/* SipHash-2-4 reference vectors (Aumasson & Bernstein, key 00..0f) */
START_TEST(test_siphash)
{
	unsigned char msg[64];
	uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;
	int	 i;

	for (i = 0; i < 64; i++)
		msg[i] = (unsigned char)i;
	ck_assert_uint_eq(cachefmt_siphash(k0, k1, msg, 0),
	    0x726fdb47dd0e0e31ULL);
	ck_assert_uint_eq(cachefmt_siphash(k0, k1, msg, 15),
	    0xa129ca6149be45e5ULL);
	ck_assert_uint_eq(cachefmt_siphash(k0, k1, msg, 8),
	    0x93f5f5799a932462ULL);
	ck_assert_uint_ne(cachefmt_siphash(k0, k1 + 1, msg, 15),
	    0xa129ca6149be45e5ULL);
}
END_TEST

/*
 * Namespaces: every change that can change an answer changes it; the
 * password (and comments, spacing of the file) do not.
 */
static const struct {
	const char *text;
	bool	 same;
} ns_cases[] = {
	{ BASE_CF, true },
	{ "# a comment\n" BASE_CF, true },
	{ "hosts = unix:/run/postgresql\nuser = mailserver\n"
	  "password = two\ndbname = mailserver\n"
	  "query = SELECT 1 FROM virtual_users WHERE email='%s'\n", true },
	{ "hosts = unix:/run/postgresql\nuser = mailserver\n"
	  "password = one\ndbname = mailserver\n"
	  "query = SELECT 1 FROM virtual_users WHERE email='%s' AND false\n",
	  false },
	{ "hosts = unix:/run/postgresql\nuser = mailserver\n"
	  "password = one\ndbname = mailserver\n"
	  "query = SELECT 1 FROM virtual_users WHERE email='%u'\n", false },
	{ "hosts = unix:/other\nuser = mailserver\n"
	  "password = one\ndbname = mailserver\n"
	  "query = SELECT 1 FROM virtual_users WHERE email='%s'\n", false },
	{ "hosts = unix:/run/postgresql\nuser = other\n"
	  "password = one\ndbname = mailserver\n"
	  "query = SELECT 1 FROM virtual_users WHERE email='%s'\n", false },
	{ "hosts = unix:/run/postgresql\nuser = mailserver\n"
	  "password = one\ndbname = other\n"
	  "query = SELECT 1 FROM virtual_users WHERE email='%s'\n", false },
	{ BASE_CF "result_format = %u\n", false },
	{ BASE_CF "expansion_limit = 1\n", false },
	{ BASE_CF "domain = example.com\n", false },
};

START_TEST(test_ns)
{
	char	 base[CACHEFMT_NS_LEN + 1], ns[CACHEFMT_NS_LEN + 1];
	size_t	 i;

	ns_of(BASE_CF, base);
	ck_assert_uint_eq(strlen(base), CACHEFMT_NS_LEN);
	for (i = 0; i < CACHEFMT_NS_LEN; i++)
		ck_assert(strchr("0123456789abcdef", base[i]) != NULL);
	ns_of(ns_cases[_i].text, ns);
	if (ns_cases[_i].same)
		ck_assert_str_eq(ns, base);
	else
		ck_assert_str_ne(ns, base);
}
END_TEST

static const struct {
	const char *key;
	const char *domain;
} domain_cases[] = {
	{ "john@example.com", "example.com" },
	{ "john+ext@example.com", "example.com" },
	{ "@example.com", "example.com" },
	{ "example.com", "example.com" },
	{ "\"a@b\"@example.com", "example.com" },
	{ "user@", "" },
	{ "", "" },
};

START_TEST(test_key_domain)
{
	const char *k = domain_cases[_i].key;
	size_t	 off, len;
	char	*rk;

	cachefmt_key_domain(k, strlen(k), &off, &len);
	ck_assert_uint_eq(len, strlen(domain_cases[_i].domain));
	ck_assert(memcmp(k + off, domain_cases[_i].domain, len) == 0);
	rk = cachefmt_rkey_depoch(k, strlen(k), &len);
	ck_assert_uint_eq(len, strlen(rk));
	ck_assert_str_eq(rk + strlen(CACHEFMT_RKEY_DEPOCH),
	    domain_cases[_i].domain);
	free(rk);
}
END_TEST

START_TEST(test_rkey)
{
	size_t	 len;
	char	*k = cachefmt_rkey("0123456789abcdef", "a\0b", 3, &len);

	ck_assert_uint_eq(len, 6 + 16 + 1 + 3);
	ck_assert(memcmp(k, "vrcpt:0123456789abcdef:a\0b", len) == 0);
	free(k);
	ck_assert(cachefmt_cacheable("x@d", 3));
	ck_assert(!cachefmt_cacheable("", 0));
	ck_assert(!cachefmt_cacheable("a\0b", 3));
	ck_assert(!cachefmt_cacheable("x", CACHEFMT_KEY_MAX + 1));
}
END_TEST

/* records written and read back */
START_TEST(test_rec_roundtrip)
{
	struct cachefmt_rec r;
	char	*s, big[CACHEFMT_VALUE_MAX + 100];
	size_t	 len;

	s = cachefmt_rec_format(42, 7, FACT_FOUND, 1700000000123ULL,
	    "john@example.com,jane|x", &len);
	ck_assert_str_eq(s, "v1|42|7|F|1700000000123|john@example.com,jane|x");
	ck_assert_int_eq(cachefmt_rec_parse(s, len, &r), 0);
	ck_assert(!r.tombstone);
	ck_assert_uint_eq(r.epoch, 42);
	ck_assert_uint_eq(r.depoch, 7);
	ck_assert_int_eq(r.result, FACT_FOUND);
	ck_assert_uint_eq(r.stored_ms, 1700000000123ULL);
	ck_assert_uint_eq(r.vlen, strlen("john@example.com,jane|x"));
	ck_assert(memcmp(r.value, "john@example.com,jane|x", r.vlen) == 0);
	free(s);

	s = cachefmt_rec_format(UINT64_MAX, 0, FACT_NOT_FOUND, 5, "ignored",
	    &len);
	ck_assert_str_eq(s, "v1|18446744073709551615|0|N|5|");
	ck_assert_int_eq(cachefmt_rec_parse(s, len, &r), 0);
	ck_assert_uint_eq(r.epoch, UINT64_MAX);
	ck_assert_int_eq(r.result, FACT_NOT_FOUND);
	ck_assert_uint_eq(r.vlen, 0);
	free(s);

	/* a long value is cut, and the cut record still parses */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = cachefmt_rec_format(1, 1, FACT_FOUND, 1, big, &len);
	ck_assert_int_eq(cachefmt_rec_parse(s, len, &r), 0);
	ck_assert_uint_eq(r.vlen, CACHEFMT_VALUE_MAX);
	free(s);

	s = cachefmt_tombstone(99, &len);
	ck_assert_str_eq(s, "T|99");
	ck_assert_int_eq(cachefmt_rec_parse(s, len, &r), 0);
	ck_assert(r.tombstone);
	ck_assert_uint_eq(r.stored_ms, 99);
	free(s);
}
END_TEST

/* whatever else Redis holds under our keys is a miss, never an answer */
static const char *const bad_recs[] = {
	"",
	"v1",
	"v1|",
	"v2|1|0|F|1|x",
	"v1|1|0|F|1",			/* no value separator */
	"v1|x|0|F|1|v",
	"v1|1|-1|F|1|v",
	"v1|1|0|X|1|v",
	"v1|1|0|FF|1|v",
	"v1|1|0|F||v",
	"v1|99999999999999999999|0|F|1|v",	/* > UINT64_MAX */
	"v1|1|0|F|1|",			/* found, but empty: not ours */
	"v1|1|0|N|1|x",			/* not found with a value */
	"v1| 1|0|F|1|v",
	"T|",
	"T|abc",
	"T",
	"user unknown",
};

START_TEST(test_rec_hostile)
{
	struct cachefmt_rec r;

	ck_assert_int_eq(cachefmt_rec_parse(bad_recs[_i],
	    strlen(bad_recs[_i]), &r), -1);
}
END_TEST

START_TEST(test_rec_binary)
{
	struct cachefmt_rec r;
	char	 s[] = "v1|1|0|F|1|a\0b";
	char	*big;
	size_t	 n = strlen("v1|1|0|F|1|") + CACHEFMT_VALUE_MAX + 1;

	ck_assert_int_eq(cachefmt_rec_parse(s, sizeof(s) - 1, &r), -1);
	ck_assert_int_eq(cachefmt_rec_parse(NULL, 0, &r), -1);
	big = malloc(n + 1);
	memcpy(big, "v1|1|0|F|1|", 11);
	memset(big + 11, 'v', n - 11);
	big[n] = '\0';
	ck_assert_int_eq(cachefmt_rec_parse(big, n, &r), -1);
	free(big);
}
END_TEST

/* ages with a fake clock: 1 h positive, 60 s negative, 1 d stale */
static const struct cachefmt_ttl TTL = { 3600000, 60000, 86400000 };
static const struct cachefmt_ttl NOSTALE = { 3600000, 60000, 0 };

static const struct {
	const struct cachefmt_ttl *ttl;
	enum fact_result result;
	uint64_t stored, now;
	enum cachefmt_age want;
} age_cases[] = {
	{ &TTL, FACT_FOUND, 1000, 1000, CACHEFMT_FRESH },
	{ &TTL, FACT_FOUND, 1000, 1000 + 3599999, CACHEFMT_FRESH },
	{ &TTL, FACT_FOUND, 1000, 1000 + 3600000, CACHEFMT_STALE },
	{ &TTL, FACT_NOT_FOUND, 1000, 1000 + 59999, CACHEFMT_FRESH },
	{ &TTL, FACT_NOT_FOUND, 1000, 1000 + 60000, CACHEFMT_STALE },
	{ &TTL, FACT_NOT_FOUND, 1000, 1000 + 60000 + 86399999,
	  CACHEFMT_STALE },
	{ &TTL, FACT_NOT_FOUND, 1000, 1000 + 60000 + 86400000,
	  CACHEFMT_EXPIRED },
	{ &NOSTALE, FACT_NOT_FOUND, 1000, 1000 + 60000, CACHEFMT_EXPIRED },
	/* stored "in the future" by a host whose clock is ahead */
	{ &TTL, FACT_NOT_FOUND, 5000, 1000, CACHEFMT_FRESH },
	{ &TTL, FACT_UNAVAILABLE, 1000, 1000, CACHEFMT_EXPIRED },
};

START_TEST(test_age)
{
	ck_assert_int_eq(cachefmt_age(age_cases[_i].ttl, age_cases[_i].result,
	    age_cases[_i].stored, age_cases[_i].now), age_cases[_i].want);
}
END_TEST

static const struct {
	const char *payload;
	int	 rc;
	enum cachefmt_inval kind;
	const char *arg;
} inval_cases[] = {
	{ "a:john@example.com", 0, CACHEFMT_INVAL_KEY, "john@example.com" },
	{ "a:@example.org", 0, CACHEFMT_INVAL_KEY, "@example.org" },
	{ "a:a:b", 0, CACHEFMT_INVAL_KEY, "a:b" },
	{ "d:example.com", 0, CACHEFMT_INVAL_DOMAIN, "example.com" },
	{ "all", 0, CACHEFMT_INVAL_ALL, "" },
	{ "a:", -1 },
	{ "d:", -1 },
	{ "", -1 },
	{ "ALL", -1 },
	{ "x:john@example.com", -1 },
	{ "john@example.com", -1 },
};

START_TEST(test_inval)
{
	enum cachefmt_inval kind;
	const char *arg = NULL;

	ck_assert_int_eq(cachefmt_inval_parse(inval_cases[_i].payload, &kind,
	    &arg), inval_cases[_i].rc);
	if (inval_cases[_i].rc == 0) {
		ck_assert_int_eq(kind, inval_cases[_i].kind);
		ck_assert_str_eq(arg, inval_cases[_i].arg);
	}
}
END_TEST

START_TEST(test_inval_long)
{
	char	*p = malloc(CACHEFMT_PAYLOAD_MAX + 2);
	enum cachefmt_inval kind;
	const char *arg;

	memset(p, 'x', CACHEFMT_PAYLOAD_MAX + 1);
	memcpy(p, "a:", 2);
	p[CACHEFMT_PAYLOAD_MAX + 1] = '\0';
	ck_assert_int_eq(cachefmt_inval_parse(p, &kind, &arg), -1);
	p[CACHEFMT_PAYLOAD_MAX] = '\0';
	ck_assert_int_eq(cachefmt_inval_parse(p, &kind, &arg), 0);
	ck_assert_int_eq(cachefmt_inval_parse(NULL, &kind, &arg), -1);
	free(p);
}
END_TEST

/* records "v1|<epoch>|<depoch>|<F|N>|<ms>|<value>" judged against the
 * epochs read with them */
static const uint64_t EPOCH = 7;
static const struct {
	const uint64_t *epoch;	/* NULL: the global epoch is unknown */
	const char *dv;		/* the domain epoch read; NULL: absent */
	const char *rv;		/* the record read; NULL: absent */
	uint64_t now;
	enum cachefmt_judgement want;
} judge_cases[] = {
	{ &EPOCH, "9", "v1|7|9|F|1000|1", 2000, CACHEFMT_J_FRESH },
	{ &EPOCH, "9", "v1|7|9|N|1000|", 2000, CACHEFMT_J_FRESH },
	{ &EPOCH, "9", NULL, 2000, CACHEFMT_J_ABSENT },
	/* the domain epoch is gone (expired, evicted): nothing of the
	 * domain is valid, not even a record of epoch 0 from before */
	{ &EPOCH, NULL, "v1|7|0|F|1000|1", 2000, CACHEFMT_J_NO_DEPOCH },
	{ &EPOCH, NULL, "v1|7|9|F|1000|1", 2000, CACHEFMT_J_NO_DEPOCH },
	{ &EPOCH, NULL, NULL, 2000, CACHEFMT_J_NO_DEPOCH },
	{ &EPOCH, "x9", "v1|7|9|F|1000|1", 2000, CACHEFMT_J_FOREIGN },
	/* a flush: another global or domain epoch */
	{ &EPOCH, "9", "v1|6|9|F|1000|1", 2000, CACHEFMT_J_FLUSHED },
	{ &EPOCH, "8", "v1|7|9|F|1000|1", 2000, CACHEFMT_J_FLUSHED },
	{ NULL, "9", "v1|7|9|F|1000|1", 2000, CACHEFMT_J_FLUSHED },
	{ &EPOCH, "9", "T|1000", 2000, CACHEFMT_J_TOMBSTONE },
	{ &EPOCH, "9", "v9|junk", 2000, CACHEFMT_J_UNREADABLE },
	/* ages: positive 1h, negative 60s, stale 1d */
	{ &EPOCH, "9", "v1|7|9|N|1000|", 1000 + 60000 + 1,
	  CACHEFMT_J_STALE },
	{ &EPOCH, "9", "v1|7|9|F|1000|1", 1000 + 3600000 + 86400000 + 1,
	  CACHEFMT_J_EXPIRED },
};

START_TEST(test_judge)
{
	struct cachefmt_rec rec;
	uint64_t depoch;
	const char *dv = judge_cases[_i].dv, *rv = judge_cases[_i].rv;

	ck_assert_int_eq(cachefmt_judge(&TTL, judge_cases[_i].epoch, dv,
	    dv ? strlen(dv) : 0, rv, rv ? strlen(rv) : 0, judge_cases[_i].now,
	    &depoch, &rec), judge_cases[_i].want);
}
END_TEST

static Suite *
cachefmt_suite(void)
{
	Suite	*s = suite_create("cachefmt");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_siphash);
	tcase_add_loop_test(tc, test_ns, 0,
	    sizeof(ns_cases) / sizeof(ns_cases[0]));
	tcase_add_loop_test(tc, test_key_domain, 0,
	    sizeof(domain_cases) / sizeof(domain_cases[0]));
	tcase_add_test(tc, test_rkey);
	tcase_add_test(tc, test_rec_roundtrip);
	tcase_add_loop_test(tc, test_rec_hostile, 0,
	    sizeof(bad_recs) / sizeof(bad_recs[0]));
	tcase_add_test(tc, test_rec_binary);
	tcase_add_loop_test(tc, test_age, 0,
	    sizeof(age_cases) / sizeof(age_cases[0]));
	tcase_add_loop_test(tc, test_inval, 0,
	    sizeof(inval_cases) / sizeof(inval_cases[0]));
	tcase_add_test(tc, test_inval_long);
	tcase_add_loop_test(tc, test_judge, 0,
	    sizeof(judge_cases) / sizeof(judge_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(cachefmt_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? 0 : 1;
}
