/* ed_avro.c — see ed_avro.h: the walker over a compiled schema
 * (ed_avro_impl.h) that decodes one datum and keeps the fields asked for.
 *
 * Every datum is walked whole, whatever fields are asked for: a message
 * that does not match the schema is a reject, never half-read. Each read
 * checks the bytes left first; counts of array and map blocks are checked
 * against what the bytes left can hold (each item takes at least the
 * node's minsize), and against a budget of items per message so that
 * items of zero bytes (nulls, empty records) cannot spin. Recursion is
 * bounded by ED_AVRO_MAX_DEPTH. */
#include "actors/decode/ed_avro.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_avro_impl.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ed_avro.c reads Avro's little-endian float and double with memcpy"
#endif

/* The fields asked for, as a trie of path segments. */
typedef struct {
    int slot;           /* field index whose value is this node, or -1 */
    int nkids;
    int *kid;           /* [nkids] trie indexes */
    const char **seg;   /* [nkids] the kids' segments (into the field copies) */
    size_t *seglen;
    int nrec;           /* record field maps made so far, one per record node met */
    int *rec_node;      /* [nrec] schema node */
    int **rec_map;      /* [nrec] per record field: kid trie index, or -1 */
} s_trie_t;

/* One step of the path to the value being read, for errors. */
typedef struct {
    const char *name; /* field name or map key, or NULL for an array index */
    size_t len;
    int64_t index;
} s_step_t;

struct ed_avro {
    const ed_avro_schema_t *s;
    ed_avro_framing_t framing;
    uint32_t schema_id;
    int nfields;
    char **names;   /* owned copies of the paths */
    int *dup_of;    /* [nfields] an earlier field with the same path, or -1 */
    s_trie_t *trie; /* trie[0] is the root */
    int ntrie;
    ed_val_t *vals; /* during a decode: the caller's array */
    ed_buf_t *jbuf; /* [nfields] JSON text of composite values */
    char (*num)[32]; /* [nfields] text of numbers */
    /* the datum being read */
    const uint8_t *base, *p, *end;
    size_t items_left; /* array and map items this message may still have */
    s_step_t path[ED_AVRO_MAX_DEPTH + 2];
    int pdepth;
    /* the error */
    size_t err_pos;
    int err_node;
    char err[256];
};

/* ---------------------------------------------------------------- trie */

static int s_trie_add(ed_avro_t *a) {
    a->trie = ed_realloc(a->trie, sizeof *a->trie * (size_t)(a->ntrie + 1));
    a->trie[a->ntrie] = (s_trie_t){.slot = -1};
    return a->ntrie++;
}

static int s_trie_kid(ed_avro_t *a, int t, const char *seg, size_t len, int create) {
    s_trie_t *n = &a->trie[t];
    for (int k = 0; k < n->nkids; k++)
        if (n->seglen[k] == len && !memcmp(n->seg[k], seg, len))
            return n->kid[k];
    if (!create)
        return -1;
    int id = s_trie_add(a);
    n = &a->trie[t]; /* moved */
    n->kid = ed_realloc(n->kid, sizeof *n->kid * (size_t)(n->nkids + 1));
    n->seg = ed_realloc(n->seg, sizeof *n->seg * (size_t)(n->nkids + 1));
    n->seglen = ed_realloc(n->seglen, sizeof *n->seglen * (size_t)(n->nkids + 1));
    n->kid[n->nkids] = id;
    n->seg[n->nkids] = seg;
    n->seglen[n->nkids++] = len;
    return id;
}

/* The kid trie of each field of record node `id` under trie node t (made
 * on first use: one small table per record type met at that path). */
