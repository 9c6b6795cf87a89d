/*
 * ed_json.h — eddy's JSON parser: one record (one JSON object) in, a tape
 * of tokens out.
 *
 * One pass over the bytes checks the whole RFC 8259 grammar and writes the
 * tape into a reusable array, grown on demand, so steady state allocates
 * nothing per record. Each token records the index just past its subtree,
 * so a lookup steps over a nested value in O(1) (ed_json_fields.h converts
 * the fields asked for). Strings must not contain raw control characters
 * (< 0x20); invalid UTF-8 inside strings is not checked (passed through as
 * it is). Nesting depth is limited only by memory (an explicit stack, no
 * recursion). Records are limited to 2 GiB.
 */
#ifndef ED_JSON_H
#define ED_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Token types of the tape. */
enum { ED_JSON_OBJ = 1, ED_JSON_ARR, ED_JSON_STR, ED_JSON_LIT };

/* One token of the tape. Strings span their contents (quotes excluded),
 * containers their brackets, literals (true, false, null, numbers) their
 * text; start/end are byte offsets into the record. skip: the index just
 * past the token's subtree. esc: the string has escapes to decode. In an
 * object, each member is a key token (ED_JSON_STR) followed by its value's
 * subtree. */
typedef struct {
    uint32_t start, end;
    int32_t skip;
    uint8_t type, esc;
} ed_json_tok_t;

/* A parser with its tape; one per thread (not thread-safe). */
typedef struct ed_json ed_json_t;

/* Returns a new parser (owned; free with ed_json_destroy). Aborts on OOM
 * like every ed_malloc. */
ed_json_t *ed_json_new(void);

/* Frees the parser and its tape and NULLs *json_p. NULL-safe. */
void ed_json_destroy(ed_json_t **json_p);

/* Parses one record of `len` bytes at d (need not be NUL-terminated): one
 * JSON object, optionally surrounded by whitespace. Returns 0, the tape
 * then holding the object at index 0; or ED_EINVAL with errstr saying what
 * and at which byte ("invalid JSON at byte 17: unexpected character 'x',
 * expected ':'", "incomplete JSON (truncated at byte 40)", "top-level JSON
 * value is not an object (found an array at byte 0)"). */
int ed_json_parse(ed_json_t *json, const char *d, size_t len, char *errstr, size_t errstr_size);

/* The tape of the last successful ed_json_parse (borrowed; valid until the
 * next parse or destroy). */
const ed_json_tok_t *ed_json_tape(const ed_json_t *json);

/* Value of the 4 hex digits at s (reads exactly 4 bytes), or -1 if one is
 * not a hex digit. */
static inline int ed_json_hex4(const char *s) {
    int v = 0;
    for (int k = 0; k < 4; k++) {
        char c = s[k];
        int h = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

#endif
