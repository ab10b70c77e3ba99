#ifndef VRCPT_TABLES_H
#define VRCPT_TABLES_H
/*
 * tables - the tables named by the *_maps and *_domains parameters,
 * opened as Postfix dict_open() opens them, and the engine's
 * configuration that uses them (struct conf, CONF_TABLES).
 *
 *   pgsql:/file.cf      read and parsed here (core/sqlmap); a relative
 *                       path is relative to the directory of vrcptd.cf
 *   proxy:...           proxy: dropped (the same table without proxymap)
 *   inline:{...}        dict_inline.c
 *   static:...          dict_static.c
 *   example.com         a plain domain name, *_domains only
 *
 * The same table named twice (say through virtual_alias_domains =
 * $virtual_alias_maps, or one .cf file under two names) is one struct
 * map, and a refused one is reported once.
 *
 * Internal to src/conf/: conf.c calls these with its loader state.
 */
struct conf;
struct conf_ld;

/* tables_build - every table list and ld->cfg->engine, dbconfs */
void	tables_build(struct conf_ld *ld);
/* tables_free - what tables_build made */
void	tables_free(struct conf *cfg);

#endif