static const int *s_rec_map(ed_avro_t *a, int t, int id) {
    s_trie_t *n = &a->trie[t];
    for (int r = 0; r < n->nrec; r++)
        if (n->rec_node[r] == id)
            return n->rec_map[r];
    const ed_avro_node_t *nd = &a->s->nodes[id];
    int *map = ed_calloc((size_t)nd->n + 1, sizeof *map);
    for (int f = 0; f < nd->n; f++)
        map[f] = s_trie_kid(a, t, nd->names[f], nd->name_len[f], 0);
    n->rec_node = ed_realloc(n->rec_node, sizeof *n->rec_node * (size_t)(n->nrec + 1));
    n->rec_map = ed_realloc(n->rec_map, sizeof *n->rec_map * (size_t)(n->nrec + 1));
    n->rec_node[n->nrec] = id;
    n->rec_map[n->nrec++] = map;
    return map;
}

ed_avro_t *ed_avro_new(const ed_avro_schema_t *schema, const char *const *fields, int nfields,
                       ed_avro_framing_t framing, uint32_t schema_id) {
    ed_avro_t *a = ed_calloc(1, sizeof *a);
    size_t nf = (size_t)(nfields > 0 ? nfields : 1);
    a->s = schema;
    a->framing = framing;
    a->schema_id = schema_id;
    a->nfields = nfields;
    a->names = ed_calloc(nf, sizeof *a->names);
    a->dup_of = ed_calloc(nf, sizeof *a->dup_of);
    a->jbuf = ed_calloc(nf, sizeof *a->jbuf);
    a->num = ed_calloc(nf, sizeof *a->num);
    s_trie_add(a);
    for (int f = 0; f < nfields; f++) {
        const char *s = a->names[f] = ed_strdup(fields[f]);
        int t = 0;
        for (;;) {
            const char *dot = strchr(s, '.');
            size_t l = dot ? (size_t)(dot - s) : strlen(s);
            t = s_trie_kid(a, t, s, l, 1);
            if (!dot)
                break;
            s = dot + 1;
        }
        a->dup_of[f] = a->trie[t].slot;
        if (a->trie[t].slot < 0)
            a->trie[t].slot = f;
    }
    return a;
}

void ed_avro_destroy(ed_avro_t **avro_p) {
    if (!avro_p || !*avro_p)
        return;
    ed_avro_t *a = *avro_p;
    for (int t = 0; t < a->ntrie; t++) {
        s_trie_t *n = &a->trie[t];
        free(n->kid);
        free(n->seg);
        free(n->seglen);
        for (int r = 0; r < n->nrec; r++)
            free(n->rec_map[r]);
        free(n->rec_node);
        free(n->rec_map);
    }
    free(a->trie);
    for (int f = 0; f < a->nfields; f++) {
        free(a->names[f]);
        ed_buf_free(&a->jbuf[f]);
    }
    free(a->names);
    free(a->dup_of);
    free(a->jbuf);
    free(a->num);
    free(a);
    *avro_p = NULL;
}

/* ------------------------------------------------------------- reading */

__attribute__((format(printf, 4, 5))) static int s_fail(ed_avro_t *a, const uint8_t *at, int id,
                                                        const char *fmt, ...) {
    a->err_pos = (size_t)(at - a->base);
    a->err_node = id;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->err, sizeof a->err, fmt, ap);
    va_end(ap);
    return -1;
}

static inline size_t s_left(const ed_avro_t *a) {
    return (size_t)(a->end - a->p);
}

