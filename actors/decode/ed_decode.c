/* ed_decode.c — see ed_decode.h.
 *
 * JSON: one pass over the bytes (s_parse) checks the whole RFC 8259 grammar
 * and writes a tape of tokens (objects, arrays, strings, literals) into a
 * reusable array, grown on demand, so steady state allocates nothing per
 * record. Each token records the index just past its subtree, so a field
 * lookup steps over nested values in O(1); only the fields asked for are
 * then converted (numbers parsed, escapes decoded). Strings are scanned 16
 * bytes at a time with SSE2. It replaced jsmn plus a second validating pass
 * over jsmn's tokens, which took 70% of the CPU in bench S2 (see
 * bench/README.md for the measurement).
 * Strings must not contain raw control characters (< 0x20), as in RFC 8259;
 * invalid UTF-8 inside strings is not checked (passed through as it is).
 * Duplicate keys: the first occurrence wins. Nesting depth is limited only by
 * memory (an explicit stack, no recursion).
 *
 * lines/words: fields other than "line"/"word" are accepted only if they are
 * @meta fields, and are always ED_VAL_MISSING here (the source fills them).
 * For json an "@name" field is an ordinary key ("@timestamp" is common).
 *
 * Numbers are parsed independently of the process locale (strtod_l with the
 * C locale), so a setlocale() elsewhere cannot turn "1.5" into 1.
 */
#define _GNU_SOURCE /* strtod_l, newlocale */
#include "actors/decode/ed_decode.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"
#include "actors/decode/ed_tokenize.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define S_TOK_INIT 64 /* initial tape tokens and stack depth; doubled on demand */

/* One token of the JSON tape. Strings span their contents (quotes
 * excluded), containers their brackets, literals their text. skip: the
 * index just past the token's subtree, which lets a path lookup step over a
 * nested value in O(1). esc: the string has escapes to decode. */
enum { S_OBJ = 1, S_ARR, S_STR, S_LIT };
typedef struct {
    uint32_t start, end;
    int32_t skip;
    uint8_t type, esc;
} s_tok_t;

/* One requested JSON field, split at '.'. */
typedef struct {
    int nseg;
    const char **seg; /* nseg pointers into the field copy */
    size_t *seglen;
} s_path_t;

struct ed_decoder {
    ed_format_t fmt;
    int nfields;
    char **fields;   /* owned copies */
    s_path_t *paths; /* json: one per field */
    int *is_data;    /* lines/words: 1 if the field is "line"/"word", 0 for @meta */
    ed_val_t *vals;  /* nfields (≥ 1 allocated) */
    /* json */
    s_tok_t *toks; /* the tape of the record being decoded */
    unsigned tok_cap;
    int *stack; /* parser: token indices of the open containers */
    unsigned stack_cap;
    size_t *str_off; /* per field: offset of its decoded string in scratch, or SIZE_MAX */
    char *keybuf;    /* decoded object keys that contain escapes */
    size_t keybuf_cap;
    char *numbuf; /* NUL-terminated copies of long numbers for strtod */
    size_t numbuf_cap;
    /* json: decoded strings; words: lowercased words */
    char *scratch;
    size_t scratch_cap;
};

/* ---------------------------------------------------------------- helpers */

/* The C locale for strtod_l; created once at load time (before any thread),
 * then read-only. */
