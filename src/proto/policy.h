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

/* the attributes vrcpt uses; NULL when absent. Owned by the request. */
struct policy_req {
	char	*request;		/* "smtpd_access_policy" */
	char	*protocol_state;	/* "RCPT", ... */
	char	*protocol_name;		/* "SMTP" / "ESMTP" */
	char	*client_address;
	char	*client_name;
	char	*client_port;
	char	*reverse_client_name;
	char	*helo_name;
	char	*sender;
	char	*recipient;
	char	*queue_id;
	char	*instance;
	char	*sasl_username;
	size_t	 nattrs;		/* attribute lines seen */
};

/*
 * pp_parse - parse one request from buf[0..len). On PP_DONE fills *req
 * (free with policy_req_free) and sets *consumed_r to the bytes used,
 * including the empty line; the rest of buf is the next request. On
 * PP_AGAIN and PP_ERROR nothing is allocated; on PP_ERROR *why_r says
 * why.
 */
enum pp_status pp_parse(const char *buf, size_t len, struct policy_req *req,
	    size_t *consumed_r, enum pp_error *why_r);
void	policy_req_free(struct policy_req *req);
const char *pp_strerror(enum pp_error why);

/*
 * pp_format_reply - append "action=ACTION\n\n". The action must not
 * contain a newline or NUL (a programming error: panics). 0, or -1 when
 * the buffer limit is reached.
 */
int	pp_format_reply(struct buf *out, const char *action);

#endif