/* A zig-zag varint of at most maxb bytes (5 for int, 10 for long). */
static inline int s_varint(ed_avro_t *a, int id, int maxb, const char *what, int64_t *out) {
    const uint8_t *at = a->p;
    uint64_t v = 0;
    for (int i = 0; i < maxb; i++) {
        if (a->p >= a->end)
            return s_fail(a, at, id, "truncated: the %s needs more bytes than the %zu left", what,
                          (size_t)(a->end - at));
        uint8_t b = *a->p++;
        if (i == maxb - 1 && b > (maxb == 10 ? 0x01 : 0x0f))
            return s_fail(a, at, id, "bad varint: the %s is longer than %d bytes or out of range",
                          what, maxb);
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return s_fail(a, at, id, "bad varint: the %s is longer than %d bytes", what, maxb);
}

/* A length (bytes, string, map key, block size): 0 ≤ n ≤ bytes left. */
static inline int s_length(ed_avro_t *a, int id, const char *what, size_t *n) {
    const uint8_t *at = a->p;
    int64_t v = 0;
    if (s_varint(a, id, 10, what, &v) < 0)
        return -1;
    if (v < 0)
        return s_fail(a, at, id, "negative %s %lld", what, (long long)v);
    if ((uint64_t)v > s_left(a))
        return s_fail(a, at, id, "%s %lld goes beyond the %zu bytes left", what, (long long)v,
                      s_left(a));
    *n = (size_t)v;
    return 0;
}

static size_t s_fmt_long(char *buf, int64_t v);

/* Shortest text of x that reads back as the same double (a float is
 * written as the double it widens to, as Python and Java print it).
 * Fast path, without printf: x = m / 10^k exactly as doubles divide, for
 * the smallest k ≤ 6 and |m| < 10^15 — then the decimal m·10^-k reads back
 * as x, because strtod and the division round the same rational to the
 * nearest double. Amounts with a few decimals take it; the rest (and -0)
 * go through snprintf, which was most of the decode time of a datum with
 * one double (bench S11). */
static size_t s_fmt_real(char *buf, double x) {
    static const double p10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    if (x != 0 && fabs(x) < 1e9) {
        for (int k = 0; k <= 6; k++) {
            double r = nearbyint(x * p10[k]);
            if (r / p10[k] != x)
                continue;
            char dig[24];
            size_t n = s_fmt_long(dig, (int64_t)fabs(r)), o = 0;
            if (x < 0)
                buf[o++] = '-';
            if (n <= (size_t)k) { /* 0.05: leading zeros */
                buf[o++] = '0';
                buf[o++] = '.';
                for (size_t z = n; z < (size_t)k; z++)
                    buf[o++] = '0';
                memcpy(buf + o, dig, n);
                o += n;
            } else {
                memcpy(buf + o, dig, n - (size_t)k);
                o += n - (size_t)k;
                if (k) {
                    buf[o++] = '.';
                    memcpy(buf + o, dig + n - k, (size_t)k);
                    o += (size_t)k;
                }
            }
            buf[o] = '\0';
            return o;
        }
    }
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, 32, "%.*g", prec, x);
        if (prec == 17 || ed_val_strtod(buf, NULL) == x)
            break;
    }
    return (size_t)n;
}

static size_t s_fmt_long(char *buf, int64_t v) {
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do
        tmp[n++] = (char)('0' + u % 10);
    while (u /= 10);
    size_t o = 0;
    if (v < 0)
        buf[o++] = '-';
    while (n)
        buf[o++] = tmp[--n];
    buf[o] = '\0';
    return o;
}

/* Stores a primitive value into the slot being captured (cap ≥ 0) and
 * appends its JSON to js (may be NULL). */
static void s_put(ed_avro_t *a, int cap, ed_buf_t *js, ed_val_t v, int json_quoted) {
    if (cap >= 0)
        a->vals[cap] = v;
    if (!js)
        return;
    if (v.type == ED_VAL_NULL)
        ed_buf_puts(js, "null");
    else if (json_quoted)
        ed_buf_json_str(js, v.ptr, v.len);
    else
        ed_buf_append(js, v.ptr, v.len);
}

static int s_value(ed_avro_t *a, int id, int t, ed_buf_t *js, int depth);

