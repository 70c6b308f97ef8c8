/* state_json: the canonical serializer and strict parser of state v1.
 *
 * Canonical means: fixed field order, map keys sorted (bytewise), integers
 * only, compact, UTF-8 as is.  So serialize -> parse -> serialize gives the
 * same bytes whatever order the maps were filled in.
 *
 * Strict means: duplicate keys, unknown fields, missing fields, wrong
 * types, out-of-range integers, an unknown format or version, input over
 * the size limit, truncation and trailing data are all errors, and the
 * message names the JSON path ("$.workers[3].channel_fd: expected an
 * integer in [3, 1048575], got 2") or, for syntax errors that jansson finds
 * before any path exists, the byte offset, line and column.
 *
 * Parsing goes through json_guard_load and the writer allocates through
 * json_guard_malloc (json_guard.h): call json_guard_init first. */
#ifndef BATON_STATE_JSON_H
#define BATON_STATE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "state.h"

#define STATE_JSON_MAX_BYTES ((size_t)64 << 20)

/* *out is NUL-terminated, allocated with malloc(3); *len excludes the NUL.
 * The state is not validated here (state_validate does that). */
int state_json_serialize(const struct state *s, char **out, size_t *len,
			 struct bt_err *err);

/* Parse LEN bytes (no NUL needed) into *out, which is initialized here and
 * left empty on error.  max_bytes 0 means STATE_JSON_MAX_BYTES. */
int state_json_parse(const char *buf, size_t len, size_t max_bytes,
		     struct state *out, struct bt_err *err);

#endif
