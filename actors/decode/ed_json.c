/* ed_json.c — see ed_json.h.
 *
 * The grammar, the tape and the string scan are one pass: s_parse walks the
 * bytes with an explicit stack of open containers and writes each token as
 * it meets it. Strings are scanned 16 bytes at a time with SSE2. It replaced
 * jsmn plus a second validating pass over jsmn's tokens, which took 70% of
 * the CPU in bench S2 (see bench/README.md for the measurement).
 */
#include "actors/decode/ed_json.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define S_TOK_INIT 64 /* initial tape tokens and stack depth; doubled on demand */

struct ed_json {
    ed_json_tok_t *toks; /* the tape of the record being parsed */
    unsigned tok_cap;
    int *stack; /* token indices of the open containers */
    unsigned stack_cap;
};

ed_json_t *ed_json_new(void) {
    ed_json_t *json = ed_calloc(1, sizeof *json);
    json->tok_cap = json->stack_cap = S_TOK_INIT;
    json->toks = ed_malloc(json->tok_cap * sizeof *json->toks);
    json->stack = ed_malloc(json->stack_cap * sizeof *json->stack);
    return json;
}

void ed_json_destroy(ed_json_t **json_p) {
    if (!json_p || !*json_p)
        return;
    free((*json_p)->toks);
    free((*json_p)->stack);
    free(*json_p);
    *json_p = NULL;
}

const ed_json_tok_t *ed_json_tape(const ed_json_t *json) {
    return json->toks;
}

static inline int s_is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline size_t s_skip_ws(const char *d, size_t pos, size_t len) {
    while (pos < len && s_is_ws(d[pos]))
        pos++;
    return pos;
}

static inline int s_is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Describes the byte at `pos` for an error message. */
static const char *s_describe(const char *d, size_t len, size_t pos, char *buf, size_t sz) {
    if (pos >= len)
        return "end of input";
    unsigned char c = (unsigned char)d[pos];
    if (c == 0)
        snprintf(buf, sz, "NUL byte");
    else if (c >= 0x21 && c < 0x7f)
        snprintf(buf, sz, "character '%c'", c);
    else
        snprintf(buf, sz, "byte 0x%02x", c);
    return buf;
}

static int s_unexpected(const char *d, size_t len, size_t pos, const char *expected, char *errstr,
                        size_t errstr_size) {
    char b[32];
    return ed_seterr(errstr, errstr_size, ED_EINVAL,
                     "invalid JSON at byte %zu: unexpected %s, expected %s", pos,
                     s_describe(d, len, pos, b, sizeof b), expected);
}

/* 1 if s[0..n) is a JSON literal: true, false, null or a number. */
static int s_valid_literal(const char *s, size_t n) {
    switch (s[0]) {
    case 't':
        return n == 4 && memcmp(s, "true", 4) == 0;
    case 'f':
        return n == 5 && memcmp(s, "false", 5) == 0;
    case 'n':
        return n == 4 && memcmp(s, "null", 4) == 0;
    }
    size_t i = 0;
    if (s[i] == '-')
        i++;
    if (i == n)
        return 0;
    if (s[i] == '0') {
        i++;
    } else if (s_is_digit(s[i])) {
        while (i < n && s_is_digit(s[i]))
            i++;
    } else {
        return 0;
    }
    if (i < n && s[i] == '.') {
        i++;
        if (i == n || !s_is_digit(s[i]))
            return 0;
        while (i < n && s_is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i == n || !s_is_digit(s[i]))
            return 0;
        while (i < n && s_is_digit(s[i]))
            i++;
    }
    return i == n;
}

#define S_FAIL ((size_t)-1)
/* For `return s_fail(ed_seterr(...))` in functions that return an offset. */
static inline size_t s_fail(int rc) {
    (void)rc;
    return S_FAIL;
}

#ifdef __SSE2__
/* Bit k: byte k of the 16 at p is '"', '\\' or a control character. */
static inline unsigned s_special16(const char *p) {
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                            _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                               _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v));
    return (unsigned)_mm_movemask_epi8(hit);
}
#endif

