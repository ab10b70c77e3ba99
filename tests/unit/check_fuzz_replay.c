/*
 * check_fuzz_replay - replay every fuzz corpus through its target under
 * the ordinary unit build (gcc, also under valgrind and with
 * SANITIZE=...), so that inputs that once found a bug, and the seeds,
 * keep being tried without clang.
 *
 * Inputs: every file of tests/fuzz/corpus/<target>/ (and, for the policy
 * parser, the .in files of tests/golden/); paths relative to the
 * repository root, where the tests run. The targets are the files
 * tests/fuzz/fuzz_<target>.c, each compiled with FUZZ_ENTRY defined as
 * fuzz_<target>_one (GNUmakefile); their invariants abort, which check
 * reports as an error naming the target.
 *
 * Under valgrind (scripts/run-unit.sh exports VALGRIND=1), which is some
 * fifty times slower, the inputs libFuzzer found (named by their SHA-1)
 * are replayed one in REPLAY_VALGRIND_EVERY, the same ones each time;
 * seeds and named regression inputs always.
 */
#include <check.h>
#include <glob.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_FILE_MAX	(1024 * 1024)	/* bytes per input */
#define REPLAY_MIN_FILES 8		/* fewer: the corpus went missing */
#define REPLAY_GLOBS	2
#define REPLAY_VALGRIND_EVERY 16	/* found inputs under valgrind: the
					 * whole corpus runs under ASan and
					 * UBSan in check-fuzz */
#define REPLAY_SHA1_LEN	40		/* libFuzzer's file names */

typedef int fuzz_one_fn(const uint8_t *, size_t);

fuzz_one_fn fuzz_policy_one, fuzz_milter_addr_one, fuzz_milter_session_one,
    fuzz_addr_one, fuzz_sqlmap_one, fuzz_config_one, fuzz_cachefmt_one,
    fuzz_maps_one, fuzz_sentinelfmt_one, fuzz_fence_one, fuzz_control_one,
    fuzz_endpoint_one, fuzz_socketmap_one;

static const struct replay_target {
	const char *name;
	fuzz_one_fn *one;
	const char *globs[REPLAY_GLOBS];	/* NULL-padded */
} targets[] = {
	{ "policy", fuzz_policy_one,
	    { "tests/fuzz/corpus/policy/*", "tests/golden/*.in" } },
	{ "milter_addr", fuzz_milter_addr_one,
	    { "tests/fuzz/corpus/milter_addr/*" } },
	{ "milter_session", fuzz_milter_session_one,
	    { "tests/fuzz/corpus/milter_session/*" } },
	{ "addr", fuzz_addr_one, { "tests/fuzz/corpus/addr/*" } },
	{ "sqlmap", fuzz_sqlmap_one, { "tests/fuzz/corpus/sqlmap/*" } },
	{ "config", fuzz_config_one, { "tests/fuzz/corpus/config/*" } },
	{ "cachefmt", fuzz_cachefmt_one, { "tests/fuzz/corpus/cachefmt/*" } },
	{ "maps", fuzz_maps_one, { "tests/fuzz/corpus/maps/*" } },
	{ "sentinelfmt", fuzz_sentinelfmt_one,
	    { "tests/fuzz/corpus/sentinelfmt/*" } },
	{ "fence", fuzz_fence_one, { "tests/fuzz/corpus/fence/*" } },
	{ "control", fuzz_control_one, { "tests/fuzz/corpus/control/*" } },
	{ "endpoint", fuzz_endpoint_one, { "tests/fuzz/corpus/endpoint/*" } },
	{ "socketmap", fuzz_socketmap_one,
	    { "tests/fuzz/corpus/socketmap/*" } },
};

/* replay_found - path is an input libFuzzer found: 40 hex digits */
static bool
replay_found(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base != NULL ? base + 1 : path;
	return strlen(base) == REPLAY_SHA1_LEN &&
	    strspn(base, "0123456789abcdef") == REPLAY_SHA1_LEN;
}

/* replay_glob - feed each file matching pattern to one; how many */
static size_t
replay_glob(fuzz_one_fn *one, const char *pattern)
{
	glob_t	 g;
	size_t	 i, n;
	uint8_t	*data = malloc(REPLAY_FILE_MAX + 1);
	FILE	*fp;
	const char *vg = getenv("VALGRIND");
	bool	 sample = vg != NULL && strcmp(vg, "1") == 0;

	ck_assert_ptr_nonnull(data);
	if (glob(pattern, 0, NULL, &g) != 0) {
		free(data);
		return 0;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		/* glob() sorts: the same sample every time */
		if (sample && replay_found(g.gl_pathv[i]) &&
		    i % REPLAY_VALGRIND_EVERY != 0)
			continue;
		fp = fopen(g.gl_pathv[i], "rb");
		ck_assert_msg(fp != NULL, "%s: cannot open", g.gl_pathv[i]);
		n = fread(data, 1, REPLAY_FILE_MAX + 1, fp);
		fclose(fp);
		ck_assert_msg(n <= REPLAY_FILE_MAX, "%s: too large",
		    g.gl_pathv[i]);
		(void)one(data, n);
	}
	n = g.gl_pathc;
	globfree(&g);
	free(data);
	return n;
}

START_TEST(replay_corpus)
{
	const struct replay_target *t = &targets[_i];
	size_t	 g, n;

	for (g = 0; g < REPLAY_GLOBS && t->globs[g] != NULL; g++) {
		n = replay_glob(t->one, t->globs[g]);
		ck_assert_msg(n >= (g == 0 ? REPLAY_MIN_FILES : 1),
		    "%s: only %zu files in %s (run from the repository root)",
		    t->name, n, t->globs[g]);
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("fuzz_replay");
	TCase	*tc = tcase_create("corpus");
	SRunner	*sr;
	int	 failed;

	/* valgrind runs this too: the corpora are minimised to stay quick */
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, replay_corpus, 0, sizeof(targets) / sizeof(targets[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
