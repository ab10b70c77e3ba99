#ifndef VRCPT_SOCKETMAP_H
#define VRCPT_SOCKETMAP_H
/*
 * socketmap - Postfix's socketmap_table(5) protocol, as an incremental
 * parser of requests and a formatter of replies.
 *
 * Each request and each reply is one netstring, "<length>:<bytes>,",
 * the length in decimal. A request's bytes are "<name> <key>"; a reply's
 * are "OK <value>", "NOTFOUND ", "TEMP <reason>", "TIMEOUT <reason>" or
 * "PERM <reason>" (Postfix: src/util/dict_sockmap.c, netstring.c).
 *
 * The parser is fed the bytes received so far; it returns
 * SOCKETMAP_AGAIN until a whole netstring is there, checking the limits
 * on partial input, so a peer cannot make us buffer more than
 * SOCKETMAP_NETSTRING_MAX bytes. A broken netstring (a length that is
 * not digits, longer than SOCKETMAP_QUERY_MAX, no ',' after the bytes)
 * cannot be resynchronised: SOCKETMAP_ERROR, and the caller closes the
 * connection. A well-formed netstring whose content is not a request
 * (no space, an empty name, a NUL byte) is SOCKETMAP_BAD: the caller
 * answers PERM and goes on with the next one.
 *
 * Depends on: util/. No I/O. Security: this is the first code that
 * touches bytes from the socket.
 */
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* dict_sockmap.c: DICT_SOCKMAP_DEF_MAX_QUERY, the longest request
 * Postfix sends; DICT_SOCKMAP_DEF_MAX_REPLY, the longest reply it reads */
#define SOCKETMAP_QUERY_MAX	10000
#define SOCKETMAP_REPLY_MAX	100000
#define SOCKETMAP_LEN_DIGITS	5	/* digits of SOCKETMAP_QUERY_MAX */
#define SOCKETMAP_RLEN_DIGITS	6	/* digits of SOCKETMAP_REPLY_MAX */
/* one whole request netstring: digits, ':', bytes, ',' */
#define SOCKETMAP_NETSTRING_MAX	(SOCKETMAP_LEN_DIGITS + 2 + \
				 SOCKETMAP_QUERY_MAX)
#define SOCKETMAP_NAME_MAX	64	/* a map name (a parameter name) */
#define SOCKETMAP_REASON_MAX	200	/* TEMP/PERM reason text */

enum socketmap_status {
	SOCKETMAP_DONE,		/* a request was parsed; see *consumed_r */
	SOCKETMAP_BAD,		/* a whole netstring, not a request: answer
				 * PERM (*why_r), consume *consumed_r */
	SOCKETMAP_AGAIN,	/* need more bytes */
	SOCKETMAP_ERROR		/* broken netstring (*why_r): disconnect */
};

enum socketmap_error {
	SOCKETMAP_ERR_NONE,
	SOCKETMAP_ERR_LENGTH,		/* the length is not [0-9]+ ':' */
	SOCKETMAP_ERR_TOO_LONG,		/* length > SOCKETMAP_QUERY_MAX */
	SOCKETMAP_ERR_NO_COMMA,		/* the bytes are not followed by ',' */
	SOCKETMAP_ERR_NO_SPACE,		/* no "name key" separator */
	SOCKETMAP_ERR_EMPTY_NAME,
	SOCKETMAP_ERR_NAME_TOO_LONG,
	SOCKETMAP_ERR_NUL_BYTE
};

/* a parsed request: spans borrowed from the input buffer, valid until
 * it is consumed; neither is NUL-terminated */
struct socketmap_req {
	const char *name;
	size_t	 name_len;
	const char *key;		/* may be empty */
	size_t	 key_len;
};

enum socketmap_reply {
	SOCKETMAP_OK,
	SOCKETMAP_NOTFOUND,
	SOCKETMAP_TEMP,
	SOCKETMAP_TIMEOUT,
	SOCKETMAP_PERM
};

/*
 * socketmap_parse - look for one request at the start of buf[0..len).
 * DONE and BAD set *consumed_r (the netstring's size); BAD and ERROR
 * set *why_r.
 */
enum socketmap_status socketmap_parse(const char *buf, size_t len,
	    struct socketmap_req *req, size_t *consumed_r,
	    enum socketmap_error *why_r);

/*
 * socketmap_format - append one reply netstring to out: "OK " text,
 * "NOTFOUND " (text ignored), or "TEMP "/"TIMEOUT "/"PERM " text, the
 * reason cut at SOCKETMAP_REASON_MAX and made printable (Postfix prints
 * it). Returns -1, appending nothing, when an OK reply would exceed
 * SOCKETMAP_REPLY_MAX (Postfix would refuse to read it) or out is full.
 * text may be NULL (empty).
 */
int	socketmap_format(struct buf *out, enum socketmap_reply kind,
	    const char *text, size_t tlen);

/*
 * socketmap_reply_frame - the client side (vrcptctl check --live): is
 * buf[0..len) one whole reply netstring? 1 with *used_r its size, 0
 * when more bytes are needed, -1 with *why_r when it is not a netstring
 * or longer than SOCKETMAP_REPLY_MAX (what Postfix would read).
 */
int	socketmap_reply_frame(const char *buf, size_t len, size_t *used_r,
	    const char **why_r);

/* socketmap_fits - would an OK reply with a tlen-byte value fit? */
bool	socketmap_fits(size_t tlen);

const char *socketmap_strerror(enum socketmap_error e);

#endif
