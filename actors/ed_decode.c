/* ed_decode.c — see ed_decode.h.
 *
 * JSON: jsmn tokenizes the payload into a reusable token array (grown on
 * JSMN_ERROR_NOMEM, so steady state allocates nothing per record). jsmn, even
 * in strict mode, accepts some malformed input (missing or doubled commas,
 * "tru", "1.2.3", keys without values), so one linear pass over the tokens
 * then checks the bytes between them against the JSON grammar, validates
 * every literal, and records for each token the index just past its subtree
 * (`skip`), which is what lets a path lookup step over nested values in O(1).
 * Strings must not contain raw control characters (< 0x20), as in RFC 8259;
 * invalid UTF-8 inside strings is not checked (passed through as it is).
 * Duplicate keys: the first occurrence wins.
 *
 * lines/words: fields other than "line"/"word" are accepted only if they are
 * @meta fields, and are always ED_VAL_MISSING here (the source fills them).
 * For json an "@name" field is an ordinary key ("@timestamp" is common).
 *
 * Numbers are parsed independently of the process locale (strtod_l with the
 * C locale), so a setlocale() elsewhere cannot turn "1.5" into 1.
 */
#define _GNU_SOURCE /* strtod_l, newlocale */
#include "ed_decode.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/ed_common.h"
#include "ed_tokenize.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* jsmn is header-only: its implementation is compiled here, and only here,
 * with static linkage. STRICT rejects unquoted garbage; PARENT_LINKS makes
 * closing a container O(depth) instead of a backward scan over all tokens
 * (quadratic on arrays of objects). */
#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#define S_TOK_INIT 64 /* initial jsmn tokens; doubled on demand */

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
    jsmntok_t *toks;
    int *skip;    /* per token: index just past its subtree */
    uint8_t *esc; /* per string token: 1 if it contains a backslash (escapes to decode) */
    int *stack;   /* validation: open containers, (index << 1 | no-child-yet) */
    unsigned tok_cap;
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
        dec->tok_cap = S_TOK_INIT;
        dec->toks = ed_malloc(dec->tok_cap * sizeof *dec->toks);
        dec->skip = ed_malloc(dec->tok_cap * sizeof *dec->skip);
        dec->esc = ed_malloc(dec->tok_cap * sizeof *dec->esc);
        dec->stack = ed_malloc(dec->tok_cap * sizeof *dec->stack);
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
    free(dec->skip);
    free(dec->esc);
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
    if (c >= 0x21 && c < 0x7f)
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

/* Scans a string body s[0..n): returns the offset of the first raw control
 * character (< 0x20; jsmn lets them through, JSON forbids them), or n, and
 * sets *has_bs if there is a backslash before it. One pass serves both the
 * validation and the "decode escapes?" decision later. `end` is the end of
 * the payload: the SIMD path may read (and ignore) bytes up to it, which
 * lets short strings, the usual case, take one 16-byte step too. */
static size_t s_scan_string(const char *s, size_t n, const char *end, uint8_t *has_bs) {
    size_t i = 0;
    unsigned bs = 0;
#ifdef __SSE2__
    const __m128i c1f = _mm_set1_epi8(0x1f), cbs = _mm_set1_epi8('\\');
    while (i < n && s + i + 16 <= end) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned keep = n - i >= 16 ? 0xFFFFu : (1u << (n - i)) - 1;
        unsigned ctl = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v)) & keep;
        unsigned b = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, cbs)) & keep;
        if (ctl) {
            b &= (1u << __builtin_ctz(ctl)) - 1;
            *has_bs = (bs | b) != 0;
            return i + (size_t)__builtin_ctz(ctl);
        }
        bs |= b;
        i += 16;
    }
#else
    (void)end;
#endif
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20) {
            *has_bs = bs != 0;
            return i;
        }
        bs |= c == '\\';
    }
    *has_bs = bs != 0;
    return n;
}

/* 1 if the payload has a backslash or a byte < 0x20 anywhere. Usually it has
 * neither (compact JSON without escapes), and then one SIMD pass over the
 * whole payload replaces a scan of every string token. */
static int s_needs_string_scan(const char *d, size_t len) {
    size_t i = 0;
#ifdef __SSE2__
    const __m128i c1f = _mm_set1_epi8(0x1f), cbs = _mm_set1_epi8('\\');
    __m128i acc = _mm_setzero_si128();
    for (; i + 16 <= len; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(d + i));
        acc = _mm_or_si128(
            acc, _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, c1f), v), _mm_cmpeq_epi8(v, cbs)));
    }
    if (_mm_movemask_epi8(acc))
        return 1;
