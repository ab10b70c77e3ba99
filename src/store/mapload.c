/*
 * mapload - read Postfix table files into memory. See mapload.h.
 *
 * Depends on: libdb (Berkeley DB 5), liblmdb, libcdb (tinycdb), libc,
 * core/{map,mapidx,mappat,cachefmt}, conf/filemaps, store/mapre, util/.
 * Runs in the thread that loads the configuration (vrcptd's main
 * thread, vrcptctl); the result is immutable.
 *
 * Security: the files are root's (usually 0644 root:root) and read with
 * the daemon's privileges, after it dropped them on a reload; sizes are
 * bounded by core/mapidx and MAPLOAD_TEXT_MAX. Nothing read is executed
 * or logged unsanitised.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdb.h>
#include <db.h>
#include <lmdb.h>

#include "conf/filemaps.h"
#include "core/cachefmt.h"
#include "core/map.h"
#include "core/mapidx.h"
#include "core/mappat.h"
#include "store/mapload.h"
#include "store/mapre.h"
#include "util/buf.h"
#include "util/xalloc.h"

enum mapload_lock {
	MAPLOAD_LOCK_NONE,
	MAPLOAD_LOCK_FLOCK,	/* Berkeley DB: INTERNAL_LOCK on Linux */
	MAPLOAD_LOCK_FCNTL	/* LMDB: MYFLOCK_STYLE_FCNTL */
};

static void
mapload_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
mapload_stamp(const struct stat *st, struct map_stamp *s)
{
	memset(s, 0, sizeof(*s));
	s->dev = (uint64_t)st->st_dev;
	s->ino = (uint64_t)st->st_ino;
	s->size = (uint64_t)st->st_size;
	s->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
	    st->st_mtim.tv_nsec;
}

/* mapload_warn - append one line to *warn_r */
static void
mapload_warn(char **warn_r, char *line)
{
	char	*m;

	m = xasprintf("%s%s%s", *warn_r ? *warn_r : "", *warn_r ? "\n" : "",
	    line);
	free(line);
	free(*warn_r);
	*warn_r = m;
}

/*
 * mapload_lock - a shared lock on fd, waiting at most
 * MAPLOAD_LOCK_WAIT_MS for a writer (postmap) to finish. 0 / -1.
 */
static int
mapload_lock(int fd, enum mapload_lock how)
{
	struct flock fl;
	unsigned waited = 0;
	int	 rc;

	for (;;) {
		switch (how) {
		case MAPLOAD_LOCK_NONE:
			return 0;
		case MAPLOAD_LOCK_FLOCK:
			rc = flock(fd, LOCK_SH | LOCK_NB);
			break;
		case MAPLOAD_LOCK_FCNTL:
			memset(&fl, 0, sizeof(fl));
			fl.l_type = F_RDLCK;
			fl.l_whence = SEEK_SET;
			rc = fcntl(fd, F_SETLK, &fl);
			break;
		default:
			return -1;
		}
		if (rc == 0)
			return 0;
		if ((errno != EWOULDBLOCK && errno != EAGAIN &&
		    errno != EACCES && errno != EINTR) ||
		    waited >= MAPLOAD_LOCK_WAIT_MS)
			return -1;
		mapload_sleep_ms(10);
		waited += 10;
	}
}

/*
 * mapload_open_file - open path and lock it shared; *st_r is the file as
 * it is once locked. Returns the fd, or -1 with *err_r.
 */
