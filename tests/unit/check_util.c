/*
 * check_util - unit tests for src/util: buf, strutil, log.
 *
 * What a mail admin cares about here: peer text reaching the log cannot
 * forge lines or break the terminal (str_sanitize), a configured limit
 * is a limit (buf), addresses in any script compare case-insensitively
 * (str_fold_utf8), and "1h" in the configuration means an hour.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/strutil.h"
#include "util/xalloc.h"

#define TEST_BUF_MAX	16

/* ------------------------------------------------------------------ buf */

START_TEST(buf_limit_barely_fits)
{
	struct buf b;

	buf_init(&b, TEST_BUF_MAX);
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_int_eq(buf_append(&b, "0123456789", 10), 0);
	ck_assert_int_eq(buf_append(&b, "abcdef", 6), 0);	/* == max */
	ck_assert_uint_eq(b.len, TEST_BUF_MAX);
	ck_assert_str_eq(buf_str(&b), "0123456789abcdef");
	/* one byte over: refused, contents unchanged */
	ck_assert_int_eq(buf_append(&b, "x", 1), -1);
	ck_assert_int_eq(buf_puts(&b, "x"), -1);
	ck_assert_int_eq(buf_printf(&b, "%d", 7), -1);
	ck_assert_uint_eq(b.len, TEST_BUF_MAX);
	ck_assert_str_eq(buf_str(&b), "0123456789abcdef");
	/* an empty append always fits */
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	buf_free(&b);
}
END_TEST

START_TEST(buf_limit_overflow_size)
{
	struct buf b;

	buf_init(&b, TEST_BUF_MAX);
	ck_assert_int_eq(buf_append(&b, "abc", 3), 0);
	/* len + n wraps around: must still be refused */
	ck_assert_int_eq(buf_append(&b, "x", SIZE_MAX - 1), -1);
	ck_assert_uint_eq(b.len, 3);
	buf_free(&b);
}
END_TEST

START_TEST(buf_printf_all_or_nothing)
{
	struct buf b;

	buf_init(&b, TEST_BUF_MAX);
	ck_assert_int_eq(buf_printf(&b, "%s=%d", "abc", 42), 0);
	ck_assert_str_eq(buf_str(&b), "abc=42");
	/* 6 + 11 > 16: nothing of it may appear */
	ck_assert_int_eq(buf_printf(&b, "%s", "0123456789a"), -1);
	ck_assert_str_eq(buf_str(&b), "abc=42");
	ck_assert_uint_eq(b.len, 6);
	ck_assert_int_eq(buf_printf(&b, "%s", "0123456789"), 0);
	ck_assert_str_eq(buf_str(&b), "abc=420123456789");
	buf_free(&b);
}
END_TEST

