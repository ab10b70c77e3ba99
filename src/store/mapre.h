#ifndef VRCPT_MAPRE_H
#define VRCPT_MAPRE_H
/*
 * mapre - the regular expression engines of regexp: and pcre: tables
 * (core/mappat: struct mappat_engine):
 *
 *   mapre_posix  regcomp()/regexec() of the C library, as dict_regexp.c
 *                (REG_EXTENDED, REG_ICASE, REG_NEWLINE, REG_NOSUB)
 *   mapre_pcre   PCRE2, 8-bit, without PCRE2_UTF, as dict_pcre.c
 *                (CASELESS, MULTILINE, DOTALL, EXTENDED, ANCHORED,
 *                DOLLAR_ENDONLY, UNGREEDY); no JIT, as Postfix
 *
 * Both may match in many threads at once: regexec() is reentrant, and a
 * PCRE2 match uses match data of the calling thread.
 *
 * Depends on: libc regex, libpcre2-8, core/mappat.h.
 */
#include "core/mappat.h"

extern const struct mappat_engine mapre_posix;
extern const struct mappat_engine mapre_pcre;

#endif
