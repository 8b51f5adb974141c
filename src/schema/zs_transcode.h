/*
 * JSON → protobuf transcoder: one pass over the JSON bytes, directed by a compiled
 * schema, writing protobuf wire format (canonical field-number order) into a caller
 * buffer. No DOM; no allocation per field (a transcoder's scratch grows to the
 * largest schema it served, then stays).
 *
 * Accepted inputs per type are documented in docs/TYPES.md.
 * Thread: a struct zs_transcoder belongs to one thread; schemas are shared read-only.
 */
#ifndef ZS_TRANSCODE_H
#define ZS_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"
#include "schema/zs_schema.h"

struct zs_transcoder;

/* New transcoder (scratch only). NULL on ENOMEM. */
struct zs_transcoder *zs_transcoder_create(void);

/* Free it; NULL does nothing. */
void zs_transcoder_destroy(struct zs_transcoder *tc);

/*
 * Transcode one record: json[0..len) must hold exactly one JSON object (blanks around it
 * allowed). The protobuf bytes are appended to out.
 * json:    borrowed, need not be NUL-terminated; may be NULL when len is 0.
 * out:     appended to; on error out->len is restored.
 * err:     on error, where = JSON path ("$.readings[3].temp"), msg = reason.
 * Returns: ZS_OK; ZS_EPARSE (not JSON); ZS_ESCHEMA (violates the schema: wrong type,
 *          range, unknown/missing/duplicate field, null for NOT NULL); ZS_ELIMIT (nesting
 *          deeper than max_json_depth, record over max_record_bytes, out->max reached);
 *          ZS_ENOMEM.
 */
ZS_MUST_CHECK zs_rc zs_transcode(struct zs_transcoder *tc, const struct zs_schema *s,
                                 const uint8_t *json, size_t len, struct zs_buf *out,
                                 struct zs_err *err);

/*
 * Like zs_transcode, but reads one object starting at *pos (after blanks) and leaves
 * *pos just past it, so a caller can walk an array of records. Trailing bytes are the
 * caller's business. *pos is unchanged on error.
 */
ZS_MUST_CHECK zs_rc zs_transcode_at(struct zs_transcoder *tc, const struct zs_schema *s,
                                    const uint8_t *json, size_t len, size_t *pos,
                                    struct zs_buf *out, struct zs_err *err);

#endif