static locale_t s_c_locale;
__attribute__((constructor)) static void s_init_c_locale(void) {
    s_c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double s_strtod(const char *s, char **end) {
    return s_c_locale ? strtod_l(s, end, s_c_locale) : strtod(s, end);
}

static void s_reserve(char **buf, size_t *cap, size_t need) {
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    *buf = ed_realloc(*buf, c);
    *cap = c;
}

static const char *s_fmt_name(ed_format_t fmt) {
    switch (fmt) {
    case ED_FMT_LINES:
        return "lines";
    case ED_FMT_WORDS:
        return "words";
    case ED_FMT_JSON:
        return "json";
    }
    return "?";
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

/* ----------------------------------------------------------- constructor */

int ed_decoder_new(ed_decoder_t **dec_p, ed_format_t fmt, const char *const *fields, int nfields,
                   char *errstr, size_t errstr_size) {
    *dec_p = NULL;
    if (fmt != ED_FMT_LINES && fmt != ED_FMT_WORDS && fmt != ED_FMT_JSON)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "unknown input format %d", (int)fmt);
    if (nfields < 0)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "negative field count %d", nfields);

    const char *only = fmt == ED_FMT_LINES ? "line" : "word";
    for (int f = 0; f < nfields; f++) {
        const char *name = fields[f];
        if (!name || !*name)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "empty field name (field %d) for format '%s'", f + 1, s_fmt_name(fmt));
        if (name[0] == '@')
            continue; /* meta field: the source actor fills it */
        if (fmt != ED_FMT_JSON) {
            if (strcmp(name, only) != 0)
                return ed_seterr(errstr, errstr_size, ED_EINVAL,
                                 "unknown field '%s' for format '%s'; its only field is '%s' "
                                 "(plus @meta fields such as @key)",
                                 name, s_fmt_name(fmt), only);
        } else {
            size_t n = strlen(name);
            if (name[0] == '.' || name[n - 1] == '.' || strstr(name, ".."))
                return ed_seterr(errstr, errstr_size, ED_EINVAL,
                                 "invalid JSON field path '%s': empty path segment; write "
                                 "nested fields as a.b.c",
                                 name);
        }
    }

    ed_decoder_t *dec = ed_calloc(1, sizeof *dec);
    dec->fmt = fmt;
    dec->nfields = nfields;
    size_t nf = (size_t)(nfields ? nfields : 1);
    dec->fields = ed_calloc(nf, sizeof *dec->fields);
    dec->vals = ed_calloc(nf, sizeof *dec->vals);
    for (int f = 0; f < nfields; f++)
        dec->fields[f] = ed_strdup(fields[f]);

    if (fmt == ED_FMT_JSON) {
        dec->paths = ed_calloc(nf, sizeof *dec->paths);
        dec->str_off = ed_calloc(nf, sizeof *dec->str_off);
        for (int f = 0; f < nfields; f++) {
            s_path_t *p = &dec->paths[f];
            const char *s = dec->fields[f];
            p->nseg = 1;
            for (const char *c = s; *c; c++)
                p->nseg += *c == '.';
            p->seg = ed_calloc((size_t)p->nseg, sizeof *p->seg);
            p->seglen = ed_calloc((size_t)p->nseg, sizeof *p->seglen);
            for (int k = 0; k < p->nseg; k++) {
                const char *dot = strchr(s, '.');
                size_t l = dot ? (size_t)(dot - s) : strlen(s);
                p->seg[k] = s;
                p->seglen[k] = l;
                s += l + 1;
            }
        }
        dec->tok_cap = dec->stack_cap = S_TOK_INIT;
        dec->toks = ed_malloc(dec->tok_cap * sizeof *dec->toks);
        dec->stack = ed_malloc(dec->stack_cap * sizeof *dec->stack);
    } else {
        dec->is_data = ed_calloc(nf, sizeof *dec->is_data);
        for (int f = 0; f < nfields; f++)
            dec->is_data[f] = dec->fields[f][0] != '@';
    }
    *dec_p = dec;
    return 0;
}

void ed_decoder_destroy(ed_decoder_t **dec_p) {
    if (!dec_p || !*dec_p)
        return;
    ed_decoder_t *dec = *dec_p;
    for (int f = 0; f < dec->nfields; f++) {
        free(dec->fields[f]);
        if (dec->paths) {
            free(dec->paths[f].seg);
            free(dec->paths[f].seglen);
        }
    }
    free(dec->fields);
    free(dec->paths);
    free(dec->is_data);
    free(dec->vals);
    free(dec->toks);
    free(dec->stack);
    free(dec->str_off);
    free(dec->keybuf);
    free(dec->numbuf);
    free(dec->scratch);
    free(dec);
    *dec_p = NULL;
}

/* ----------------------------------------------------------- lines/words */

static int s_decode_lines(ed_decoder_t *dec, const char *data, size_t len, ed_decode_emit_fn emit,
                          void *ud) {
    /* Sources split on '\n' already; a trailing "\n" is dropped too so a
     * Kafka message "text\n" reads as "text". */
    if (len && data[len - 1] == '\n')
        len--;
    if (len && data[len - 1] == '\r')
        len--;
    for (int f = 0; f < dec->nfields; f++) {
        ed_val_t *v = &dec->vals[f];
        if (dec->is_data[f])
            *v = (ed_val_t){.type = ED_VAL_STRING, .ptr = data, .len = len};
        else
            *v = (ed_val_t){.type = ED_VAL_MISSING};
    }
    emit(ud, dec->vals);
    return 1;
}