#endif
    for (; i < len; i++)
        if ((unsigned char)d[i] < 0x20 || d[i] == '\\')
            return 1;
    return 0;
}

/* Validates string token i and records whether it has escapes. */
static int s_check_string(ed_decoder_t *dec, const char *d, size_t len, int i, char *errstr,
                          size_t errstr_size) {
    const jsmntok_t *t = &dec->toks[i];
    size_t n = (size_t)(t->end - t->start);
    size_t k = s_scan_string(d + t->start, n, d + len, &dec->esc[i]);
    if (k == n)
        return 0;
    return ed_seterr(errstr, errstr_size, ED_EINVAL,
                     "invalid JSON at byte %zu: unescaped control character 0x%02x in string",
                     (size_t)t->start + k, (unsigned char)d[t->start + k]);
}

static inline size_t s_tok_open(const jsmntok_t *t) {
    return (size_t)(t->type == JSMN_STRING ? t->start - 1 : t->start);
}
static inline size_t s_tok_close(const jsmntok_t *t) {
    return (size_t)(t->type == JSMN_STRING ? t->end + 1 : t->end);
}

/* Checks the JSON grammar between jsmn's tokens and fills dec->skip. Token 0
 * is the (closed) top-level object. */
static int s_validate(ed_decoder_t *dec, const char *d, size_t len, int ntok, char *errstr,
                      size_t errstr_size) {
    const jsmntok_t *T = dec->toks;
    int *skip = dec->skip, *stk = dec->stack;
    int depth = 0, i = 1;
    int scan = s_needs_string_scan(d, len);
    size_t pos = (size_t)T[0].start + 1;
    stk[depth++] = 1; /* token 0, no child yet */
    while (depth > 0) {
        int c = stk[depth - 1] >> 1, first = stk[depth - 1] & 1;
        int is_obj = T[c].type == JSMN_OBJECT;
        pos = s_skip_ws(d, pos, len);
        if (i < ntok && T[i].start < T[c].end) {
            /* Another member of container c. */
            if (!first) {
                if (d[pos] != ',')
                    return s_unexpected(d, len, pos, is_obj ? "',' or '}'" : "',' or ']'", errstr,
                                        errstr_size);
                pos = s_skip_ws(d, pos + 1, len);
            }
            stk[depth - 1] &= ~1;
            if (is_obj) {
                if (T[i].type != JSMN_STRING || pos != s_tok_open(&T[i]))
                    return s_unexpected(d, len, pos, "a string key", errstr, errstr_size);
                if (!scan)
                    dec->esc[i] = 0;
                else if (s_check_string(dec, d, len, i, errstr, errstr_size) < 0)
                    return ED_EINVAL;
                pos = s_skip_ws(d, s_tok_close(&T[i]), len);
                skip[i] = i + 1;
                i++;
                if (d[pos] != ':')
                    return s_unexpected(d, len, pos, "':'", errstr, errstr_size);
                pos = s_skip_ws(d, pos + 1, len);
                if (!(i < ntok && T[i].start < T[c].end))
                    return s_unexpected(d, len, pos, "a value", errstr, errstr_size);
            }
            if (pos != s_tok_open(&T[i]))
                return s_unexpected(d, len, pos, "a value", errstr, errstr_size);
            switch (T[i].type) {
            case JSMN_OBJECT:
            case JSMN_ARRAY:
                stk[depth++] = (i << 1) | 1;
                pos = (size_t)T[i].start + 1;
                i++;
                break;
            case JSMN_PRIMITIVE:
                if (!s_valid_literal(d + T[i].start, (size_t)(T[i].end - T[i].start))) {
                    int n = T[i].end - T[i].start;
                    return ed_seterr(errstr, errstr_size, ED_EINVAL,
                                     "invalid JSON at byte %d: invalid literal '%.*s'", T[i].start,
                                     n > 40 ? 40 : n, d + T[i].start);
                }
                pos = s_tok_close(&T[i]);
                skip[i] = i + 1;
                i++;
                break;
            default: /* string */
                if (!scan)
                    dec->esc[i] = 0;
                else if (s_check_string(dec, d, len, i, errstr, errstr_size) < 0)
                    return ED_EINVAL;
                pos = s_tok_close(&T[i]);
                skip[i] = i + 1;
                i++;
                break;
            }
        } else {
            /* Container c ends here. */
            if (!first && d[pos] == ',') /* trailing comma: say what should follow it */
                return s_unexpected(d, len, s_skip_ws(d, pos + 1, len),
                                    is_obj ? "a string key" : "a value", errstr, errstr_size);
            if (pos != (size_t)T[c].end - 1)
                return s_unexpected(d, len, pos,
                                    is_obj ? (first ? "a string key or '}'" : "',' or '}'")
                                           : (first ? "a value or ']'" : "',' or ']'"),
                                    errstr, errstr_size);
            skip[c] = i;
            pos = (size_t)T[c].end;
            depth--;
        }
    }
    return 0;
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
 * Returns the decoded length. jsmn has checked the escapes already. */
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
    const jsmntok_t *T = dec->toks;
    const int *skip = dec->skip;
    int o = 0;
    for (int k = 0; k < path->nseg; k++) {
        if (T[o].type != JSMN_OBJECT)
            return -1;
        int found = -1;
        for (int key = o + 1, end = skip[o]; key < end; key = skip[key + 1]) {
            if (s_key_eq(dec, d + T[key].start, (size_t)(T[key].end - T[key].start), dec->esc[key],
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

    jsmn_parser parser;
    jsmn_init(&parser);
    int r;
    /* jsmn resumes where it stopped when given a bigger token array. */
    while ((r = jsmn_parse(&parser, d, len, dec->toks, dec->tok_cap)) == JSMN_ERROR_NOMEM) {
        dec->tok_cap *= 2;
        dec->toks = ed_realloc(dec->toks, dec->tok_cap * sizeof *dec->toks);
        dec->skip = ed_realloc(dec->skip, dec->tok_cap * sizeof *dec->skip);
        dec->esc = ed_realloc(dec->esc, dec->tok_cap * sizeof *dec->esc);
        dec->stack = ed_realloc(dec->stack, dec->tok_cap * sizeof *dec->stack);
    }
    int ntok = (int)parser.toknext;
    const jsmntok_t *T = dec->toks;
    int top_closed = ntok > 0 && T[0].end >= 0;

    if (top_closed) {
        /* Anything but whitespace after the object: trailing garbage, a second
         * value, or a NUL (where jsmn silently stops). */
        size_t q = s_skip_ws(d, (size_t)T[0].end, len);
        if (q < len)
            return s_unexpected(d, len, q, "end of input after the top-level object", errstr,
                                errstr_size);
    }
    if (r < 0) {
        const char *nul = memchr(d, '\0', len);
        if (nul)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "invalid JSON at byte %zu: unexpected NUL byte", (size_t)(nul - d));
        if (r == JSMN_ERROR_PART)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "incomplete JSON (truncated at byte %zu)", len);
        size_t pos = parser.pos < len ? parser.pos : len;
        if (pos < len && d[pos] == '"')
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "invalid JSON at byte %zu: invalid escape sequence in string", pos);
        if (pos < len && (d[pos] == '-' || s_is_digit(d[pos]) || d[pos] == 't' || d[pos] == 'f' ||
                          d[pos] == 'n'))
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "invalid JSON at byte %zu: invalid literal or a literal where a key "
                             "is expected",
                             pos);
        char b[32];
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "invalid JSON at byte %zu: unexpected %s",
                         pos, s_describe(d, len, pos, b, sizeof b));
    }
    if (!top_closed) /* not reached: jsmn reports an unclosed object as PART */
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "incomplete JSON (truncated at byte %zu)",
                         len);

    int rc = s_validate(dec, d, len, ntok, errstr, errstr_size);
    if (rc < 0)
        return rc;

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
        size_t n = (size_t)(T[k].end - T[k].start);
        switch (T[k].type) {
        case JSMN_STRING:
            *v = (ed_val_t){.type = ED_VAL_STRING, .ptr = s, .len = n};
            if (dec->esc[k]) {
                /* Decoded into scratch; the pointer is set once all fields
                 * are done, as scratch may move while it grows. */
                s_reserve(&dec->scratch, &dec->scratch_cap, used + n);
                v->len = s_unescape(s, n, dec->scratch + used);
                dec->str_off[f] = used;
                used += v->len;
            }
            break;
        case JSMN_PRIMITIVE:
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
