/*
 * loadlib.h - what the closed-loop load clients of make bench share
 * (policyload.c, smtpload.c): the recipient list, the clock, sorting
 * latencies. Header-only: each client is one cc command.
 *
 * The recipient file has one address a line, optionally followed by a
 * TAB and its class ('y': exists, 'n': unknown; anything else or none:
 * not checked). Exits 2 on an unreadable or empty file.
 */
#ifndef VRCPT_BENCH_LOADLIB_H
#define VRCPT_BENCH_LOADLIB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOAD_LINE_MAX	1024	/* of the recipient file */

struct rcpt {
	char	*addr;
	char	 class;
};

static struct rcpt *rcpts;
static size_t nrcpts, next_rcpt;

static inline uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* cmp_u64 - qsort order of latencies */
static inline int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* load_rcpts - read file into rcpts/nrcpts; prog names the complainer */
static inline void
load_rcpts(const char *prog, const char *file)
{
	FILE *fp = fopen(file, "r");
	char line[LOAD_LINE_MAX], *tab;
	size_t cap = 0;

	if (fp == NULL) {
		perror(file);
		exit(2);
	}
	while (fgets(line, sizeof(line), fp)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (*line == '\0')
			continue;
		if (nrcpts == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((rcpts = realloc(rcpts, cap * sizeof(*rcpts))) ==
			    NULL) {
				perror("realloc");
				exit(2);
			}
		}
		rcpts[nrcpts].class = 0;
		if ((tab = strchr(line, '\t')) != NULL) {
			*tab = '\0';
			rcpts[nrcpts].class = tab[1];
		}
		if ((rcpts[nrcpts++].addr = strdup(line)) == NULL) {
			perror("strdup");
			exit(2);
		}
	}
	fclose(fp);
	if (nrcpts == 0) {
		fprintf(stderr, "%s: %s: no recipients\n", prog, file);
		exit(2);
	}
}

#endif