typedef struct {
    ed_decoder_t *dec;
    ed_decode_emit_fn emit;
    void *ud;
} s_words_ctx_t;

static void s_on_word(void *ud, const char *word, size_t len) {
    s_words_ctx_t *c = ud;
    ed_decoder_t *dec = c->dec;
    for (int f = 0; f < dec->nfields; f++) {
        if (dec->is_data[f]) {
            dec->vals[f].ptr = word;
            dec->vals[f].len = len;
        }
    }
    c->emit(c->ud, dec->vals);
}

static int s_decode_words(ed_decoder_t *dec, const char *data, size_t len, ed_decode_emit_fn emit,
                          void *ud) {
    s_reserve(&dec->scratch, &dec->scratch_cap, len);
    for (int f = 0; f < dec->nfields; f++)
        dec->vals[f] = (ed_val_t){.type = dec->is_data[f] ? ED_VAL_STRING : ED_VAL_MISSING};
    s_words_ctx_t c = {dec, emit, ud};
    size_t n = ed_tokenize_words(data, len, dec->scratch, s_on_word, &c);
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* ------------------------------------------------------------------ json */

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

static int s_hex4(const char *s) {
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
            if (s_hex4(d + i + 2) >= 0) {
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
static inline int s_tok_new(ed_decoder_t *dec, int *ntok, uint8_t type, size_t start) {
    if ((unsigned)*ntok == dec->tok_cap) {
        dec->tok_cap *= 2;
        dec->toks = ed_realloc(dec->toks, dec->tok_cap * sizeof *dec->toks);
    }
    int i = (*ntok)++;
    dec->toks[i] = (s_tok_t){.start = (uint32_t)start, .type = type};
    return i;
}

/* Parses the object whose '{' is at d[pos] into the token tape, checking the
 * whole RFC 8259 grammar on the way (one pass over the bytes, an explicit
 * stack instead of recursion). Returns the offset just past the closing '}',
 * or (size_t)-1 with errstr set to what went wrong at which byte. */
static size_t s_parse(ed_decoder_t *dec, const char *d, size_t len, size_t pos, char *errstr,
                      size_t errstr_size) {
    int ntok = 0, depth = 0, is_obj = 1, t;
    const char *expect;
    size_t q;

open: /* d[pos] is '{' (is_obj) or '[' */
    t = s_tok_new(dec, &ntok, is_obj ? S_OBJ : S_ARR, pos);
    if ((unsigned)depth == dec->stack_cap) {
        dec->stack_cap *= 2;
        dec->stack = ed_realloc(dec->stack, dec->stack_cap * sizeof *dec->stack);
    }
    dec->stack[depth++] = t;
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
    t = s_tok_new(dec, &ntok, S_STR, pos + 1);
    q = s_string(d, len, pos, &dec->toks[t].esc, errstr, errstr_size);
    if (q == S_FAIL)
        return q;
    dec->toks[t].end = (uint32_t)q;
    dec->toks[t].skip = ntok;
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
        t = s_tok_new(dec, &ntok, S_STR, pos + 1);
        q = s_string(d, len, pos, &dec->toks[t].esc, errstr, errstr_size);
        if (q == S_FAIL)
            return q;
        dec->toks[t].end = (uint32_t)q;
        dec->toks[t].skip = ntok;
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
        t = s_tok_new(dec, &ntok, S_LIT, pos);
        dec->toks[t].end = (uint32_t)q;
        dec->toks[t].skip = ntok;
        pos = q;
        goto next;
    default:
        return s_fail(s_unexpected(d, len, pos, expect, errstr, errstr_size));
    }

close: /* d[pos] closes the innermost container */
    t = dec->stack[--depth];
    dec->toks[t].end = (uint32_t)(pos + 1);
    dec->toks[t].skip = ntok;
    pos++;
    if (depth == 0)
        return pos;
    is_obj = dec->toks[dec->stack[depth - 1]].type == S_OBJ;
    goto next;

truncated:
    return s_fail(ed_seterr(errstr, errstr_size, ED_EINVAL,
                            "incomplete JSON (truncated at byte %zu)", len));
}

static size_t s_put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the escapes of a JSON string body s[0..n) into out, which has room
 * for n bytes (decoding never lengthens: "\u00e9" is 6 bytes in, 2 out, a
 * surrogate pair 12 in, 4 out, a lone surrogate 6 in, 3 out as U+FFFD).
 * Returns the decoded length. s_string has checked the escapes already. */
static size_t s_unescape(const char *s, size_t n, char *out) {
    size_t i = 0, o = 0;
    while (i < n) {
        const char *bs = memchr(s + i, '\\', n - i);
        size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
        memmove(out + o, s + i, run);
        i += run;
        o += run;
        if (!bs || i + 1 >= n)
            break;
        char e = s[i + 1];
        i += 2;
        switch (e) {
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            int cp = i + 4 <= n ? s_hex4(s + i) : -1;
            if (cp < 0) {
                out[o++] = '?';
                break;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
                int lo = s_hex4(s + i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD; /* unpaired surrogate: not encodable in UTF-8 */
            o += s_put_utf8(out + o, (uint32_t)cp);
            break;
        }
        default:
            out[o++] = e;
            break; /* \" \\ \/ */
        }
    }
    return o;
}

/* Does the raw key s[0..n) (escapes not decoded; has_bs: it has some) equal
 * seg[0..sl)? */
static int s_key_eq(ed_decoder_t *dec, const char *s, size_t n, int has_bs, const char *seg,
                    size_t sl) {
    if (!has_bs)
        return n == sl && memcmp(s, seg, n) == 0;
    if (n < sl)
        return 0; /* decoding never lengthens */
    s_reserve(&dec->keybuf, &dec->keybuf_cap, n);
    size_t m = s_unescape(s, n, dec->keybuf);
    return m == sl && memcmp(dec->keybuf, seg, sl) == 0;
}

/* Token index of the value at `path`, or -1. */
static int s_resolve(ed_decoder_t *dec, const char *d, const s_path_t *path) {
    const s_tok_t *T = dec->toks;
    int o = 0;
    for (int k = 0; k < path->nseg; k++) {
        if (T[o].type != S_OBJ)
            return -1;
        int found = -1;
        for (int key = o + 1, end = T[o].skip; key < end; key = T[key + 1].skip) {
            if (s_key_eq(dec, d + T[key].start, T[key].end - T[key].start, T[key].esc,
                         path->seg[k], path->seglen[k])) {
                found = key + 1;
                break;
            }
        }
        if (found < 0)
            return -1;
        o = found;
    }
    return o;
}

static const double s_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Value of a validated JSON number s[0..n). Fast path (Clinger): with at most
 * 15 significant digits the mantissa is exact in a double, and so is 10^e for
 * |e| ≤ 22, so one multiply or divide gives the correctly rounded result —
 * the same as strtod. Everything else goes to strtod on a NUL-terminated
 * copy. */
static double s_json_number(ed_decoder_t *dec, const char *s, size_t n) {
    size_t i = 0;
    int neg = 0, sig = 0, exp10 = 0;
    uint64_t m = 0;
    if (s[i] == '-') {
        neg = 1;
        i++;
    }
    for (; i < n && s_is_digit(s[i]); i++) {
        if (m || s[i] != '0') {
            m = m * 10 + (uint64_t)(s[i] - '0');
            if (++sig > 15)
                goto slow;
        }
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s_is_digit(s[i]); i++) {
            exp10--;
            if (m || s[i] != '0') {
                m = m * 10 + (uint64_t)(s[i] - '0');
                if (++sig > 15)
                    goto slow;
            }
        }
    }
    if (i < n) { /* exponent */
        i++;
        int eneg = 0, e = 0;
        if (s[i] == '+' || s[i] == '-')
            eneg = s[i++] == '-';
        for (; i < n; i++) {
            e = e * 10 + (s[i] - '0');
            if (e > 10000)
                goto slow;
        }
        exp10 += eneg ? -e : e;
    }
    if (m == 0)
        return neg ? -0.0 : 0.0;
    if (exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 >= 0 ? v * s_pow10[exp10] : v / s_pow10[-exp10];
        return neg ? -v : v;
    }
slow:
    s_reserve(&dec->numbuf, &dec->numbuf_cap, n + 1);
    memcpy(dec->numbuf, s, n);
    dec->numbuf[n] = '\0';
    return s_strtod(dec->numbuf, NULL);
}

static int s_decode_json(ed_decoder_t *dec, const char *d, size_t len, ed_decode_emit_fn emit,
                         void *ud, char *errstr, size_t errstr_size) {
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

    size_t end = s_parse(dec, d, len, p0, errstr, errstr_size);
    if (end == S_FAIL)
        return ED_EINVAL;
    /* Anything but whitespace after the object: trailing garbage, a second
     * value, a NUL. */
    size_t q = s_skip_ws(d, end, len);
    if (q < len)
        return s_unexpected(d, len, q, "end of input after the top-level object", errstr,
                            errstr_size);
    const s_tok_t *T = dec->toks;

    size_t used = 0;
    for (int f = 0; f < dec->nfields; f++) {
        ed_val_t *v = &dec->vals[f];
        dec->str_off[f] = SIZE_MAX;
        int k = s_resolve(dec, d, &dec->paths[f]);
        if (k < 0) {
            *v = (ed_val_t){.type = ED_VAL_MISSING};
            continue;
        }
        const char *s = d + T[k].start;
        size_t n = T[k].end - T[k].start;
        switch (T[k].type) {
        case S_STR:
            *v = (ed_val_t){.type = ED_VAL_STRING, .ptr = s, .len = n};
            if (T[k].esc) {
                /* Decoded into scratch; the pointer is set once all fields
                 * are done, as scratch may move while it grows. */
                s_reserve(&dec->scratch, &dec->scratch_cap, used + n);
                v->len = s_unescape(s, n, dec->scratch + used);
                dec->str_off[f] = used;
                used += v->len;
            }
            break;
        case S_LIT:
            if (s[0] == 't' || s[0] == 'f')
                *v = (ed_val_t){.type = ED_VAL_BOOL, .ptr = s, .len = n, .num = s[0] == 't'};
            else if (s[0] == 'n')
                *v = (ed_val_t){.type = ED_VAL_NULL, .ptr = s, .len = n};
            else
                *v = (ed_val_t){
                    .type = ED_VAL_NUMBER, .ptr = s, .len = n, .num = s_json_number(dec, s, n)};
            break;
        default:
            *v = (ed_val_t){.type = ED_VAL_OTHER, .ptr = s, .len = n};
            break;
        }
    }
    for (int f = 0; f < dec->nfields; f++)
        if (dec->str_off[f] != SIZE_MAX)
            dec->vals[f].ptr = dec->scratch + dec->str_off[f];
    emit(ud, dec->vals);
    return 1;
}

int ed_decoder_decode(ed_decoder_t *dec, const char *data, size_t len, ed_decode_emit_fn emit,
                      void *ud, char *errstr, size_t errstr_size) {
    switch (dec->fmt) {
    case ED_FMT_LINES:
        return s_decode_lines(dec, data, len, emit, ud);
    case ED_FMT_WORDS:
        return s_decode_words(dec, data, len, emit, ud);
    case ED_FMT_JSON:
        return s_decode_json(dec, data, len, emit, ud, errstr, errstr_size);
    }
    return ed_seterr(errstr, errstr_size, ED_EINVAL, "unknown input format %d", (int)dec->fmt);
}

/* ------------------------------------------------------- numbers & time */

int ed_val_to_num(const ed_val_t *v, double *out) {
    switch (v->type) {
    case ED_VAL_NUMBER:
    case ED_VAL_BOOL:
        *out = v->num;
        return 0;
    case ED_VAL_STRING:
        break;
    default:
        return ED_EINVAL;
    }
    if (v->len == 0)
        return ED_EINVAL;
    char small[64];
    char *buf = v->len < sizeof small ? small : ed_malloc(v->len + 1);
    memcpy(buf, v->ptr, v->len);
    buf[v->len] = '\0';
    char *end;
    double x = s_strtod(buf, &end);
    int ok = end == buf + v->len && isfinite(x);
    if (buf != small)
        free(buf);
    if (!ok)
        return ED_EINVAL; /* not a number, or inf/nan, which would poison aggregates */
    *out = x;
    return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil); no libc, locale or TZ involved. */
static int64_t s_days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int s_num2(const char *s, size_t n, size_t *i, int ndig, int *out) {
    int v = 0;
    for (int k = 0; k < ndig; k++) {
        if (*i >= n || !s_is_digit(s[*i]))
            return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    *out = v;
    return 0;
}

/* ISO-8601 / RFC 3339: YYYY-MM-DD[(T|t| )HH:MM[:SS[(.|,)frac]][Z|±HH[:MM]|±HHMM]].
 * No zone means UTC. Fractions beyond ms are truncated. */
static int s_parse_iso(const char *s, size_t n, int64_t *ms) {
    size_t i = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, off = 0;
    if (s_num2(s, n, &i, 4, &y) || i >= n || s[i++] != '-' || s_num2(s, n, &i, 2, &mo) || i >= n ||
        s[i++] != '-' || s_num2(s, n, &i, 2, &d))
        return ED_EINVAL;
    if (i < n) {
        if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
            return ED_EINVAL;
        i++;
        if (s_num2(s, n, &i, 2, &h) || i >= n || s[i++] != ':' || s_num2(s, n, &i, 2, &mi))
            return ED_EINVAL;
        if (i < n && s[i] == ':') {
            i++;
            if (s_num2(s, n, &i, 2, &sec))
                return ED_EINVAL;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                i++;
                if (i >= n || !s_is_digit(s[i]))
                    return ED_EINVAL;
                int k = 0;
                for (; i < n && s_is_digit(s[i]); i++, k++)
                    if (k < 3)
                        frac = frac * 10 + (s[i] - '0');
                for (; k < 3; k++)
                    frac *= 10;
            }
        }
        if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < n && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i++] == '-' ? -1 : 1, oh, om = 0;
            if (s_num2(s, n, &i, 2, &oh))
                return ED_EINVAL;
            if (i < n && s[i] == ':') {
                i++;
                if (s_num2(s, n, &i, 2, &om))
                    return ED_EINVAL;
            } else if (i < n && s_num2(s, n, &i, 2, &om)) {
                return ED_EINVAL;
            }
            if (oh > 23 || om > 59)
                return ED_EINVAL;
            off = sign * (oh * 60 + om);
        }
        if (i != n)
            return ED_EINVAL;
    }
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap))
        return ED_EINVAL;
    if (h > 23 || mi > 59 || sec > 60) /* 60: leap second, rolls into the next minute */
        return ED_EINVAL;
    int64_t secs = ((s_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + sec;
    *ms = (secs - (int64_t)off * 60) * 1000 + frac;
    return 0;
}

static int s_ms_from(double msd, int64_t *ms) {
    if (!isfinite(msd) || fabs(msd) > 9.2e18)
        return ED_EINVAL;
    *ms = llround(msd);
    return 0;
}

/* Epoch number of a value for the epoch formats: numbers or numeric text. */
static int s_time_num(const ed_val_t *v, double *x) {
    if (v->type != ED_VAL_NUMBER && v->type != ED_VAL_STRING)
        return ED_EINVAL;
    return ed_val_to_num(v, x);
}

int ed_parse_time(const ed_val_t *v, ed_time_format_t fmt, int64_t *ms) {
    double x;
    switch (fmt) {
    case ED_TIME_EPOCH_S:
        if (s_time_num(v, &x))
            return ED_EINVAL;
        return s_ms_from(x * 1000.0, ms);
    case ED_TIME_EPOCH_MS:
        if (s_time_num(v, &x))
            return ED_EINVAL;
        return s_ms_from(x, ms);
    case ED_TIME_ISO8601:
        if (v->type != ED_VAL_STRING)
            return ED_EINVAL;
        return s_parse_iso(v->ptr, v->len, ms);
    case ED_TIME_AUTO:
        if (s_time_num(v, &x) == 0)
            return s_ms_from(fabs(x) < 1e11 ? x * 1000.0 : x, ms);
        if (v->type != ED_VAL_STRING)
            return ED_EINVAL;
        return s_parse_iso(v->ptr, v->len, ms);
    case ED_TIME_NONE:
        break;
    }
    return ED_EINVAL;
}
