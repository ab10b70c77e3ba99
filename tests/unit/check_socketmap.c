/*
 * check_socketmap - unit tests for src/proto/socketmap: the netstring
 * codec of Postfix's socketmap_table(5).
 *
 * What a mail admin cares about here: that whatever bytes reach the
 * socketmap socket, vrcptd either answers a well-formed request, answers
 * PERM to a well-formed netstring that is not one (and goes on), or
 * drops a connection whose framing is broken, without ever buffering
 * more than one request's worth; and that its replies are netstrings
 * Postfix's dict_sockmap reads (OK/NOTFOUND/TEMP/TIMEOUT/PERM, within
 * Postfix's 100000-byte reply limit).
 *
 * Also replays tests/fuzz/corpus/socketmap through the fuzz target.
 */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/fuzz_socketmap.c"

/* rows leave the trailing fields out */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define S(lit)		lit, sizeof(lit) - 1
#define T_CORPUS	"tests/fuzz/corpus/socketmap/*"
#define T_CORPUS_MIN	10
#define T_FILE_MAX	(1024 * 1024)

struct prow {
	const char *in;
	size_t	 len;
	enum socketmap_status st;
	enum socketmap_error why;
	const char *name;	/* DONE */
	const char *key;
	size_t	 used;		/* DONE, BAD */
};

static const struct prow prows[] = {
	{ S("26:virtual_alias_maps a@b.com,"), SOCKETMAP_DONE,
	  SOCKETMAP_ERR_NONE, "virtual_alias_maps", "a@b.com", 30 },
	{ S("26:virtual_alias_maps a@b.com,junk"), SOCKETMAP_DONE,
	  SOCKETMAP_ERR_NONE, "virtual_alias_maps", "a@b.com", 30 },
	{ S("27:virtual_alias_maps a@b.com,"), SOCKETMAP_AGAIN,
	  SOCKETMAP_ERR_NONE },
	{ S("25:virtual_alias_maps a@b.com,"), SOCKETMAP_ERROR,
	  SOCKETMAP_ERR_NO_COMMA },
	/* the key may hold spaces; the name ends at the first */
	{ S("7:a b c d,"), SOCKETMAP_DONE, SOCKETMAP_ERR_NONE, "a", "b c d",
	  10 },
	{ S("2:a ,"), SOCKETMAP_DONE, SOCKETMAP_ERR_NONE, "a", "", 5 },
	{ S("007:a b@c.d,"), SOCKETMAP_DONE, SOCKETMAP_ERR_NONE, "a",
	  "b@c.d", 12 },
	/* incomplete */
	{ S(""), SOCKETMAP_AGAIN, SOCKETMAP_ERR_NONE },
	{ S("27"), SOCKETMAP_AGAIN, SOCKETMAP_ERR_NONE },
	{ S("27:virtual"), SOCKETMAP_AGAIN, SOCKETMAP_ERR_NONE },
	{ S("5:a b c"), SOCKETMAP_AGAIN, SOCKETMAP_ERR_NONE },
	{ S("10000:"), SOCKETMAP_AGAIN, SOCKETMAP_ERR_NONE },
	/* broken framing: disconnect */
	{ S("10001:"), SOCKETMAP_ERROR, SOCKETMAP_ERR_TOO_LONG },
	{ S("100000"), SOCKETMAP_ERROR, SOCKETMAP_ERR_TOO_LONG },
	{ S("000000:"), SOCKETMAP_ERROR, SOCKETMAP_ERR_TOO_LONG },
	{ S("99999999999999999999:"), SOCKETMAP_ERROR,
	  SOCKETMAP_ERR_TOO_LONG },
	{ S(":abc,"), SOCKETMAP_ERROR, SOCKETMAP_ERR_LENGTH },
	{ S("x:"), SOCKETMAP_ERROR, SOCKETMAP_ERR_LENGTH },
	{ S("-1:a,"), SOCKETMAP_ERROR, SOCKETMAP_ERR_LENGTH },
	{ S(" 3:a b,"), SOCKETMAP_ERROR, SOCKETMAP_ERR_LENGTH },
	{ S("3 :a b,"), SOCKETMAP_ERROR, SOCKETMAP_ERR_LENGTH },
	{ S("GET / HTTP/1.0\r\n"), SOCKETMAP_ERROR, SOCKETMAP_ERR_LENGTH },
	{ S("3:a b;"), SOCKETMAP_ERROR, SOCKETMAP_ERR_NO_COMMA },
	{ S("2:a b,"), SOCKETMAP_ERROR, SOCKETMAP_ERR_NO_COMMA },
	{ S("4:a b,"), SOCKETMAP_AGAIN, SOCKETMAP_ERR_NONE },
	{ S("4:a b,,"), SOCKETMAP_DONE, SOCKETMAP_ERR_NONE, "a", "b,", 7 },
	/* whole netstrings that are not requests: PERM, go on */
	{ S("0:,"), SOCKETMAP_BAD, SOCKETMAP_ERR_NO_SPACE, NULL, NULL, 3 },
	{ S("3:abc,"), SOCKETMAP_BAD, SOCKETMAP_ERR_NO_SPACE, NULL, NULL, 6 },
	{ S("4: abc,"), SOCKETMAP_BAD, SOCKETMAP_ERR_EMPTY_NAME, NULL, NULL,
	  7 },
	{ S("7:a b\0cde,"), SOCKETMAP_BAD, SOCKETMAP_ERR_NUL_BYTE, NULL, NULL,
	  10 },
	{ S("3:\0 b,"), SOCKETMAP_BAD, SOCKETMAP_ERR_NUL_BYTE, NULL, NULL, 6 },
};