/* The items of an array (id's kids[0]) or the entries of a map, in blocks. */
static int s_blocks(ed_avro_t *a, int id, int t, ed_buf_t *js, int depth) {
    const ed_avro_node_t *nd = &a->s->nodes[id];
    int is_map = nd->kind == S_AV_MAP;
    int item = nd->kids[0];
    size_t minsize = a->s->nodes[item].minsize + (is_map ? 1 : 0);
    int64_t index = 0;
    if (js)
        ed_buf_puts(js, is_map ? "{" : "[");
    for (;;) {
        const uint8_t *at = a->p;
        int64_t count = 0;
        if (s_varint(a, id, 10, is_map ? "map block count" : "array block count", &count) < 0)
            return -1;
        if (count == 0)
            break;
        const uint8_t *block_end = NULL;
        if (count < 0) {
            if (count == INT64_MIN)
                return s_fail(a, at, id, "block count out of range");
            count = -count;
            size_t size;
            if (s_length(a, id, "block byte size", &size) < 0)
                return -1;
            block_end = a->p + size;
        }
        if (minsize && (uint64_t)count > s_left(a) / minsize)
            return s_fail(a, at, id,
                          "block of %lld items cannot fit in the %zu bytes left (each takes at "
                          "least %zu)",
                          (long long)count, s_left(a), minsize);
        if ((uint64_t)count > a->items_left)
            return s_fail(a, at, id,
                          "block of %lld items is over the limit of array and map items for a "
                          "message of %zu bytes",
                          (long long)count, (size_t)(a->end - a->base));
        a->items_left -= (size_t)count;
        for (int64_t i = 0; i < count; i++, index++) {
            if (js && index)
                ed_buf_puts(js, ",");
            s_step_t *st = &a->path[depth];
            int kt = -1;
            if (is_map) {
                size_t kl = 0;
                if (s_length(a, id, "map key length", &kl) < 0)
                    return -1;
                *st = (s_step_t){.name = (const char *)a->p, .len = kl};
                if (t >= 0)
                    kt = s_trie_kid(a, t, (const char *)a->p, kl, 0);
                if (js) {
                    ed_buf_json_str(js, (const char *)a->p, kl);
                    ed_buf_puts(js, ":");
                }
                a->p += kl;
            } else {
                *st = (s_step_t){.name = NULL, .index = index};
            }
            a->pdepth = depth + 1;
            if (s_value(a, item, kt, js, depth + 1) < 0)
                return -1;
        }
        if (block_end && a->p != block_end)
            return s_fail(a, at, id, "block byte size says it ends at byte %zu, its items end at %zu",
                          (size_t)(block_end - a->base), (size_t)(a->p - a->base));
    }
    if (js)
        ed_buf_puts(js, is_map ? "}" : "]");
    return 0;
}

static int s_record(ed_avro_t *a, int id, int t, ed_buf_t *js, int depth) {
    const ed_avro_node_t *nd = &a->s->nodes[id];
    const int *map = t >= 0 ? s_rec_map(a, t, id) : NULL;
    if (js)
        ed_buf_puts(js, "{");
    for (int f = 0; f < nd->n; f++) {
        a->path[depth] = (s_step_t){.name = nd->names[f], .len = nd->name_len[f]};
        a->pdepth = depth + 1;
        if (js) {
            if (f)
                ed_buf_puts(js, ",");
            ed_buf_json_str(js, nd->names[f], nd->name_len[f]);
            ed_buf_puts(js, ":");
        }
        if (s_value(a, nd->kids[f], map ? map[f] : -1, js, depth + 1) < 0)
            return -1;
    }
    if (js)
        ed_buf_puts(js, "}");
    return 0;
}

/* One value of node id. t: the trie node of its path (-1: nothing asked
 * here or below); js: where its JSON goes (NULL: nowhere). */
