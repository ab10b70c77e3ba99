#ifndef VRCPT_REFERENCE_H
#define VRCPT_REFERENCE_H
/*
 * reference - the configuration reference, written from the parameter
 * table (params.h): deploy/vrcptd.cf is its output ("make docs"), and
 * "make check" fails when the committed file differs.
 *
 * Depends on: util/buf, conf/. Pure.
 */
struct buf;

/* reference_cf - the commented vrcptd.cf: every parameter, its default */
void	reference_cf(struct buf *out);

#endif