START_TEST(buf_grow_unlimited)
{
	struct buf b;
	size_t	 i, fail;
	char	 c;

	buf_init(&b, 0);
	for (i = 0, fail = 0; i < 100000; i++) {
		c = (char)('a' + i % 26);
		fail += buf_append(&b, &c, 1) != 0;
	}
	ck_assert_int_eq(fail, 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_eq(strlen(buf_str(&b)), 100000);
	ck_assert_int_eq(buf_printf(&b, "%0*d", 5000, 1), 0);
	ck_assert_uint_eq(b.len, 105000);
	ck_assert_int_eq(b.data[b.len - 1], '1');
	buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(buf_consume_reset_binary)
{
	struct buf b;

	buf_init(&b, 32);
	ck_assert_int_eq(buf_append(&b, "ab\0cd", 5), 0);
	ck_assert_uint_eq(b.len, 5);	/* len is authoritative, NULs kept */
	ck_assert_int_eq(memcmp(b.data, "ab\0cd", 6), 0);
	buf_consume(&b, 3);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_str_eq(buf_str(&b), "cd");
	buf_consume(&b, 0);
	ck_assert_str_eq(buf_str(&b), "cd");
	buf_consume(&b, 2);
	ck_assert_str_eq(buf_str(&b), "");
	ck_assert_int_eq(buf_puts(&b, "xyz"), 0);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(buf_str(&b), "");
	/* after a consume, the freed room counts against max again */
	ck_assert_int_eq(buf_append(&b, "0123456789012345678901234567890", 31),
	    0);
	buf_consume(&b, 30);
	ck_assert_int_eq(buf_append(&b, "0123456789012345678901234567890", 31),
	    0);
	ck_assert_uint_eq(b.len, 32);
	buf_free(&b);
}
END_TEST

/* log_quiet - expected fatal/panic messages need not clutter the run */
static void
log_quiet(void)
{
	const char *error;

	(void)log_open("check_util", LOG_DEST_FILE, "mail", "/dev/null",
	    &error);
}

START_TEST(buf_consume_too_much_panics)
{
	struct buf b;

	log_quiet();
	buf_init(&b, 0);
	buf_puts(&b, "ab");
	buf_consume(&b, 3);
}
END_TEST

/* ------------------------------------------------------------- sanitize */

static const struct sanitize_case {
	const char *in;
	size_t	 inlen;
	size_t	 max;
	const char *out;
} sanitize_cases[] = {
#define S(lit)	lit, sizeof(lit) - 1
	{ S("user@example.com"), 256, "user@example.com" },
	{ S(""), 256, "" },
	/* a CR/LF would let a client forge a second log line */
	{ S("evil\r\nNov 25 vrcptd[1]: reject"), 256,
	    "evil??Nov 25 vrcptd[1]: reject" },
	{ S("tab\there"), 256, "tab?here" },
	{ S("esc\033[31mred"), 256, "esc?[31mred" },
	{ S("del\177"), 256, "del?" },
	{ S("nul\0byte"), 256, "nul?byte" },
	/* valid UTF-8 passes unchanged */
	{ S("j\xc3\xbcrgen@m\xc3\xbcller.de"), 256,
	    "j\xc3\xbcrgen@m\xc3\xbcller.de" },
	{ S("\xe2\x82\xac\xf0\x9f\x98\x80"), 256,
	    "\xe2\x82\xac\xf0\x9f\x98\x80" },
	/* invalid UTF-8: one '?' per bad byte */
	{ S("a\xff" "b"), 256, "a?b" },
	{ S("\xc3"), 256, "?" },			/* truncated sequence */
	{ S("\xc0\xaf"), 256, "??" },			/* overlong '/' */
	{ S("\xe0\x80\xaf"), 256, "???" },		/* overlong '/' */
	{ S("\xed\xa0\x80"), 256, "???" },		/* surrogate D800 */
	{ S("\xf4\x90\x80\x80"), 256, "????" },	/* > U+10FFFF */
	{ S("\x80\xbf"), 256, "??" },			/* lone continuation */
	/* Postfix's own printable() cases (util/printable.c, with
	 * util_utf8_enable as smtputf8_enable = yes sets it): the same
	 * replacement, one '?' per bad byte, resynchronised at the next */
	{ S("non\bn-printable"), 256, "non?n-printable" },
	{ S("na\303\257ve"), 256, "na\303\257ve" },
	{ S("na\303ve"), 256, "na?ve" },
	{ S("\320\262\320\320\272\272\321\202\320\276\321\200"), 256,
	    "\320\262?\320\272?\321\202\320\276\321\200" },
	{ S("\327\225\231\327\247\327\230\327\225\326\274\327\250"),
	    256, "\327\225?\327\247\327\230\327\225\326\274\327\250" },
	{ S("\344\270\255\345\344\272\222\350\224\347\275\221\347"
	    "\273\234\345\217\221\345\261\225\347\212\266\345\206"
	    "\265\347\273\237\350\256\241\346\212\245\345"), 256,
	    "\344\270\255?\344\272\222??\347\275\221\347\273\234\345"
	    "\217\221\345\261\225\347\212\266\345\206\265\347\273"
	    "\237\350\256\241\346\212\245?" },
	/* truncation */
	{ S("abcdefgh"), 8, "abcdefgh" },		/* barely fits */
	{ S("abcdefghi"), 8, "abcdefgh..." },		/* one over */
	{ S("abc"), 0, "..." },
	/* never split a character: "ab" + 2-byte char needs 4 */
	{ S("ab\xc3\xa4"), 4, "ab\xc3\xa4" },
	{ S("ab\xc3\xa4"), 3, "ab..." },
	{ S("\xf0\x9f\x98\x80z"), 4, "\xf0\x9f\x98\x80..." },
#undef S
};

START_TEST(sanitize_table)
{
	const struct sanitize_case *c = &sanitize_cases[_i];
	char	*dst = xmalloc(c->max + 4);

	str_sanitize(dst, c->in, c->inlen, c->max);
	ck_assert_msg(strcmp(dst, c->out) == 0,
	    "case %d: got \"%s\", want \"%s\"", _i, dst, c->out);
	ck_assert(strlen(dst) <= c->max + 3);
	free(dst);
}
END_TEST

START_TEST(sanitize_output_is_always_safe)
{
	unsigned char in[512];
	char	 out[STR_SANITIZE_MAX + 4];
	size_t	 i, j, bad = 0;
	unsigned seed = 12345;

	/* pseudo-random junk: output has no controls and is valid UTF-8 */
	for (j = 0; j < 2000; j++) {
		for (i = 0; i < sizeof(in); i++) {
			seed = seed * 1103515245 + 12345;
			in[i] = (unsigned char)(seed >> 16);
		}
		str_sanitize(out, (const char *)in, sizeof(in),
		    STR_SANITIZE_MAX);
		/* plain checks in the loop: ck_assert per byte is slow */
		if (strlen(out) > STR_SANITIZE_MAX + 3 ||
		    !str_valid_utf8(out, strlen(out)))
			bad++;
		for (i = 0; out[i] != '\0'; i++)
			if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
				bad++;
	}
	ck_assert_int_eq(bad, 0);
}
END_TEST

/* ----------------------------------------------------------------- fold */

static const struct fold_case {
	const char *in;
	const char *out;
} fold_cases[] = {
	{ "User@Example.COM", "user@example.com" },
	{ "", "" },
	{ "already.lower+ext@d", "already.lower+ext@d" },
	{ "\xc3\x84\xc3\x96\xc3\x9c", "\xc3\xa4\xc3\xb6\xc3\xbc" },	/* ÄÖÜ */
	{ "J\xc3\x9cRGEN@M\xc3\x9cLLER.DE", "j\xc3\xbcrgen@m\xc3\xbcller.de" },
	{ "\xce\x91\xce\x92\xce\x93", "\xce\xb1\xce\xb2\xce\xb3" },	/* ΑΒΓ */
	/* ПРИВЕТ -> привет */
	{ "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2",
	  "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82" },
	/* Ⱥ (2 bytes) -> ⱥ (3 bytes): the output may grow */
	{ "\xc8\xba\xc8\xba\xc8\xba", "\xe2\xb1\xa5\xe2\xb1\xa5\xe2\xb1\xa5" },
	/* ẞ (capital sharp s) -> ß; simple mapping, so ß stays ß */
	{ "\xe1\xba\x9e", "\xc3\x9f" },
	{ "stra\xc3\x9f" "e", "stra\xc3\x9f" "e" },
	/* 4-byte: Deseret capital long I -> small */
	{ "\xf0\x90\x90\x80", "\xf0\x90\x90\xa8" },
	/* CJK and emoji have no case */
	{ "\xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x98\x80",
	  "\xe6\x97\xa5\xe6\x9c\xac\xf0\x9f\x98\x80" },
	/* invalid bytes are copied unchanged, ASCII around them folded */
	{ "A\xff" "B\xc3", "a\xff" "b\xc3" },
	{ "\xc0\x81X", "\xc0\x81x" },
	/* a surrogate encoding is invalid: unchanged */
	{ "\xed\xa0\x80Q", "\xed\xa0\x80q" },
};

START_TEST(fold_table)
{
	const struct fold_case *c = &fold_cases[_i];
	char	*out = str_fold_utf8(c->in);

	ck_assert_msg(strcmp(out, c->out) == 0,
	    "case %d: \"%s\" folded to \"%s\", want \"%s\"", _i, c->in, out,
	    c->out);
	free(out);
}
END_TEST

START_TEST(fold_lower_ascii)
{
	char	 s[] = "MiXeD-Case_\xc3\x84@EXAMPLE.org";

	ck_assert_ptr_eq(str_lower_ascii(s), s);
	/* ASCII only: the Ä stays */
	ck_assert_str_eq(s, "mixed-case_\xc3\x84@example.org");
}
END_TEST

/* ----------------------------------------------------------------- utf8 */

static const struct utf8_case {
	const char *in;
	size_t	 len;
	bool	 valid;
} utf8_cases[] = {
#define U(lit, v)	{ lit, sizeof(lit) - 1, v }
	U("", true),
	U("plain ascii", true),
	U("\xc3\xa4", true),
	U("\xe2\x82\xac", true),
	U("\xf0\x9f\x98\x80", true),
	U("\xf4\x8f\xbf\xbf", true),		/* U+10FFFF */
	U("\xed\x9f\xbf", true),		/* U+D7FF */
	U("\xee\x80\x80", true),		/* U+E000 */
	U("\xc3", false),			/* truncated */
	U("\xe2\x82", false),
	U("\xc3\x28", false),			/* bad continuation */
	U("\xc0\x80", false),			/* overlong NUL */
	U("\xc1\xbf", false),
	U("\xe0\x9f\xbf", false),		/* overlong */
	U("\xf0\x8f\xbf\xbf", false),		/* overlong */
	U("\xed\xa0\x80", false),		/* surrogate */
	U("\xed\xbf\xbf", false),
	U("\xf4\x90\x80\x80", false),		/* > U+10FFFF */
	U("\xf5\x80\x80\x80", false),
	U("\xff", false),
	U("\x80", false),
	U("ok\xc3\xa4then\xff", false),
#undef U
};

START_TEST(utf8_table)
{
	const struct utf8_case *c = &utf8_cases[_i];

	ck_assert_msg(str_valid_utf8(c->in, c->len) == c->valid,
	    "case %d: want %s", _i, c->valid ? "valid" : "invalid");
}
END_TEST

START_TEST(utf8_length_is_authoritative)
{
	/* only the first len bytes count */
	ck_assert(str_valid_utf8("ab\xff", 2));
	ck_assert(!str_valid_utf8("\xc3\xa4", 1));
}
END_TEST

/* ----------------------------------------------------------------- trim */

START_TEST(trim_cases)
{
	char	 a[] = "  \t value with  spaces \r\n";
	char	 b[] = "";
	char	 c[] = " \t\n ";
	char	 d[] = "x";

	ck_assert_str_eq(str_trim(a), "value with  spaces");
	ck_assert_str_eq(str_trim(b), "");
	ck_assert_str_eq(str_trim(c), "");
	ck_assert_str_eq(str_trim(d), "x");
}
END_TEST

/* ----------------------------------------------------------------- uint */

static const struct uint_case {
	const char *in;
	int	 ret;
	unsigned val;
} uint_cases[] = {
	{ "0", 0, 0 },
	{ "42", 0, 42 },
	{ "0010", 0, 10 },
	{ "4294967295", 0, 4294967295u },	/* UINT_MAX barely fits */
	{ "4294967296", -1, 0 },		/* one over */
	{ "99999999999999999999999", -1, 0 },
	{ "", -1, 0 },
	{ "-1", -1, 0 },
	{ "+1", -1, 0 },
	{ " 1", -1, 0 },
	{ "1 ", -1, 0 },
	{ "1x", -1, 0 },
	{ "0x10", -1, 0 },
};

START_TEST(uint_table)
{
	const struct uint_case *c = &uint_cases[_i];
	unsigned v = 12345;

	ck_assert_msg(str_to_uint(c->in, &v) == c->ret, "case \"%s\"", c->in);
	if (c->ret == 0)
		ck_assert_uint_eq(v, c->val);
	else
		ck_assert_uint_eq(v, 12345);	/* untouched on error */
}
END_TEST

/* ----------------------------------------------------------------- time */

static const struct time_case {
	const char *in;
	char	 defunit;
	int	 ret;
	unsigned long long ms;
} time_cases[] = {
	{ "10", 's', 0, 10000 },
	{ "10", 'm', 0, 600000 },
	{ "10", 'h', 0, 36000000 },
	{ "1", 'd', 0, 86400000 },
	{ "1", 'w', 0, 604800000 },
	{ "10s", 'm', 0, 10000 },		/* explicit unit wins */
	{ "5m", 's', 0, 300000 },
	{ "1h", 's', 0, 3600000 },
	{ "3600s", 's', 0, 3600000 },
	{ "2d", 's', 0, 172800000 },
	{ "1w", 's', 0, 604800000 },
	{ "500ms", 's', 0, 500 },
	{ "0", 's', 0, 0 },
	{ "0s", 's', 0, 0 },
	/* largest whole-week value that fits in 64 bits, and one more */
	{ "30500568904w", 's', 0, 30500568904ULL * 604800000ULL },
	{ "30500568905w", 's', -1, 0 },
	{ "18446744073709551615ms", 's', 0, 18446744073709551615ULL },
	{ "18446744073709551616ms", 's', -1, 0 },
	{ "", 's', -1, 0 },
	{ "s", 's', -1, 0 },
	{ "10x", 's', -1, 0 },
	{ "10S", 's', -1, 0 },			/* Postfix: lower case only */
	{ "10ss", 's', -1, 0 },
	{ "10 s", 's', -1, 0 },
	{ " 10", 's', -1, 0 },
	{ "-10", 's', -1, 0 },
	{ "1.5h", 's', -1, 0 },
	{ "10", 'x', -1, 0 },			/* bad default unit */
	{ "10", '\0', -1, 0 },
};

START_TEST(time_table)
{
	const struct time_case *c = &time_cases[_i];
	unsigned long long ms = 777;

	ck_assert_msg(str_to_time(c->in, c->defunit, &ms) == c->ret,
	    "case \"%s\" default '%c'", c->in, c->defunit);
	if (c->ret == 0)
		ck_assert_msg(ms == c->ms, "\"%s\": got %llu, want %llu",
		    c->in, ms, c->ms);
	else
		ck_assert(ms == 777);
}
END_TEST

/* ----------------------------------------------------------------- bool */

static const struct bool_case {
	const char *in;
	int	 ret;
	bool	 val;
} bool_cases[] = {
	{ "yes", 0, true },
	{ "YES", 0, true },
	{ "Yes", 0, true },
	{ "no", 0, false },
	{ "NO", 0, false },
	{ "nO", 0, false },
	{ "", -1, false },
	{ "y", -1, false },
	{ "true", -1, false },		/* Postfix knows yes/no only */
	{ "1", -1, false },
	{ "yes ", -1, false },
	{ "noo", -1, false },
};

START_TEST(bool_table)
{
	const struct bool_case *c = &bool_cases[_i];
	bool	 v = !c->val;

	ck_assert_msg(str_to_bool(c->in, &v) == c->ret, "case \"%s\"", c->in);
	if (c->ret == 0)
		ck_assert(v == c->val);
}
END_TEST

/* ---------------------------------------------------------------- xalloc */

START_TEST(xalloc_basics)
{
	char	*p;
	int	*a;

	p = xasprintf("%s-%d", "abc", 12);
	ck_assert_str_eq(p, "abc-12");
	free(p);
	p = xstrndup("abcdef", 3);
	ck_assert_str_eq(p, "abc");
	free(p);
	p = xstrndup("ab", 10);
	ck_assert_str_eq(p, "ab");
	free(p);
	p = xstrdup("");
	ck_assert_str_eq(p, "");
	free(p);
	a = xcalloc(4, sizeof(*a));
	ck_assert_int_eq(a[3], 0);
	a = xreallocarray(a, 8, sizeof(*a));
	a[7] = 1;
	free(a);
	free(xmalloc(0));
}
END_TEST

START_TEST(xalloc_overflow_is_fatal)
{
	log_quiet();
	(void)xreallocarray(NULL, SIZE_MAX / 2, 4);
}
END_TEST

/* ------------------------------------------------------------------ log */

/* log_read_file - the whole file into a fresh string */
static char *
log_read_file(const char *path)
{
	FILE	*fp = fopen(path, "r");
	char	*s;
	long	 n;

	ck_assert_ptr_nonnull(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = xmalloc((size_t)n + 1);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	fclose(fp);
	return s;
}

START_TEST(log_file_format)
{
	char	 path[] = "/tmp/check_util_log.XXXXXX";
	const char *error;
	char	*s, *pat, *big;
	regex_t	 re;
	int	 fd;
	size_t	 nl, i;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(log_open("vrcptd", LOG_DEST_FILE, "mail", path,
	    &error), 0);
	errno = ENOENT;
	msg_info("NOQUEUE: reject: RCPT from x[1.2.3.4]: %d", 550);
	ck_assert_int_eq(errno, ENOENT);	/* preserved */
	msg_warn("lookup failed: %m");
	msg_error("broken\r\nNov 25 00:00:00 host postfix/smtpd[1]: forged");
	log_set_verbose(0);
	msg_debug("invisible");
	log_set_verbose(1);
	ck_assert_int_eq(log_verbose(), 1);
	msg_debug("visible");
	log_set_verbose(0);
	big = xmalloc(10000);
	memset(big, 'x', 9999);
	big[9999] = '\0';
	msg_info("%s", big);
	free(big);
	log_close();

	s = log_read_file(path);
	unlink(path);
	/* Postfix postlogd maillog_file format, local time */
	pat = xasprintf("^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
	    "[ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [^ ]+ "
	    "vrcptd\\[%ld\\]: ", (long)getpid());
	ck_assert_int_eq(regcomp(&re, pat, REG_EXTENDED | REG_NEWLINE), 0);
	free(pat);

	/* five lines: the CR/LF inside a message did not make a new line */
	for (nl = 0, i = 0; s[i] != '\0'; i++)
		nl += s[i] == '\n';
	ck_assert_uint_eq(nl, 5);
	{
		char	*line = s, *end;
		const char *want[] = {
			"NOQUEUE: reject: RCPT from x[1.2.3.4]: 550",
			"warning: lookup failed: No such file or directory",
			"error: broken  Nov 25 00:00:00 host postfix/smtpd[1]: "
			    "forged",
			"visible",
			NULL
		};
		regmatch_t m;

		for (i = 0; i < 5; i++) {
			end = strchr(line, '\n');
			ck_assert_ptr_nonnull(end);
			*end = '\0';
			ck_assert_msg(regexec(&re, line, 1, &m, 0) == 0,
			    "bad line format: %s", line);
			if (want[i] != NULL && i < 4)
				ck_assert_str_eq(line + m.rm_eo, want[i]);
			else
				/* cut to fit one line, of 'x's only */
				ck_assert(strlen(line) < 4096 &&
				    strlen(line + m.rm_eo) > 1000 &&
				    strspn(line + m.rm_eo, "x") ==
				    strlen(line + m.rm_eo));
			line = end + 1;
		}
	}
	regfree(&re);
	free(s);
}
END_TEST

#define LOG_THREADS		4
#define LOG_THREAD_LINES	2000
#define LOG_REOPENS		50

/* log_thread - many long lines from one thread */
static void *
log_thread(void *arg)
{
	char	 pad[600];
	int	 i, id = (int)(long)arg;

	memset(pad, 'a' + id, sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (i = 0; i < LOG_THREAD_LINES; i++)
		msg_info("thread %d line %d %s end", id, i, pad);
	return NULL;
}

/*
 * Worker threads log at once while the log is reopened (SIGHUP reload):
 * every line must arrive whole, none lost, none interleaved.
 */
START_TEST(log_threads_whole_lines)
{
	char	 path[] = "/tmp/check_util_log.XXXXXX";
	pthread_t th[LOG_THREADS];
	const char *error;
	char	*s, *line, *end, pad[600];
	int	 fd, i, id, n, seen[LOG_THREADS] = { 0 };
	long	 k;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(log_open("vrcptd", LOG_DEST_FILE, "mail", path,
	    &error), 0);
	for (k = 0; k < LOG_THREADS; k++)
		ck_assert_int_eq(pthread_create(&th[k], NULL, log_thread,
		    (void *)k), 0);
	for (i = 0; i < LOG_REOPENS; i++)
		ck_assert_int_eq(log_open("vrcptd", LOG_DEST_FILE, "mail",
		    path, &error), 0);
	for (k = 0; k < LOG_THREADS; k++)
		pthread_join(th[k], NULL);
	log_close();

	s = log_read_file(path);
	unlink(path);
	for (line = s; *line != '\0'; line = end + 1) {
		end = strchr(line, '\n');
		ck_assert_ptr_nonnull(end);
		*end = '\0';
		line = strstr(line, "]: thread ");
		ck_assert_ptr_nonnull(line);
		ck_assert_int_eq(sscanf(line, "]: thread %d line %d", &id, &n),
		    2);
		ck_assert(id >= 0 && id < LOG_THREADS);
		ck_assert_int_eq(n, seen[id]);	/* in order, none lost */
		seen[id]++;
		memset(pad, 'a' + id, sizeof(pad) - 1);
		pad[sizeof(pad) - 1] = '\0';
		ck_assert_ptr_nonnull(strstr(line, pad));
		ck_assert_str_eq(end - 4, " end");
	}
	for (id = 0; id < LOG_THREADS; id++)
		ck_assert_int_eq(seen[id], LOG_THREAD_LINES);
	free(s);
}
END_TEST

START_TEST(log_open_errors)
{
	const char *error = NULL;

	ck_assert(log_facility_valid("mail"));
	ck_assert(log_facility_valid("LOCAL7"));
	ck_assert(log_facility_valid("daemon"));
	ck_assert(log_facility_valid("user"));
	ck_assert(!log_facility_valid("local8"));
	ck_assert(!log_facility_valid(""));
	ck_assert(!log_facility_valid(NULL));
	ck_assert_int_eq(log_open("vrcptd", LOG_DEST_SYSLOG, "nosuch", NULL,
	    &error), -1);
	ck_assert_ptr_nonnull(error);
	ck_assert_int_eq(log_open("vrcptd", LOG_DEST_FILE, "mail",
	    "/nonexistent/dir/log", &error), -1);
	ck_assert_int_eq(log_open("", LOG_DEST_STDERR, "mail", NULL, &error),
	    -1);
	ck_assert_int_eq(log_open("vrcptd", LOG_DEST_FILE, "mail",
	    "/dev/stderr", &error), 0);
	log_close();
}
END_TEST

START_TEST(log_fatal_exits_1)
{
	log_quiet();
	msg_fatal("cannot %s", "continue");
}
END_TEST

START_TEST(log_panic_aborts)
{
	log_quiet();
	msg_panic("broken invariant");
}
END_TEST

/* ---------------------------------------------------------------- clock */

START_TEST(clock_sane)
{
	uint64_t a = clock_mono_us(), b = clock_mono_us();

	ck_assert(b >= a);
	ck_assert(clock_wall_s() > 1600000000);	/* after 2020 */
}
END_TEST

#define NELEM(a)	((int)(sizeof(a) / sizeof((a)[0])))

/*
 * A reconnect loop must neither hammer a dead server (delays grow to
 * the cap) nor retry in step with every other client (jitter), and it
 * must start small again after a success.
 */
START_TEST(backoff_grows_caps_and_jitters)
{
	static const unsigned want_cur[] = { 100, 200, 400, 800, 1600, 3200,
	    5000, 5000 };
	unsigned cur = 0, d, i, round, distinct = 0, first = 0;

	for (i = 0; i < sizeof(want_cur) / sizeof(want_cur[0]); i++) {
		d = backoff_next(&cur, 100, 5000);
		ck_assert_uint_eq(cur, want_cur[i]);
		ck_assert_uint_ge(d, cur / 2);
		ck_assert_uint_le(d, cur);
	}
	/* jitter: 50 first delays are not all the same */
	for (round = 0; round < 50; round++) {
		cur = 0;
		d = backoff_next(&cur, 1000, 60000);
		if (round == 0)
			first = d;
		else if (d != first)
			distinct++;
	}
	ck_assert_uint_gt(distinct, 0);
	ck_assert_uint_ne(rand_seed(), rand_seed());
}
END_TEST

static Suite *
util_suite(void)
{
	Suite	*s = suite_create("util");
	TCase	*tc;
	const char *fork = getenv("CK_FORK");
	bool	 forking = fork == NULL || strcmp(fork, "no") != 0;

	tc = tcase_create("buf");
	tcase_add_test(tc, buf_limit_barely_fits);
	tcase_add_test(tc, buf_limit_overflow_size);
	tcase_add_test(tc, buf_printf_all_or_nothing);
	tcase_add_test(tc, buf_grow_unlimited);
	tcase_add_test(tc, buf_consume_reset_binary);
	if (forking)
		tcase_add_test_raise_signal(tc, buf_consume_too_much_panics,
		    SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("strutil");
	tcase_add_loop_test(tc, sanitize_table, 0, NELEM(sanitize_cases));
	tcase_add_test(tc, sanitize_output_is_always_safe);
	tcase_add_loop_test(tc, fold_table, 0, NELEM(fold_cases));
	tcase_add_test(tc, fold_lower_ascii);
	tcase_add_loop_test(tc, utf8_table, 0, NELEM(utf8_cases));
	tcase_add_test(tc, utf8_length_is_authoritative);
	tcase_add_test(tc, trim_cases);
	tcase_add_loop_test(tc, uint_table, 0, NELEM(uint_cases));
	tcase_add_loop_test(tc, time_table, 0, NELEM(time_cases));
	tcase_add_loop_test(tc, bool_table, 0, NELEM(bool_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("xalloc");
	tcase_add_test(tc, xalloc_basics);
	if (forking)
		tcase_add_exit_test(tc, xalloc_overflow_is_fatal, 1);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, log_file_format);
	tcase_add_test(tc, log_open_errors);
	tcase_add_test(tc, log_threads_whole_lines);
	tcase_set_timeout(tc, 120);
	if (forking) {
		tcase_add_exit_test(tc, log_fatal_exits_1, 1);
		tcase_add_test_raise_signal(tc, log_panic_aborts, SIGABRT);
	}
	suite_add_tcase(s, tc);

	tc = tcase_create("clock");
	tcase_add_test(tc, clock_sane);
	suite_add_tcase(s, tc);

	tc = tcase_create("rand");
	tcase_add_test(tc, backoff_grows_caps_and_jitters);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(util_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
