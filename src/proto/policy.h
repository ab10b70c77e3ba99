#ifndef VRCPT_POLICY_H
#define VRCPT_POLICY_H
/*
 * policy - the Postfix policy delegation protocol (SMTPD_POLICY_README),
 * as an incremental parser and a reply formatter.
 *
 * A request is "name=value\n" lines ending with an empty line. The parser
 * is fed the bytes received so far; it returns PP_AGAIN until a whole
 * request is there, checking every limit on partial input too, so a
 * peer cannot make us buffer more than POLICY_REQUEST_MAX bytes. A
 * trailing "\r" before "\n" is tolerated (people test with telnet).
 * Unknown attributes are ignored; a repeated attribute keeps its first
 * value. Names may not be empty; a line without "=" or a NUL byte
 * anywhere is a protocol error.
 *
 * Depends on: util/. No I/O. Security: this is the first code that
 * touches bytes from the socket.
 */
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

#define POLICY_LINE_MAX		4096		/* one name=value line, bytes,
						 * without the newline */
#define POLICY_REQUEST_MAX	(64 * 1024)	/* one request, bytes */
#define POLICY_ATTR_MAX		128		/* attribute lines per request
						 * (Postfix 3.7 sends ~30) */

enum pp_status {
	PP_DONE,		/* a request was parsed; see *consumed_r */
	PP_AGAIN,		/* need more bytes */
	PP_ERROR		/* protocol violation; see *why_r */
};

enum pp_error {
	PP_ERR_NONE,
	PP_ERR_LINE_TOO_LONG,
	PP_ERR_REQUEST_TOO_LARGE,
	PP_ERR_TOO_MANY_ATTRS,
	PP_ERR_NO_EQUALS,
	PP_ERR_EMPTY_NAME,
	PP_ERR_NUL_BYTE
};

/* the attributes vrcpt uses, in this order (pp_set takes them so) */
#define POLICY_FIELDS(X)						\
	X(request)		/* "smtpd_access_policy" */		\
	X(protocol_state)	/* "RCPT", ... */			\
	X(protocol_name)	/* "SMTP" / "ESMTP" */			\
	X(client_address)						\
	X(client_name)							\
	X(client_port)							\
	X(reverse_client_name)						\
	X(helo_name)							\
	X(sender)							\
	X(recipient)							\
	X(queue_id)							\
	X(instance)							\
	X(sasl_username)

enum policy_field {
#define POLICY_X_ID(f) POLICY_F_##f,
	POLICY_FIELDS(POLICY_X_ID)
#undef POLICY_X_ID
	POLICY_NFIELDS
};

/*
 * A request: the attributes vrcpt uses (NULL when absent), pointing into
 * the request's own arena, a copy of the request's bytes. The arena is
 * kept from one request to the next, so that a request struct that is
 * reused (one per client connection) parses without allocating once it
 * has grown to the size of the requests it sees. Start with a zeroed
 * struct; policy_req_free() releases the arena.
 */
struct policy_req {
#define POLICY_X_FIELD(f) const char *f;
	POLICY_FIELDS(POLICY_X_FIELD)
#undef POLICY_X_FIELD
	size_t	 nattrs;		/* attribute lines seen */
	struct buf arena;		/* private: the values' storage */
};

/*
 * pp_parse - parse one request from buf[0..len). On PP_DONE fills *req
 * (its arena is reused; fields point into it, valid until the next
 * pp_parse/pp_set on req or policy_req_free) and sets *consumed_r to
 * the bytes used, including the empty line; the rest of buf is the
 * next request. On PP_AGAIN and PP_ERROR the fields are all NULL; on
 * PP_ERROR *why_r says why.
 */
enum pp_status pp_parse(const char *buf, size_t len, struct policy_req *req,
	    size_t *consumed_r, enum pp_error *why_r);
/*
 * pp_set - fill *req from vals[POLICY_NFIELDS] (NULL: absent), copied
 * into its arena, as if parsed; nattrs is set to nattrs. For requests
 * made rather than received (vrcpt-milter).
 */
void	pp_set(struct policy_req *req, const char *const vals[POLICY_NFIELDS],
	    size_t nattrs);
void	policy_req_free(struct policy_req *req);
const char *pp_strerror(enum pp_error why);

/*
 * pp_reply_value - the value of the first "name" attribute of a reply
 * that pp_parse() accepted, buf[0..len) (up to its empty line; a "\r"
 * before "\n" is not part of the value), as a new string (caller
 * frees), or NULL when there is none. The first wins, as in Postfix's
 * attr_scan.
 */
char	*pp_reply_value(const char *buf, size_t len, const char *name);

/*
 * pp_format_reply - append "action=ACTION\n\n". The action must not
 * contain a newline or NUL (a programming error: panics). 0, or -1 when
 * the buffer limit is reached.
 */
int	pp_format_reply(struct buf *out, const char *action);

#endif
