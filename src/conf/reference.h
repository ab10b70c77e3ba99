#ifndef VRCPT_REFERENCE_H
#define VRCPT_REFERENCE_H
/*
 * reference - the configuration reference, written from the parameter
 * table (params.h): deploy/vrcptd.cf and doc/vrcptd.cf.5 are its output
 * ("make docs"), and "make check" fails when a committed file differs.
 *
 * Depends on: util/buf, conf/. Pure.
 */
struct buf;

/* reference_cf - the commented vrcptd.cf: every parameter, its default */
void	reference_cf(struct buf *out);
/*
 * reference_man - the manual page vrcptd.cf(5), in roff: the syntax,
 * then every parameter with its default, type, readers and reload
 * behaviour (doc/vrcptd.cf.5 is its output)
 */
void	reference_man(struct buf *out);

#endif