START_TEST(parse_table)
{
	const struct prow *r = &prows[_i];
	struct socketmap_req req;
	enum socketmap_error why;
	enum socketmap_status st;
	size_t	 used;

	st = socketmap_parse(r->in, r->len, &req, &used, &why);
	ck_assert_msg(st == r->st, "row %d: status %d, want %d", _i, st,
	    r->st);
	ck_assert_msg(why == r->why, "row %d: why %d, want %d", _i, why,
	    r->why);
	if (st == SOCKETMAP_DONE || st == SOCKETMAP_BAD)
		ck_assert_uint_eq(used, r->used);
	if (st == SOCKETMAP_DONE) {
		ck_assert_uint_eq(req.name_len, strlen(r->name));
		ck_assert(memcmp(req.name, r->name, req.name_len) == 0);
		ck_assert_uint_eq(req.key_len, strlen(r->key));
		ck_assert(memcmp(req.key, r->key, req.key_len) == 0);
	}
	/* AGAIN and ERROR say nothing was consumed */
	if (st == SOCKETMAP_AGAIN || st == SOCKETMAP_ERROR)
		ck_assert_uint_eq(used, 0);
}
END_TEST

/* the longest request barely fits; one byte more is refused at once */
START_TEST(limits)
{
	char	*in = malloc(SOCKETMAP_NETSTRING_MAX + 16);
	struct socketmap_req req;
	enum socketmap_error why;
	size_t	 used, n, k;
	int	 h;

	ck_assert_ptr_nonnull(in);
	h = snprintf(in, 16, "%d:a ", SOCKETMAP_QUERY_MAX);
	n = (size_t)h + SOCKETMAP_QUERY_MAX - 2;
	memset(in + h, 'k', n - (size_t)h);
	in[n] = ',';
	ck_assert_uint_eq(n + 1, SOCKETMAP_NETSTRING_MAX);
	ck_assert_int_eq(socketmap_parse(in, n + 1, &req, &used, &why),
	    SOCKETMAP_DONE);
	ck_assert_uint_eq(used, n + 1);
	ck_assert_uint_eq(req.key_len, SOCKETMAP_QUERY_MAX - 2);
	/* every prefix is incomplete */
	for (k = 0; k <= n; k++)
		ck_assert_int_eq(socketmap_parse(in, k, &req, &used, &why),
		    SOCKETMAP_AGAIN);
	h = snprintf(in, 16, "%d:", SOCKETMAP_QUERY_MAX + 1);
	ck_assert_int_eq(socketmap_parse(in, (size_t)h, &req, &used, &why),
	    SOCKETMAP_ERROR);
	ck_assert_int_eq(why, SOCKETMAP_ERR_TOO_LONG);
	/* a name of SOCKETMAP_NAME_MAX fits, one more is BAD */
	memset(in, 0, 16);
	h = snprintf(in, 16, "%d:", SOCKETMAP_NAME_MAX + 2);
	memset(in + h, 'n', SOCKETMAP_NAME_MAX);
	memcpy(in + h + SOCKETMAP_NAME_MAX, " k,", 3);
	ck_assert_int_eq(socketmap_parse(in, (size_t)h + SOCKETMAP_NAME_MAX +
	    3, &req, &used, &why), SOCKETMAP_DONE);
	h = snprintf(in, 16, "%d:", SOCKETMAP_NAME_MAX + 3);
	memset(in + h, 'n', SOCKETMAP_NAME_MAX + 1);
	memcpy(in + h + SOCKETMAP_NAME_MAX + 1, " k,", 3);
	ck_assert_int_eq(socketmap_parse(in, (size_t)h + SOCKETMAP_NAME_MAX +
	    4, &req, &used, &why), SOCKETMAP_BAD);
	ck_assert_int_eq(why, SOCKETMAP_ERR_NAME_TOO_LONG);
	free(in);
}
END_TEST

