/*
 * OAuth machine-to-machine tokens for Zerobus (zerobus-protocol.md §3): the request body
 * with authorization_details for one table, and the reply parser. Pure functions here;
 * the fetching thread lives in src/zerobus/tokens.c.
 * Thread: any.
 */
#ifndef ZS_AUTH_H
#define ZS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"

/*
 * The x-www-form-urlencoded body: grant_type, scope=all-apis, resource for the workspace,
 * authorization_details (USE CATALOG, USE SCHEMA, SELECT+MODIFY with zerobuswrite) for
 * table "catalog.schema.table". Returns ZS_OK, ZS_EINVAL (not a three-part name), ZS_ELIMIT.
 */
ZS_MUST_CHECK zs_rc zs_auth_token_form(const char *table, const char *workspace_id,
                                       struct zs_buf *out);

/*
 * Parse a token endpoint reply. token: OUT, NUL-terminated (cap bytes); expires_in: OUT,
 * seconds (0 = unknown: do not cache). Returns ZS_OK, ZS_EPARSE (not JSON, no
 * access_token, or a token unusable as an ASCII header value), ZS_ELIMIT (too long).
 * A non-2xx reply's {"error", "error_description"} goes into err.
 */
ZS_MUST_CHECK zs_rc zs_auth_parse_reply(int http_status, const char *body, size_t len, char *token,
                                        size_t cap, int64_t *expires_in, struct zs_err *err);

/*
 * POST form to url with HTTP Basic client credentials; blocking (timeout_ms), so call it
 * off any event loop. http_status and body (capped at 1 MiB) are filled on ZS_OK.
 * Returns ZS_OK (any HTTP status), ZS_EUNAVAIL (connection, TLS or timeout: retryable).
 * The secret never reaches a log or an error. Thread: any (libcurl is initialised once).
 */
ZS_MUST_CHECK zs_rc zs_auth_fetch(const char *url, const char *client_id, const char *secret,
                                  const char *form, long timeout_ms, int *http_status,
                                  struct zs_buf *body, struct zs_err *err);

/*
 * GET url with "Authorization: Bearer token" (the Unity Catalog API, protocol §6.4);
 * blocking (timeout_ms). Same returns and body rules as zs_auth_fetch; the token never
 * reaches a log or an error. Thread: any.
 */
ZS_MUST_CHECK zs_rc zs_auth_get(const char *url, const char *token, long timeout_ms,
                                int *http_status, struct zs_buf *body, struct zs_err *err);

/* Append s percent-encoded (everything but RFC 3986 unreserved characters) to b: a form
 * value or one URL path segment. Returns ZS_OK or the buffer's error. */
ZS_MUST_CHECK zs_rc zs_auth_url_escape(struct zs_buf *b, const char *s);

/* The metadata token's form (protocol §3.6): client credentials, scope all-apis, no
 * authorization_details (the ingestion token is refused by the Unity Catalog API). */
#define ZS_AUTH_METADATA_FORM "grant_type=client_credentials&scope=all-apis"

#endif