static int s_value(ed_avro_t *a, int id, int t, ed_buf_t *js, int depth) {
    const ed_avro_node_t *nd = &a->s->nodes[id];
    const uint8_t *at = a->p;
    if (depth > ED_AVRO_MAX_DEPTH)
        return s_fail(a, at, id, "nested deeper than %d levels", ED_AVRO_MAX_DEPTH);
    int cap = -1;
    if (t >= 0 && a->trie[t].slot >= 0 && a->vals[a->trie[t].slot].type == ED_VAL_MISSING)
        cap = a->trie[t].slot; /* asked for, and not seen yet (a map's first key wins) */
    switch (nd->kind) {
    case S_AV_NULL:
        s_put(a, cap, js, (ed_val_t){.type = ED_VAL_NULL}, 0);
        return 0;
    case S_AV_BOOLEAN: {
        if (!s_left(a))
            return s_fail(a, at, id, "truncated: no byte left for the boolean");
        uint8_t b = *a->p++;
        if (b > 1)
            return s_fail(a, at, id, "boolean byte is 0x%02x, expected 0x00 or 0x01", b);
        s_put(a, cap, js,
              (ed_val_t){.type = ED_VAL_BOOL, .ptr = b ? "true" : "false", .len = b ? 4u : 5u,
                         .num = b},
              0);
        return 0;
    }
    case S_AV_INT:
    case S_AV_LONG: {
        int64_t v = 0;
        if (s_varint(a, id, nd->kind == S_AV_INT ? 5 : 10, ed_avro_kind_name(nd->kind), &v) < 0)
            return -1;
        if (cap < 0 && !js)
            return 0;
        char tmp[32], *txt = cap >= 0 ? a->num[cap] : tmp;
        size_t n = s_fmt_long(txt, v);
        s_put(a, cap, js, (ed_val_t){.type = ED_VAL_NUMBER, .ptr = txt, .len = n, .num = (double)v},
              0);
        return 0;
    }
    case S_AV_FLOAT:
    case S_AV_DOUBLE: {
        size_t w = nd->kind == S_AV_FLOAT ? 4 : 8;
        if (s_left(a) < w)
            return s_fail(a, at, id, "truncated: the %s needs %zu bytes, %zu left",
                          ed_avro_kind_name(nd->kind), w, s_left(a));
        double x;
        if (w == 4) {
            float f;
            memcpy(&f, a->p, 4);
            x = f;
        } else {
            memcpy(&x, a->p, 8);
        }
        a->p += w;
        if (cap < 0 && !js)
            return 0;
        if (!isfinite(x)) {
            const char *s = isnan(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity";
            s_put(a, cap, js, (ed_val_t){.type = ED_VAL_STRING, .ptr = s, .len = strlen(s)}, 1);
            return 0;
        }
        char tmp[32], *txt = cap >= 0 ? a->num[cap] : tmp;
        size_t n = s_fmt_real(txt, x);
        s_put(a, cap, js, (ed_val_t){.type = ED_VAL_NUMBER, .ptr = txt, .len = n, .num = x}, 0);
        return 0;
    }
    case S_AV_STRING:
    case S_AV_BYTES:
    case S_AV_FIXED: {
        size_t n;
        if (nd->kind == S_AV_FIXED) {
            n = (size_t)nd->n;
            if (s_left(a) < n)
                return s_fail(a, at, id, "truncated: the %s needs %zu bytes, %zu left", nd->tname,
                              n, s_left(a));
        } else if (s_length(a, id, nd->kind == S_AV_STRING ? "string length" : "bytes length",
                            &n) < 0) {
            return -1;
        }
        const char *ptr = (const char *)a->p;
        a->p += n;
        if (cap >= 0 || js)
            s_put(a, cap, js, (ed_val_t){.type = ED_VAL_STRING, .ptr = ptr, .len = n}, 1);
        return 0;
    }
    case S_AV_ENUM: {
        int64_t v = 0;
        if (s_varint(a, id, 5, "enum index", &v) < 0)
            return -1;
        if (v < 0 || v >= nd->n)
            return s_fail(a, at, id, "enum index %lld out of range (%d symbols)", (long long)v,
                          nd->n);
        if (cap >= 0 || js)
            s_put(a, cap, js,
                  (ed_val_t){.type = ED_VAL_STRING, .ptr = nd->names[v], .len = nd->name_len[v]},
                  1);
        return 0;
    }
    case S_AV_UNION: {
        int64_t b = 0;
        if (s_varint(a, id, 10, "union branch index", &b) < 0)
            return -1;
        if (b < 0 || b >= nd->n)
            return s_fail(a, at, id, "union branch index %lld out of range (%d branches)",
                          (long long)b, nd->n);
        /* the same depth: a union's branch is never a union, so recursion
         * still passes through a record, array or map */
        return s_value(a, nd->kids[b], t, js, depth);
    }
    case S_AV_RECORD:
    case S_AV_ARRAY:
    case S_AV_MAP: {
        ed_buf_t *out = js;
        if (cap >= 0) {
            out = &a->jbuf[cap];
            ed_buf_reset(out);
            /* marked now so that nothing below captures into this slot */
            a->vals[cap].type = ED_VAL_OTHER;
        }
        int rc = nd->kind == S_AV_RECORD ? s_record(a, id, t, out, depth)
                                         : s_blocks(a, id, t, out, depth);
        if (rc < 0)
            return -1;
        if (cap >= 0) {
            a->vals[cap] = (ed_val_t){.type = ED_VAL_OTHER, .ptr = out->data, .len = out->len};
            if (js)
                ed_buf_append(js, out->data, out->len);
        }
        return 0;
    }
    }
    return s_fail(a, at, id, "unknown schema node");
}

/* "customer.tags[3]" of the steps before the error, into b. */
static void s_path_text(const ed_avro_t *a, ed_buf_t *b) {
    for (int i = 0; i < a->pdepth; i++) {
        const s_step_t *st = &a->path[i];
        if (st->name)
            ed_buf_printf(b, "%s%.*s", i ? "." : "", (int)(st->len > 64 ? 64 : st->len), st->name);
        else
            ed_buf_printf(b, "[%lld]", (long long)st->index);
    }
}

int ed_avro_decode(ed_avro_t *a, const char *d, size_t len, ed_val_t *vals, char *errstr,
                   size_t errstr_size) {
    for (int f = 0; f < a->nfields; f++)
        vals[f] = (ed_val_t){.type = ED_VAL_MISSING};
    a->vals = vals;
    a->base = a->p = (const uint8_t *)d;
    a->end = a->base + len;
    a->pdepth = 0;
    if (a->framing == ED_AVRO_FRAME_CONFLUENT) {
        if (len < 5)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "message of %zu bytes is too short for the Confluent wire format "
                             "(magic byte 0x00 and a 4-byte schema id, then the datum)",
                             len);
        if (a->p[0] != 0)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "byte 0 is 0x%02x, expected the Confluent magic byte 0x00 "
                             "(framing: confluent)",
                             a->p[0]);
        uint32_t id = (uint32_t)a->p[1] << 24 | (uint32_t)a->p[2] << 16 |
                      (uint32_t)a->p[3] << 8 | a->p[4];
        if (id != a->schema_id)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "Confluent schema id %u at byte 1, expected %u (the source's "
                             "schema_id)",
                             id, a->schema_id);
        a->p += 5;
    }
    a->items_left = len + 65536;
    int rc = s_value(a, 0, 0, NULL, 0);
    if (rc == 0 && a->p != a->end) {
        a->pdepth = 0;
        rc = s_fail(a, a->p, 0, "%zu trailing bytes after the datum", s_left(a));
    }
    if (rc < 0) {
        ed_buf_t b = ED_BUF_INIT;
        s_path_text(a, &b);
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "Avro datum does not match the schema at byte %zu of %zu, %s%s%s (%s): %s",
                  a->err_pos, len, b.len ? "field '" : "", b.len ? b.data : "the top-level value",
                  b.len ? "'" : "", a->s->nodes[a->err_node].tname, a->err);
        ed_buf_free(&b);
        return ED_EINVAL;
    }
    for (int f = 0; f < a->nfields; f++)
        if (a->dup_of[f] >= 0)
            vals[f] = vals[a->dup_of[f]];
    return 0;
}