START_TEST(format)
{
	struct buf b;
	char	*big;

	buf_init(&b, 0);
	ck_assert_int_eq(socketmap_format(&b, SOCKETMAP_OK, S("a@b,c@d")), 0);
	ck_assert_int_eq(socketmap_format(&b, SOCKETMAP_NOTFOUND, S("x")), 0);
	ck_assert_int_eq(socketmap_format(&b, SOCKETMAP_TEMP, S("db\ndown")),
	    0);
	ck_assert_int_eq(socketmap_format(&b, SOCKETMAP_PERM, NULL, 5), 0);
	ck_assert_int_eq(socketmap_format(&b, SOCKETMAP_OK, S("")), 0);
	ck_assert_str_eq(buf_str(&b), "10:OK a@b,c@d,9:NOTFOUND ,"
	    "12:TEMP db?down,5:PERM ,3:OK ,");
	buf_free(&b);

	/* Postfix reads replies up to 100000 bytes: no more is sent */
	big = malloc(SOCKETMAP_REPLY_MAX);
	ck_assert_ptr_nonnull(big);
	memset(big, 'v', SOCKETMAP_REPLY_MAX);
	buf_init(&b, 0);
	ck_assert(socketmap_fits(SOCKETMAP_REPLY_MAX - 3));
	ck_assert(!socketmap_fits(SOCKETMAP_REPLY_MAX - 2));
	ck_assert_int_eq(socketmap_format(&b, SOCKETMAP_OK, big,
	    SOCKETMAP_REPLY_MAX - 3), 0);
	ck_assert_uint_eq(b.len, 6 + 1 + SOCKETMAP_REPLY_MAX + 1);
	buf_reset(&b);
	ck_assert_int_eq(socketmap_format(&b, SOCKETMAP_OK, big,
	    SOCKETMAP_REPLY_MAX - 2), -1);
	ck_assert_uint_eq(b.len, 0);
	/* a reason is cut, never refused */
	ck_assert_int_eq(socketmap_format(&b, SOCKETMAP_TEMP, big,
	    SOCKETMAP_REPLY_MAX), 0);
	ck_assert_uint_le(b.len, SOCKETMAP_REASON_MAX + 16);
	buf_free(&b);
	/* a full buffer: nothing appended */
	buf_init(&b, 8);
	ck_assert_int_eq(socketmap_format(&b, SOCKETMAP_OK, S("abcdef")),
	    -1);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	free(big);
}
END_TEST

