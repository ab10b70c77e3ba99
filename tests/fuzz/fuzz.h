#ifndef VRCPT_FUZZ_H
#define VRCPT_FUZZ_H
/*
 * fuzz.h - what the fuzz targets in tests/fuzz/ share.
 *
 * Each target is one file with one entry point, FUZZ_ENTRY. Built with
 * clang -fsanitize=fuzzer ("make fuzz") it is libFuzzer's
 * LLVMFuzzerTestOneInput; built for the corpus replay under "make
 * check-unit" (tests/unit/check_fuzz_replay.c, gcc, also valgrind) the
 * Makefile defines FUZZ_ENTRY as fuzz_<target>_one so that every target
 * links into one binary.
 *
 * Invariants are FUZZ_ASSERT()s: a violation prints the condition and
 * aborts, which libFuzzer reports as a crash (and saves the input) and
 * check reports as a failed test.
 *
 * Structured targets cut their input into fields with struct fuzz_in:
 * bytes, little numbers and strings, each string in a fresh allocation
 * of exactly its size, so that ASan sees a read one byte past its NUL.
 * An exhausted input yields zeros and empty strings, never an error:
 * every byte string is a valid input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_ENTRY
#define FUZZ_ENTRY	LLVMFuzzerTestOneInput
#endif

int	FUZZ_ENTRY(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* a cursor over the fuzz input */
struct fuzz_in {
	const uint8_t *p;
	size_t	 n;
};

/* fuzz_byte - the next byte, 0 when the input is used up */
static inline uint8_t
fuzz_byte(struct fuzz_in *in)
{
	uint8_t	 b;

	if (in->n == 0)
		return 0;
	b = in->p[0];
	in->p++;
	in->n--;
	return b;
}

/* fuzz_u16 - two bytes, little-endian */
static inline size_t
fuzz_u16(struct fuzz_in *in)
{
	size_t	 lo = fuzz_byte(in);

	return lo | (size_t)fuzz_byte(in) << 8;
}

/*
 * fuzz_bytes - the next n bytes (fewer at the end) in a fresh allocation
 * of exactly *len_r + 1 bytes, NUL-terminated; NUL bytes inside are
 * kept (C-string users see a shorter string). Caller frees.
 */
static inline char *
fuzz_bytes(struct fuzz_in *in, size_t n, size_t *len_r)
{
	char	*s;

	if (n > in->n)
		n = in->n;
	if ((s = malloc(n + 1)) == NULL)
		abort();
	if (n > 0)
		memcpy(s, in->p, n);
	s[n] = '\0';
	in->p += n;
	in->n -= n;
	if (len_r != NULL)
		*len_r = n;
	return s;
}

/*
 * fuzz_str - a string up to the next NUL byte of the input (or its end),
 * as a C string of exactly that size. Caller frees.
 */
static inline char *
fuzz_str(struct fuzz_in *in)
{
	const uint8_t *nul = memchr(in->p, '\0', in->n);
	size_t	 n = nul != NULL ? (size_t)(nul - in->p) : in->n;
	char	*s = fuzz_bytes(in, n, NULL);

	if (nul != NULL) {
		in->p++;
		in->n--;
	}
	return s;
}

/* fuzz_exact - a NUL-terminated copy of p[0..n) of exactly n + 1 bytes */
static inline char *
fuzz_exact(const void *p, size_t n)
{
	struct fuzz_in in = { p, n };

	return fuzz_bytes(&in, n, NULL);
}

#endif