/* Offset of the closing quote of the string whose opening quote is at
 * d[pos], or (size_t)-1 with errstr set: a raw control character (< 0x20,
 * which JSON forbids), an invalid escape, or the end of input. *esc = 1 if
 * the string has escapes to decode. Sixteen bytes at a time where SSE2 is
 * there: one compare each for '"', '\\' and control characters, and most
 * strings are over in one or two steps. */
static __attribute__((noinline)) size_t s_string_slow(const char *d, size_t len, size_t pos,
                                                      uint8_t *esc, char *errstr,
                                                      size_t errstr_size) {
    size_t i = pos + 1;
    uint8_t e = 0;
    for (;;) {
#ifdef __SSE2__
        for (; i + 16 <= len; i += 16) {
            unsigned m = s_special16(d + i);
            if (m) {
                i += (size_t)__builtin_ctz(m);
                goto special;
            }
        }
#endif
        for (; i < len; i++) {
            unsigned char c = (unsigned char)d[i];
            if (c == '"' || c == '\\' || c < 0x20)
                goto special;
        }
        ed_seterr(errstr, errstr_size, ED_EINVAL, "incomplete JSON (truncated at byte %zu)", len);
        return S_FAIL;
    special:
        if (d[i] == '"') {
            *esc = e;
            return i;
        }
        if (d[i] != '\\') {
            ed_seterr(errstr, errstr_size, ED_EINVAL,
                      "invalid JSON at byte %zu: unescaped control character 0x%02x in string", i,
                      (unsigned char)d[i]);
            return S_FAIL;
        }
        e = 1;
        if (i + 1 >= len) {
            ed_seterr(errstr, errstr_size, ED_EINVAL, "incomplete JSON (truncated at byte %zu)",
                      len);
            return S_FAIL;
        }
        switch (d[i + 1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
            i += 2;
            continue;
        case 'u':
            if (i + 6 > len) {
                ed_seterr(errstr, errstr_size, ED_EINVAL,
                          "incomplete JSON (truncated at byte %zu)", len);
                return S_FAIL;
            }
            if (ed_json_hex4(d + i + 2) >= 0) {
                i += 6;
                continue;
            }
            ed_seterr(errstr, errstr_size, ED_EINVAL,
                      "invalid JSON at byte %zu: invalid escape '\\u%.4s' in string (expected "
                      "4 hex digits)",
                      i, d + i + 2);
            return S_FAIL;
        default: {
            char b[32];
            ed_seterr(errstr, errstr_size, ED_EINVAL,
                      "invalid JSON at byte %zu: invalid escape sequence in string: backslash "
                      "followed by %s",
                      i, s_describe(d, len, i + 1, b, sizeof b));
            return S_FAIL;
        }
        }
    }
}

/* s_string for the usual case, inlined into the parser: a string with no
 * escape that ends within the next 16 bytes takes one vector compare (near
 * the end of the record, the record's last 16 bytes, so nothing is read
 * past it). Everything else goes to s_string_slow. */
static inline __attribute__((always_inline)) size_t s_string(const char *d, size_t len,
                                                             size_t pos, uint8_t *esc,
                                                             char *errstr, size_t errstr_size) {
#ifdef __SSE2__
    size_t i = pos + 1;
    unsigned m;
    if (i + 16 <= len)
        m = s_special16(d + i);
    else if (len >= 16)
        m = s_special16(d + len - 16) >> (i - (len - 16));
    else
        m = 0;
    if (m) {
        size_t q = i + (size_t)__builtin_ctz(m);
        if (d[q] == '"') {
            *esc = 0;
            return q;
        }
    }
#endif
    return s_string_slow(d, len, pos, esc, errstr, errstr_size);
}

/* Bytes that end a literal: JSON whitespace, ',', '}', ']' and ':'. */
static const uint8_t s_ends_literal[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
                                           [','] = 1, ['}'] = 1,  [']'] = 1,  [':'] = 1};

/* The end of the literal (true, false, null or an RFC 8259 number) that
 * starts at d[pos], if it is followed by a delimiter or the end of input;
 * else S_FAIL. One pass: grammar and extent together. */
static inline size_t s_literal(const char *d, size_t len, size_t pos) {
    size_t i = pos;
    switch (d[i]) {
    case 't':
        if (len - i < 4 || memcmp(d + i, "true", 4) != 0)
            return S_FAIL;
        i += 4;
        break;
    case 'f':
        if (len - i < 5 || memcmp(d + i, "false", 5) != 0)
            return S_FAIL;
        i += 5;
        break;
    case 'n':
        if (len - i < 4 || memcmp(d + i, "null", 4) != 0)
            return S_FAIL;
        i += 4;
        break;
    default:
        if (d[i] == '-')
            i++;
        if (i >= len)
            return S_FAIL;
        if (d[i] == '0') {
            i++;
        } else if (s_is_digit(d[i])) {
            do
                i++;
            while (i < len && s_is_digit(d[i]));
        } else {
            return S_FAIL;
        }
        if (i < len && d[i] == '.') {
            i++;
            if (i >= len || !s_is_digit(d[i]))
                return S_FAIL;
            do
                i++;
            while (i < len && s_is_digit(d[i]));
        }
        if (i < len && (d[i] == 'e' || d[i] == 'E')) {
            i++;
            if (i < len && (d[i] == '+' || d[i] == '-'))
                i++;
            if (i >= len || !s_is_digit(d[i]))
                return S_FAIL;
            do
                i++;
            while (i < len && s_is_digit(d[i]));
        }
    }
    if (i < len && !s_ends_literal[(unsigned char)d[i]])
        return S_FAIL;
    return i;
}

/* Appends a token to the tape (grown on demand) and returns its index. */
static inline int s_tok_new(ed_json_t *json, int *ntok, uint8_t type, size_t start) {
    if ((unsigned)*ntok == json->tok_cap) {
        json->tok_cap *= 2;
        json->toks = ed_realloc(json->toks, json->tok_cap * sizeof *json->toks);
    }
    int i = (*ntok)++;
    json->toks[i] = (ed_json_tok_t){.start = (uint32_t)start, .type = type};
    return i;
}

/* Parses the object whose '{' is at d[pos] into the token tape, checking the
 * whole RFC 8259 grammar on the way (one pass over the bytes, an explicit
 * stack instead of recursion). Returns the offset just past the closing '}',
 * or (size_t)-1 with errstr set to what went wrong at which byte. */
static size_t s_parse(ed_json_t *json, const char *d, size_t len, size_t pos, char *errstr,
                      size_t errstr_size) {
    int ntok = 0, depth = 0, is_obj = 1, t;
    const char *expect;
    size_t q;

open: /* d[pos] is '{' (is_obj) or '[' */
    t = s_tok_new(json, &ntok, is_obj ? ED_JSON_OBJ : ED_JSON_ARR, pos);
    if ((unsigned)depth == json->stack_cap) {
        json->stack_cap *= 2;
        json->stack = ed_realloc(json->stack, json->stack_cap * sizeof *json->stack);
    }
    json->stack[depth++] = t;
    pos = s_skip_ws(d, pos + 1, len);
    if (pos >= len)
        goto truncated;
    if (d[pos] == (is_obj ? '}' : ']'))
        goto close;
    if (is_obj) {
        expect = "a string key or '}'";
        goto key;
    }
    expect = "a value or ']'";
    goto value;

next: /* after a member of the innermost container */
    pos = s_skip_ws(d, pos, len);
    if (pos >= len)
        goto truncated;
    if (d[pos] == ',') {
        pos = s_skip_ws(d, pos + 1, len);
        if (pos >= len)
            goto truncated;
        if (is_obj) {
            expect = "a string key";
            goto key;
        }
        expect = "a value";
        goto value;
    }
    if (d[pos] == (is_obj ? '}' : ']'))
        goto close;
    return s_fail(s_unexpected(d, len, pos, is_obj ? "',' or '}'" : "',' or ']'", errstr,
                                errstr_size));

key:
    if (d[pos] != '"')
        return s_fail(s_unexpected(d, len, pos, expect, errstr, errstr_size));
    t = s_tok_new(json, &ntok, ED_JSON_STR, pos + 1);
    q = s_string(d, len, pos, &json->toks[t].esc, errstr, errstr_size);
    if (q == S_FAIL)
        return q;
    json->toks[t].end = (uint32_t)q;
    json->toks[t].skip = ntok;
    pos = s_skip_ws(d, q + 1, len);
    if (pos >= len)
        goto truncated;
    if (d[pos] != ':')
        return s_fail(s_unexpected(d, len, pos, "':'", errstr, errstr_size));
    pos = s_skip_ws(d, pos + 1, len);
    if (pos >= len)
        goto truncated;
    expect = "a value";
    /* fall through */

value:
    switch (d[pos]) {
    case '{':
        is_obj = 1;
        goto open;
    case '[':
        is_obj = 0;
        goto open;
    case '"':
        t = s_tok_new(json, &ntok, ED_JSON_STR, pos + 1);
        q = s_string(d, len, pos, &json->toks[t].esc, errstr, errstr_size);
        if (q == S_FAIL)
            return q;
        json->toks[t].end = (uint32_t)q;
        json->toks[t].skip = ntok;
        pos = q + 1;
        goto next;
    case '-':
    case '0' ... '9':
    case 't':
    case 'f':
    case 'n':
        q = s_literal(d, len, pos);
        if (q == S_FAIL || q >= len) {
            /* Not a well-formed literal followed by a delimiter, or at the
             * end of input: the error names the whole run up to the next
             * delimiter ("tru", "01", "1.2.3"). */
            q = pos + 1;
            while (q < len && !s_ends_literal[(unsigned char)d[q]])
                q++;
            if (q >= len)
                goto truncated;
            if (!s_valid_literal(d + pos, q - pos)) {
                size_t n = q - pos;
                return s_fail(ed_seterr(errstr, errstr_size, ED_EINVAL,
                                        "invalid JSON at byte %zu: invalid literal '%.*s'", pos,
                                        n > 40 ? 40 : (int)n, d + pos));
            }
        }
        t = s_tok_new(json, &ntok, ED_JSON_LIT, pos);
        json->toks[t].end = (uint32_t)q;
        json->toks[t].skip = ntok;
        pos = q;
        goto next;
    default:
        return s_fail(s_unexpected(d, len, pos, expect, errstr, errstr_size));
    }

close: /* d[pos] closes the innermost container */
    t = json->stack[--depth];
    json->toks[t].end = (uint32_t)(pos + 1);
    json->toks[t].skip = ntok;
    pos++;
    if (depth == 0)
        return pos;
    is_obj = json->toks[json->stack[depth - 1]].type == ED_JSON_OBJ;
    goto next;

truncated:
    return s_fail(ed_seterr(errstr, errstr_size, ED_EINVAL,
                            "incomplete JSON (truncated at byte %zu)", len));
}

int ed_json_parse(ed_json_t *json, const char *d, size_t len, char *errstr, size_t errstr_size) {
    if (len >= INT_MAX)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "JSON record of %zu bytes is too large (limit 2 GiB)", len);
    size_t p0 = s_skip_ws(d, 0, len);
    if (p0 == len)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "incomplete JSON (truncated at byte %zu): empty record, expected an "
                         "object",
                         len);
    if (d[p0] != '{') {
        const char *what = NULL;
        switch (d[p0]) {
        case '[':
            what = "an array";
            break;
        case '"':
            what = "a string";
            break;
        case 't':
        case 'f':
            what = "a boolean";
            break;
        case 'n':
            what = "null";
            break;
        default:
            if (d[p0] == '-' || s_is_digit(d[p0]))
                what = "a number";
        }
        if (what)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "top-level JSON value is not an object (found %s at byte %zu)", what,
                             p0);
        return s_unexpected(d, len, p0, "'{'", errstr, errstr_size);
    }

    size_t end = s_parse(json, d, len, p0, errstr, errstr_size);
    if (end == S_FAIL)
        return ED_EINVAL;
    /* Anything but whitespace after the object: trailing garbage, a second
     * value, a NUL. */
    size_t q = s_skip_ws(d, end, len);
    if (q < len)
        return s_unexpected(d, len, q, "end of input after the top-level object", errstr,
                            errstr_size);
    return 0;
}