/* the client's side: socketmap_reply_frame */
static const struct {
	const char *in;
	int	 want;
	size_t	 used;
} rrows[] = {
	{ "9:NOTFOUND ,", 1, 12 },
	{ "9:NOTFOUND ,5:OK ab,", 1, 12 },	/* one at a time */
	{ "0:,", 1, 3 },
	{ "9:NOTFOUND ", 0, 0 },
	{ "9:", 0, 0 },
	{ "12", 0, 0 },
	{ "", 0, 0 },
	{ "100000", 0, 0 },			/* the longest reply */
	{ "100001:", -1, 0 },			/* longer than Postfix reads */
	{ "0000000", -1, 0 },			/* no end of zeros */
	{ ":x,", -1, 0 },
	{ "x:,", -1, 0 },
	{ "3:abcd", -1, 0 },			/* no ',' after 3 bytes */
	{ "-1:", -1, 0 },
};

START_TEST(reply_frame_table)
{
	const char *why = NULL;
	size_t	 used = 0;
	int	 r;

	r = socketmap_reply_frame(rrows[_i].in, strlen(rrows[_i].in), &used,
	    &why);
	ck_assert_msg(r == rrows[_i].want, "\"%s\": %d", rrows[_i].in, r);
	if (r == 1)
		ck_assert_uint_eq(used, rrows[_i].used);
	if (r < 0)
		ck_assert_ptr_nonnull(why);
}
END_TEST

START_TEST(strerror_distinct)
{
	enum socketmap_error e, f;

	for (e = SOCKETMAP_ERR_NONE; e <= SOCKETMAP_ERR_NUL_BYTE; e++)
		for (f = e + 1; f <= SOCKETMAP_ERR_NUL_BYTE; f++)
			ck_assert_str_ne(socketmap_strerror(e),
			    socketmap_strerror(f));
}
END_TEST

/* random bytes: never a crash, the fuzz target's invariants hold */
START_TEST(junk)
{
	uint8_t	 in[4096];
	unsigned seed = 12345;
	size_t	 i, j;

	for (i = 0; i < 2000; i++) {
		size_t	 n = (size_t)(rand_r(&seed) % sizeof(in));

		for (j = 0; j < n; j++) {
			unsigned r = (unsigned)rand_r(&seed);

			/* mostly digits, ':', ',' and spaces: deep paths */
			in[j] = (uint8_t)("0123456789:, ab\0"[r % 16]);
			if (r % 97 == 0)
				in[j] = (uint8_t)(r >> 8);
		}
		(void)LLVMFuzzerTestOneInput(in, n);
	}
}
END_TEST

START_TEST(replay_corpus)
{
	glob_t	 g;
	size_t	 i, n;
	uint8_t	*data = malloc(T_FILE_MAX + 1);
	FILE	*fp;

	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(glob(T_CORPUS, 0, NULL, &g), 0);
	ck_assert_msg(g.gl_pathc >= T_CORPUS_MIN, "only %zu files in %s "
	    "(run from the repository root)", g.gl_pathc, T_CORPUS);
	for (i = 0; i < g.gl_pathc; i++) {
		fp = fopen(g.gl_pathv[i], "rb");
		ck_assert_msg(fp != NULL, "%s: cannot open", g.gl_pathv[i]);
		n = fread(data, 1, T_FILE_MAX + 1, fp);
		fclose(fp);
		ck_assert_msg(n <= T_FILE_MAX, "%s: too large",
		    g.gl_pathv[i]);
		(void)LLVMFuzzerTestOneInput(data, n);
	}
	globfree(&g);
	free(data);
}
END_TEST

static Suite *
socketmap_suite(void)
{
	Suite	*s = suite_create("socketmap");
	TCase	*tc = tcase_create("parse");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, parse_table, 0, NELEM(prows));
	tcase_add_test(tc, limits);
	tcase_add_test(tc, junk);
	tcase_add_test(tc, replay_corpus);
	suite_add_tcase(s, tc);
	tc = tcase_create("reply");
	tcase_add_test(tc, format);
	tcase_add_loop_test(tc, reply_frame_table, 0, NELEM(rrows));
	tcase_add_test(tc, strerror_distinct);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(socketmap_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
