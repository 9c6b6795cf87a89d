/*
 * ed_json_edit.h — writing a JSON record back after transforms: the
 * record's text with fields set or dropped (ed_json_edit), and single
 * values as JSON (ed_json_put_val).
 *
 * Edits address fields by dotted path, as ed_json_fields.h reads them.
 * Everything not edited is copied byte for byte (numbers keep their text,
 * strings their escapes, members their order). A set field keeps its place;
 * a new one is appended to its object, and missing parent objects are
 * created ("a.b" on a record without "a" adds "a":{"b":…}). Duplicate
 * keys: the first occurrence is the field (as ed_json_fields reads it);
 * setting or dropping it removes the later duplicates of that key too.
 */
#ifndef ED_JSON_EDIT_H
#define ED_JSON_EDIT_H

#include <stddef.h>

#include "actors/decode/ed_json.h"
#include "actors/decode/ed_val.h"
#include "runtime/ed_buf.h"

/* One edit: set `path` to *val, or drop it (val NULL). */
typedef struct {
    const char *path; /* dotted path, borrowed */
    const ed_val_t *val; /* borrowed; NULL = drop */
} ed_json_edit_t;

/* Writes the record d (its tape T from ed_json_parse, object at index 0)
 * with the n edits applied into out (appended). No path may be a prefix of
 * another's (callers check at load). Returns 0, or -1 with why (why_size
 * bytes) when a set path crosses a value that is not an object ("cannot
 * set 'a.b': 'a' is a string, not an object"); out is then incomplete. A
 * drop of a path that does not exist changes nothing. */
int ed_json_edit(const ed_json_tok_t *T, const char *d, const ed_json_edit_t *edits, int n,
                 ed_buf_t *out, char *why, size_t why_size);

/* Appends the finite number x as JSON in the fewest significant digits
 * (of 15, 16, 17) that read back as x: 9.08, not 9.0800000000000001;
 * integers below 2^53 without a fraction. Not finite: null. */
void ed_json_put_num(ed_buf_t *out, double x);

/* Appends v as JSON: a STRING escaped (ed_buf_json_str), a NUMBER as its
 * text when it has one (ptr/len) else ed_json_put_num, BOOL, NULL, OTHER
 * as its raw text. MISSING writes null. */
void ed_json_put_val(ed_buf_t *out, const ed_val_t *v);

#endif