static int
mapload_open_file(const char *path, enum mapload_lock how, struct stat *st_r,
    char **err_r)
{
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		*err_r = xasprintf("open database %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (mapload_lock(fd, how) < 0) {
		*err_r = xasprintf("shared-lock database %s for open: %s",
		    path, errno == EWOULDBLOCK || errno == EAGAIN ||
		    errno == EACCES ? "still locked by a writer" :
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (fstat(fd, st_r) < 0) {
		*err_r = xasprintf("fstat %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* mapload_put - one record; -1 with *err_r past a limit */
static int
mapload_put(struct mapidx *idx, const char *path, const void *k, size_t klen,
    const void *v, size_t vlen, char **err_r)
{
	if (mapidx_put(idx, k, klen, v, vlen, NULL) < 0) {
		*err_r = xasprintf("%s: a record is too large, or there are "
		    "too many", path);
		return -1;
	}
	return 0;
}

/*
 * Berkeley DB: dict_db.c.
 */
static int
mapload_db(const char *path, DBTYPE type, struct mapidx *idx, char **err_r)
{
	DB	*db = NULL;
	DBC	*cur = NULL;
	DBT	 k, v;
	int	 rc;

	if ((rc = db_create(&db, NULL, 0)) != 0) {
		*err_r = xasprintf("create DB database: %s", db_strerror(rc));
		return -1;
	}
	if ((rc = db->open(db, NULL, path, NULL, type, DB_RDONLY, 0644)) != 0) {
		*err_r = xasprintf("open database %s: %s", path,
		    db_strerror(rc));
		db->close(db, 0);
		return -1;
	}
	if ((rc = db->cursor(db, NULL, &cur, 0)) != 0) {
		*err_r = xasprintf("read database %s: %s", path,
		    db_strerror(rc));
		db->close(db, 0);
		return -1;
	}
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((rc = cur->get(cur, &k, &v, DB_NEXT)) == 0)
		if (mapload_put(idx, path, k.data, k.size, v.data, v.size,
		    err_r) < 0)
			break;
	if (rc != 0 && rc != DB_NOTFOUND)
		*err_r = xasprintf("read database %s: %s", path,
		    db_strerror(rc));
	cur->close(cur);
	db->close(db, 0);
	return *err_r != NULL ? -1 : 0;
}

/*
 * LMDB: dict_lmdb.c (MDB_NOSUBDIR | MDB_NOLOCK | MDB_RDONLY).
 */
static int
mapload_lmdb(const char *path, struct mapidx *idx, char **err_r)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi	 dbi;
	MDB_val	 k, v;
	int	 rc;

	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOLOCK |
	    MDB_RDONLY, 0644)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 ||
	    (rc = mdb_cursor_open(txn, dbi, &cur)) != 0) {
		*err_r = xasprintf("open database %s: %s", path,
		    mdb_strerror(rc));
		goto done;
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
		if (mapload_put(idx, path, k.mv_data, k.mv_size, v.mv_data,
		    v.mv_size, err_r) < 0)
			break;
	if (rc != 0 && rc != MDB_NOTFOUND && *err_r == NULL)
		*err_r = xasprintf("read database %s: %s", path,
		    mdb_strerror(rc));
done:
	if (cur != NULL)
		mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (env != NULL)
		mdb_env_close(env);
	return *err_r != NULL ? -1 : 0;
}

/*
 * tinycdb: dict_cdb.c. Duplicate keys keep the first record, the one
 * cdb_find() finds.
 */
static int
mapload_cdb(const char *path, int fd, struct mapidx *idx, char **err_r)
{
	struct cdb cdb;
	unsigned pos;
	const void *k, *v;

	if (cdb_init(&cdb, fd) < 0) {
		*err_r = xasprintf("open database %s: %s", path,
		    errno ? strerror(errno) : "not a cdb file");
		return -1;
	}
	cdb_seqinit(&pos, &cdb);
	while (cdb_seqnext(&pos, &cdb) > 0) {
		k = cdb_getkey(&cdb);
		v = cdb_getdata(&cdb);
		if (k == NULL || v == NULL) {
			*err_r = xasprintf("read database %s: truncated",
			    path);
			break;
		}
		if (mapload_put(idx, path, k, cdb_keylen(&cdb), v,
		    cdb_datalen(&cdb), err_r) < 0)
			break;
	}
	cdb_free(&cdb);
	return *err_r != NULL ? -1 : 0;
}

/*
 * mapload_text - a whole text file, read again while it changes under
 * us (dict_thash.c reads a "hot" file again). *st_r: the file as read.
 */
static int
mapload_text(const char *path, char **text_r, size_t *len_r,
    struct stat *st_r, char **err_r)
{
	struct stat before;
	struct buf b;
	char	 chunk[65536];
	ssize_t	 n;
	unsigned tries;
	int	 fd;

	for (tries = 0;; tries++) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			*err_r = xasprintf("open %s: %s", path,
			    strerror(errno));
			return -1;
		}
		if (fstat(fd, &before) < 0) {
			*err_r = xasprintf("fstat %s: %s", path,
			    strerror(errno));
			close(fd);
			return -1;
		}
		buf_init(&b, MAPLOAD_TEXT_MAX);
		for (;;) {
			n = read(fd, chunk, sizeof(chunk));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (buf_append(&b, chunk, (size_t)n) < 0) {
				errno = EFBIG;
				n = -1;
				break;
			}
		}
		if (n < 0 || fstat(fd, st_r) < 0) {
			*err_r = xasprintf("read %s: %s", path,
			    errno == EFBIG ? "file too large" :
			    strerror(errno));
			buf_free(&b);
			close(fd);
			return -1;
		}
		close(fd);
		if ((before.st_mtim.tv_sec == st_r->st_mtim.tv_sec &&
		    before.st_mtim.tv_nsec == st_r->st_mtim.tv_nsec &&
		    before.st_size == st_r->st_size &&
		    (size_t)st_r->st_size == b.len) ||
		    tries + 1 >= MAPLOAD_READ_TRIES)
			break;
		buf_free(&b);
		mapload_sleep_ms(MAPLOAD_SETTLE_MS);
	}
	*len_r = b.len;
	*text_r = xmalloc(b.len + 1);
	memcpy(*text_r, buf_str(&b), b.len + 1);
	buf_free(&b);
	return 0;
}

/* mapload_older - dict_db.c's warning about a forgotten postmap */
static void
mapload_older(const char *name, const char *path, const struct stat *db,
    char **warn_r)
{
	struct stat src;

	if (stat(name, &src) == 0 && src.st_mtime > db->st_mtime &&
	    src.st_mtime < time(NULL) - MAPLOAD_OLDER_GRACE_S)
		mapload_warn(warn_r, xasprintf("database %s is older than "
		    "source file %s", path, name));
}

int
mapload_open(const char *type, const char *name, struct map_file **mf_r,
    char **warn_r, char **err_r)
{
	struct map_file *mf;
	struct stat st;
	enum mappat_dialect dialect = MAPPAT_REGEXP;
	const struct mappat_engine *eng = &mapre_posix;
	const char *suffix = "";
	enum mapload_lock lock = MAPLOAD_LOCK_NONE;
	char	*text = NULL, *perr = NULL;
	size_t	 len;
	int	 fd, rc = -1;
	bool	 indexed = true, pattern = false;

	*mf_r = NULL;
	*err_r = NULL;
	if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0) {
		suffix = ".db";
		lock = MAPLOAD_LOCK_FLOCK;
	} else if (strcmp(type, "lmdb") == 0) {
		suffix = ".lmdb";
		lock = MAPLOAD_LOCK_FCNTL;
	} else if (strcmp(type, "cdb") == 0) {
		suffix = ".cdb";
	} else if (strcmp(type, "texthash") == 0) {
		indexed = false;
	} else if (strcmp(type, "regexp") == 0 ||
	    strcmp(type, "pcre") == 0) {
		indexed = false;
		pattern = true;
		if (type[0] == 'p') {
			dialect = MAPPAT_PCRE;
			eng = &mapre_pcre;
		}
	} else {
		*err_r = xasprintf("unsupported dictionary type: %s", type);
		return -1;
	}
	mf = xcalloc(1, sizeof(*mf));
	mf->type = xstrdup(type);
	mf->path = xasprintf("%s%s", name, suffix);

	if (indexed) {
		mf->idx = mapidx_new();
		if ((fd = mapload_open_file(mf->path, lock, &st, err_r)) < 0)
			goto done;
		if (strcmp(type, "cdb") == 0)
			rc = mapload_cdb(mf->path, fd, mf->idx, err_r);
		else if (strcmp(type, "lmdb") == 0)
			rc = mapload_lmdb(mf->path, mf->idx, err_r);
		else
			rc = mapload_db(mf->path, type[0] == 'h' ? DB_HASH :
			    DB_BTREE, mf->idx, err_r);
		/* closing the fd releases the lock (and, for fcntl, any
		 * other lock of this process on the file: there is none) */
		close(fd);
		if (rc < 0)
			goto done;
		mapload_older(name, mf->path, &st, warn_r);
		mf->content = mapidx_content(mf->idx);
	} else {
		if (mapload_text(mf->path, &text, &len, &st, err_r) < 0)
			goto done;
		mf->content = cachefmt_hash(text, len, CACHEFMT_HASH_INIT);
		if (pattern) {
			rc = mappat_parse(dialect, eng, mf->path, text, len,
			    &mf->pat, warn_r, &perr);
		} else {
			mf->idx = mapidx_new();
			rc = mapidx_parse_text(mf->idx, mf->path, text, len,
			    true, warn_r, &perr);
		}
		if (rc < 0) {
			*err_r = perr;
			goto done;
		}
	}
	mapload_stamp(&st, &mf->stamp);
	rc = 0;
done:
	free(text);
	if (rc < 0) {
		map_file_free(&mf);
		return -1;
	}
	*mf_r = mf;
	return 0;
}

void
mapload_register(void)
{
	conf_map_opener(mapload_open);
}
