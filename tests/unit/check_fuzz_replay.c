/*
 * check_fuzz_replay - replay the fuzz corpus through the parser's fuzz
 * target under the ordinary unit build (gcc, optionally SANITIZE=...),
 * so inputs that once found a bug keep being tried without clang.
 *
 * Inputs: every file in tests/fuzz/corpus/policy/ and the .in files of
 * tests/golden/ (paths relative to the repository root, where tests are
 * run). The invariants live in tests/fuzz/fuzz_policy.c; a violation
 * aborts, which check reports as an error naming this test.
 */
#include <check.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>

#include "../fuzz/fuzz_policy.c"

#define REPLAY_CORPUS	"tests/fuzz/corpus/policy/*"
#define REPLAY_GOLDEN	"tests/golden/*.in"
#define REPLAY_FILE_MAX	(1024 * 1024)	/* bytes per input */
#define REPLAY_MIN_FILES 10		/* fewer: the corpus went missing */

/* replay_glob - feed each file matching pattern; returns how many */
static size_t
replay_glob(const char *pattern)
{
	glob_t	 g;
	size_t	 i, n;
	uint8_t	*data = malloc(REPLAY_FILE_MAX + 1);
	FILE	*fp;

	ck_assert_ptr_nonnull(data);
	if (glob(pattern, 0, NULL, &g) != 0) {
		free(data);
		return 0;
	}
	for (i = 0; i < g.gl_pathc; i++) {
		fp = fopen(g.gl_pathv[i], "rb");
		ck_assert_msg(fp != NULL, "%s: cannot open", g.gl_pathv[i]);
		n = fread(data, 1, REPLAY_FILE_MAX + 1, fp);
		fclose(fp);
		ck_assert_msg(n <= REPLAY_FILE_MAX, "%s: too large",
		    g.gl_pathv[i]);
		(void)LLVMFuzzerTestOneInput(data, n);
	}
	n = g.gl_pathc;
	globfree(&g);
	free(data);
	return n;
}

START_TEST(replay_corpus)
{
	size_t	 n = replay_glob(REPLAY_CORPUS);

	ck_assert_msg(n >= REPLAY_MIN_FILES,
	    "only %zu files in %s (run from the repository root)", n,
	    REPLAY_CORPUS);
}
END_TEST

START_TEST(replay_golden)
{
	ck_assert_uint_gt(replay_glob(REPLAY_GOLDEN), 0);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("fuzz_replay");
	TCase	*tc = tcase_create("policy");
	SRunner	*sr;
	int	 failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, replay_corpus);
	tcase_add_test(tc, replay_golden);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
