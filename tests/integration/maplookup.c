/*
 * maplookup - the postmap -q of vrcpt's table-file reader, for the
 * tests (maps.sh) and for measuring: read TYPE:NAME with store/mapload
 * as vrcptd does, then look up each key of stdin (one per line) and
 * print "key<TAB>value" for the keys found, as "postmap -q - TYPE:NAME"
 * does. Keys are folded for indexed tables (DICT_FLAG_FOLD_FIX), not
 * for regexp: and pcre:, as postmap folds them.
 *
 *   maplookup TYPE:NAME < keys
 *   maplookup -b N TYPE:NAME < keys   time N rounds of the lookups and
 *                                     print ns per lookup on stderr
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/fact.h"
#include "core/map.h"
#include "store/mapload.h"
#include "util/buf.h"
#include "util/strutil.h"

#define KEYS_MAX	100000

int
main(int argc, char **argv)
{
	static char *keys[KEYS_MAX], *orig[KEYS_MAX];
	struct map m = { .type = MAP_FILE };
	struct timespec t0, t1;
	enum fact_result r;
	const char *v;
	char	*type, *name, *warn = NULL, *err = NULL, line[4096];
	size_t	 n = 0, i, len;
	long	 rounds = 0, k;
	double	 ns;
	int	 ch;

	while ((ch = getopt(argc, argv, "b:")) != -1) {
		if (ch != 'b')
			return 2;
		rounds = atol(optarg);
	}
	if (optind + 1 != argc || (name = strchr(argv[optind], ':')) == NULL)
		return 2;
	type = argv[optind];
	*name++ = '\0';
	if (mapload_open(type, name, &m.u.file, &warn, &err) < 0) {
		fprintf(stderr, "maplookup: %s\n", err);
		return 1;
	}
	if (warn != NULL)
		fprintf(stderr, "%s\n", warn);
	while (n < KEYS_MAX && fgets(line, sizeof(line), stdin) != NULL) {
		len = strcspn(line, "\n");
		line[len] = '\0';
		orig[n] = strdup(line);
		keys[n++] = m.u.file->pat != NULL ? strdup(line) :
		    str_fold_utf8(line);
	}
	if (rounds > 0) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (k = 0; k < rounds; k++)
			for (i = 0; i < n; i++)
				map_lookup_pure(&m, keys[i], &r, &v);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
		    (double)(t1.tv_nsec - t0.tv_nsec)) / ((double)rounds *
		    (double)n);
		fprintf(stderr, "%s: %zu keys x %ld: %.0f ns per lookup\n",
		    type, n, rounds, ns);
	}
	for (i = 0; i < n; i++) {
		map_lookup_pure(&m, keys[i], &r, &v);
		if (r == FACT_FOUND) {
			/* print the original spelling, as postmap does */
			struct buf out;
			bool	 empty;

			if (m.u.file->pat != NULL) {
				buf_init(&out, 0);
				mappat_lookup(m.u.file->pat, keys[i], &out,
				    &empty);
				printf("%s\t%s\n", orig[i], buf_str(&out));
				buf_free(&out);
			} else {
				printf("%s\t%s\n", orig[i], v);
			}
		}
		free(keys[i]);
		free(orig[i]);
	}
	map_file_free(&m.u.file);
	free(warn);
	return 0;
}
