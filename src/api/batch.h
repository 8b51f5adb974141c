/*
 * Batch bodies: a JSON array of records, or NDJSON (one record per line). Each record is
 * validated and transcoded with the table's schema; the valid ones are kept (their encoded
 * bytes, and their JSON text for JSON tables), the invalid ones are listed by index (the
 * array position, or the line number from 0, blank lines counted) with the field and the
 * reason, up to max_errors entries; every record is looked at, so the answer can list the
 * errors of the whole batch.
 *
 * A struct zs_batch belongs to one worker thread and is reused from request to request
 * (its buffers keep their size). Thread: the owner's.
 */
#ifndef ZS_API_BATCH_H
#define ZS_API_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/zs_buf.h"
#include "core/zs_err.h"
#include "schema/zs_transcode.h"

enum zs_batch_form { ZS_BATCH_ARRAY, ZS_BATCH_NDJSON };

struct zs_batch_item {
    size_t index;              /* position in the batch */
    size_t rec_off, rec_len;   /* encoded bytes in zs_batch.recs */
    size_t json_off, json_len; /* the record's JSON text in the body */
};

struct zs_batch_error {
    size_t index;
    char field[128];  /* JSON path ("$.temp"), or "" */
    char reason[256]; /* for a person */
};

struct zs_batch {
    struct zs_buf recs; /* encoded valid records, back to back */
    struct zs_batch_item *items;
    size_t nitems, itemcap;
    struct zs_batch_error *errors; /* the first max_errors errors */
    size_t nerrors, errorcap;
    size_t total;    /* records in the body (valid or not) */
    size_t rejected; /* invalid records, all of them */
};

/* An empty batch (no allocation yet); encoded records may take up to max_bytes. */
void zs_batch_init(struct zs_batch *b, size_t max_bytes);
void zs_batch_release(struct zs_batch *b);

/*
 * Parse body[0..len) in the given form with schema s, after resetting b. max_records caps
 * the records (valid or not) of one body; max_errors the errors kept (rejected counts all).
 * Returns ZS_OK (look at b->rejected), ZS_EPARSE when the body as a whole is malformed
 * (an array that does not parse: err names the byte offset; nothing of it can be trusted),
 * ZS_ELIMIT (more than max_records records: err says so), ZS_EINVAL (no record at all),
 * ZS_ENOMEM.
 */
ZS_MUST_CHECK zs_rc zs_batch_parse(struct zs_batch *b, struct zs_transcoder *tc,
                                   const struct zs_schema *s, enum zs_batch_form form,
                                   const uint8_t *body, size_t len, size_t max_records,
                                   size_t max_errors, struct zs_err *err);

#endif
