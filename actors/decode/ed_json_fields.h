/*
 * ed_json_fields.h — the values of the fields a pipeline asked for, read
 * from the tape of a parsed JSON record (ed_json.h).
 *
 * A field is a key of the top-level object, or a dotted path into nested
 * objects ("customer.id"). Only the fields asked for are converted: numbers
 * parsed, string escapes decoded. Duplicate keys: the first occurrence wins.
 */
#ifndef ED_JSON_FIELDS_H
#define ED_JSON_FIELDS_H

#include <stddef.h>

#include "actors/decode/ed_json.h"
#include "actors/decode/ed_val.h"

/* A compiled set of field paths with the buffers their values live in; one
 * per thread (not thread-safe). */
typedef struct ed_json_fields ed_json_fields_t;

/* Compiles nfields (≥ 0) field names (copied), each split at '.' into path
 * segments; an empty segment matches the empty key (callers that refuse
 * "a..b" check names first). Returns a new set (owned; free with
 * ed_json_fields_destroy). Aborts on OOM like every ed_malloc. */
ed_json_fields_t *ed_json_fields_new(const char *const *names, int nfields);

/* Frees the set and NULLs *fields_p. NULL-safe. */
void ed_json_fields_destroy(ed_json_fields_t **fields_p);

/* Fills vals[nfields] (in the order of the names) from the record d whose
 * tape ed_json_parse made: ED_VAL_MISSING when the path does not exist (or
 * crosses a non-object), STRING (escapes decoded), NUMBER (num parsed, the
 * same value as strtod), BOOL, NULL, OTHER (an object or array: its raw
 * text). The pointers in vals are borrowed: into d, or into the set's
 * buffers, valid until the next call or destroy. */
void ed_json_fields_get(ed_json_fields_t *fields, const ed_json_tok_t *tape, const char *d,
                        ed_val_t *vals);

/* Decodes the escapes of a JSON string body s[0..n) (as the tape spans it,
 * quotes excluded, from a record ed_json_parse accepted) into out, which
 * needs room for n bytes: decoding never lengthens. A lone surrogate
 * becomes U+FFFD. Returns the decoded length. */
size_t ed_json_unescape(const char *s, size_t n, char *out);

#endif
