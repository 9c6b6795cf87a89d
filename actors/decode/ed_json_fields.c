/* ed_json_fields.c — see ed_json_fields.h. */
#include "actors/decode/ed_json_fields.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

/* One requested field, split at '.'. */
typedef struct {
    int nseg;
    const char **seg; /* nseg pointers into the field copy */
    size_t *seglen;
} s_path_t;

struct ed_json_fields {
    int nfields;
    char **names;    /* owned copies */
    s_path_t *paths; /* one per field */
    size_t *str_off; /* per field: offset of its decoded string in scratch, or SIZE_MAX */
    char *keybuf;    /* decoded object keys that contain escapes */
    size_t keybuf_cap;
    char *numbuf; /* NUL-terminated copies of long numbers for strtod */
    size_t numbuf_cap;
    char *scratch; /* decoded strings */
    size_t scratch_cap;
};

static void s_reserve(char **buf, size_t *cap, size_t need) {
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    *buf = ed_realloc(*buf, c);
    *cap = c;
}

static inline int s_is_digit(char c) {
    return c >= '0' && c <= '9';
}

ed_json_fields_t *ed_json_fields_new(const char *const *names, int nfields) {
    ed_json_fields_t *jf = ed_calloc(1, sizeof *jf);
    size_t nf = (size_t)(nfields > 0 ? nfields : 1);
    jf->nfields = nfields;
    jf->names = ed_calloc(nf, sizeof *jf->names);
    jf->paths = ed_calloc(nf, sizeof *jf->paths);
    jf->str_off = ed_calloc(nf, sizeof *jf->str_off);
    for (int f = 0; f < nfields; f++) {
        s_path_t *p = &jf->paths[f];
        const char *s = jf->names[f] = ed_strdup(names[f]);
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
    return jf;
}

void ed_json_fields_destroy(ed_json_fields_t **fields_p) {
    if (!fields_p || !*fields_p)
        return;
    ed_json_fields_t *jf = *fields_p;
    for (int f = 0; f < jf->nfields; f++) {
        free(jf->names[f]);
        free(jf->paths[f].seg);
        free(jf->paths[f].seglen);
    }
    free(jf->names);
    free(jf->paths);
    free(jf->str_off);
    free(jf->keybuf);
    free(jf->numbuf);
    free(jf->scratch);
    free(jf);
    *fields_p = NULL;
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
size_t ed_json_unescape(const char *s, size_t n, char *out) {
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
            int cp = i + 4 <= n ? ed_json_hex4(s + i) : -1;
            if (cp < 0) {
                out[o++] = '?';
                break;
            }
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u') {
                int lo = ed_json_hex4(s + i + 2);
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
static int s_key_eq(ed_json_fields_t *jf, const char *s, size_t n, int has_bs, const char *seg,
                    size_t sl) {
    if (!has_bs)
        return n == sl && memcmp(s, seg, n) == 0;
    if (n < sl)
        return 0; /* decoding never lengthens */
    s_reserve(&jf->keybuf, &jf->keybuf_cap, n);
    size_t m = ed_json_unescape(s, n, jf->keybuf);
    return m == sl && memcmp(jf->keybuf, seg, sl) == 0;
}

/* Token index of the value at `path`, or -1. */
static int s_resolve(ed_json_fields_t *jf, const ed_json_tok_t *T, const char *d,
                     const s_path_t *path) {
    int o = 0;
    for (int k = 0; k < path->nseg; k++) {
        if (T[o].type != ED_JSON_OBJ)
            return -1;
        int found = -1;
        for (int key = o + 1, end = T[o].skip; key < end; key = T[key + 1].skip) {
            if (s_key_eq(jf, d + T[key].start, T[key].end - T[key].start, T[key].esc,
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
static double s_json_number(ed_json_fields_t *jf, const char *s, size_t n) {
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
    s_reserve(&jf->numbuf, &jf->numbuf_cap, n + 1);
    memcpy(jf->numbuf, s, n);
    jf->numbuf[n] = '\0';
    return ed_val_strtod(jf->numbuf, NULL);
}

void ed_json_fields_get(ed_json_fields_t *jf, const ed_json_tok_t *T, const char *d,
                        ed_val_t *vals) {
    size_t used = 0;
    for (int f = 0; f < jf->nfields; f++) {
        ed_val_t *v = &vals[f];
        jf->str_off[f] = SIZE_MAX;
        int k = s_resolve(jf, T, d, &jf->paths[f]);
        if (k < 0) {
            *v = (ed_val_t){.type = ED_VAL_MISSING};
            continue;
        }
        const char *s = d + T[k].start;
        size_t n = T[k].end - T[k].start;
        switch (T[k].type) {
        case ED_JSON_STR:
            *v = (ed_val_t){.type = ED_VAL_STRING, .ptr = s, .len = n};
            if (T[k].esc) {
                /* Decoded into scratch; the pointer is set once all fields
                 * are done, as scratch may move while it grows. */
                s_reserve(&jf->scratch, &jf->scratch_cap, used + n);
                v->len = ed_json_unescape(s, n, jf->scratch + used);
                jf->str_off[f] = used;
                used += v->len;
            }
            break;
        case ED_JSON_LIT:
            if (s[0] == 't' || s[0] == 'f')
                *v = (ed_val_t){.type = ED_VAL_BOOL, .ptr = s, .len = n, .num = s[0] == 't'};
            else if (s[0] == 'n')
                *v = (ed_val_t){.type = ED_VAL_NULL, .ptr = s, .len = n};
            else
                *v = (ed_val_t){
                    .type = ED_VAL_NUMBER, .ptr = s, .len = n, .num = s_json_number(jf, s, n)};
            break;
        default:
            *v = (ed_val_t){.type = ED_VAL_OTHER, .ptr = s, .len = n};
            break;
        }
    }
    for (int f = 0; f < jf->nfields; f++)
        if (jf->str_off[f] != SIZE_MAX)
            vals[f].ptr = jf->scratch + jf->str_off[f];
}
