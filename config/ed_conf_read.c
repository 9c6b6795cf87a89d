/*
 * ed_conf_read.c — see ed_conf_read.h.
 */
#define _GNU_SOURCE
#include "config/ed_conf_read.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

/* One recorded error. */
typedef struct {
    int line, col;
    int seq; /* order of recording, to keep errors at one position stable */
    char *msg;
} s_error_t;

struct ed_conf_ctx {
    const char *file; /* name used in errors */
    const char *text; /* the whole input, for exact positions of ${VAR} */
    size_t len;
    ed_config_t *conf;
    const ed_conf_registry_t *reg;
    s_error_t *errs;
    int nerrs;
};

ed_conf_ctx_t *ed_conf_ctx_new(const char *name, const char *text, size_t len, ed_config_t *conf,
                               const ed_conf_registry_t *reg) {
    ed_conf_ctx_t *cx = ed_calloc(1, sizeof *cx);
    cx->reg = reg;
    cx->file = name;
    cx->text = text;
    cx->len = len;
    cx->conf = conf;
    return cx;
}

void ed_conf_ctx_destroy(ed_conf_ctx_t **cx_p) {
    if (!cx_p || !*cx_p)
        return;
    ed_conf_ctx_t *cx = *cx_p;
    for (int i = 0; i < cx->nerrs; i++)
        free(cx->errs[i].msg);
    free(cx->errs);
    free(cx);
    *cx_p = NULL;
}

ed_config_t *ed_conf_ctx_conf(ed_conf_ctx_t *cx) {
    return cx->conf;
}

const ed_conf_registry_t *ed_conf_ctx_registry(const ed_conf_ctx_t *cx) {
    return cx->reg;
}

int ed_conf_nerrors(const ed_conf_ctx_t *cx) {
    return cx->nerrs;
}

static int s_err_cmp(const void *a, const void *b) {
    const s_error_t *x = a, *y = b;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->col != y->col)
        return x->col < y->col ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int ed_conf_report(const ed_conf_ctx_t *cx, char *errstr, size_t errstr_size) {
    if (!cx->nerrs)
        return 0;
    qsort(cx->errs, (size_t)cx->nerrs, sizeof *cx->errs, s_err_cmp);
    ed_buf_t b = ED_BUF_INIT;
    int shown = cx->nerrs < ED_CONFIG_MAX_ERRORS ? cx->nerrs : ED_CONFIG_MAX_ERRORS;
    for (int i = 0; i < shown; i++)
        ed_buf_printf(&b, "%s%s:%d:%d: %s", i ? "\n" : "", cx->file, cx->errs[i].line,
                      cx->errs[i].col, cx->errs[i].msg);
    if (cx->nerrs > shown)
        ed_buf_printf(&b, "\n%s: %d more errors not shown; fix these first", cx->file,
                      cx->nerrs - shown);
    ed_seterr(errstr, errstr_size, ED_EINVAL, "%s", b.data);
    ed_buf_free(&b);
    return ED_EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

static int s_verr_at(ed_conf_ctx_t *cx, int line, int col, const char *fmt, va_list ap) {
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = ed_strdup("invalid configuration");
    cx->errs = ed_realloc(cx->errs, sizeof *cx->errs * (size_t)(cx->nerrs + 1));
    cx->errs[cx->nerrs] = (s_error_t){line, col, cx->nerrs, msg};
    cx->nerrs++;
    return ED_EINVAL;
}

int ed_conf_err_at(ed_conf_ctx_t *cx, int line, int col, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = s_verr_at(cx, line, col, fmt, ap);
    va_end(ap);
    return rc;
}

int ed_conf_err(ed_conf_ctx_t *cx, const ed_node_t *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = s_verr_at(cx, n ? n->line : 1, n ? n->col : 1, fmt, ap);
    va_end(ap);
    return rc;
}

int ed_conf_err_pos(ed_conf_ctx_t *cx, const ed_conf_pos_t *pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = s_verr_at(cx, pos->line, pos->col, fmt, ap);
    va_end(ap);
    return rc;
}

/* Levenshtein distance, for "did you mean" hints on typos. */
static size_t s_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

void ed_conf_suggest(ed_buf_t *b, const char *word, const char *const *cands, int n) {
    const char *best = NULL;
    size_t bestd = SIZE_MAX;
    for (int i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        size_t d = s_distance(word, cands[i]);
        if (d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    size_t wl = strlen(word);
    if (best && bestd > 0 && bestd <= 2 && bestd < wl)
        ed_buf_printf(b, "; did you mean '%s'?", best);
}

void ed_conf_join(ed_buf_t *b, const char *const *items, int n) {
    for (int i = 0; i < n; i++) {
        if (i)
            ed_buf_puts(b, ", ");
        ed_buf_puts(b, items[i] ? items[i] : "?");
    }
    if (!b->data)
        ed_buf_puts(b, "");
}

ed_conf_pos_t ed_conf_pos(ed_conf_ctx_t *cx, const ed_node_t *n) {
    ed_conf_pos_t pos = {cx->conf->path, n->line, n->col};
    return pos;
}

/* ------------------------------------------------------------------------ */
/* Structure                                                                */

int ed_conf_keys(ed_conf_ctx_t *cx, const ed_node_t *map, const char *where,
                 const char *const *allowed) {
    return ed_conf_keys_hidden(cx, map, where, allowed, NULL);
}

int ed_conf_keys_hidden(ed_conf_ctx_t *cx, const ed_node_t *map, const char *where,
                        const char *const *allowed, const char *const *hidden) {
    int rc = 0;
    for (int i = 0; map && map->type == ED_NODE_MAP && i < map->npairs; i++) {
        const ed_node_t *k = map->pairs[i].key;
        if (k->type != ED_NODE_SCALAR) {
            rc = ed_conf_err(cx, k, "a key in %s is %s; expected a plain name", where,
                             ed_node_what(k));
            continue;
        }
        const char *ks = k->text;
        int dup = 0;
        for (int j = 0; j < i && !dup; j++) {
            const ed_node_t *k2 = map->pairs[j].key;
            if (k2->type == ED_NODE_SCALAR && !strcmp(k2->text, ks)) {
                rc = ed_conf_err(
                    cx, k, "duplicate key '%s' in %s (first at line %d); expected each key once",
                    ks, where, k2->line);
                dup = 1;
            }
        }
        if (dup || !allowed)
            continue;
        int n = 0, ok = 0;
        for (; allowed[n]; n++)
            ok |= !strcmp(allowed[n], ks);
        for (int h = 0; hidden && hidden[h]; h++)
            ok |= !strcmp(hidden[h], ks);
        if (ok)
            continue;
        ed_buf_t b = ED_BUF_INIT;
        ed_conf_join(&b, allowed, n);
        ed_conf_suggest(&b, ks, allowed, n);
        rc = ed_conf_err(cx, k, "unknown key '%s' in %s; expected one of: %s", ks, where, b.data);
        ed_buf_free(&b);
    }
    return rc;
}

int ed_conf_want_map(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     const char *example) {
    if (v->type == ED_NODE_MAP || ed_node_is_null(v))
        return 0;
    return ed_conf_err(cx, v, "'%s' in %s is %s; expected a mapping, e.g. %s", key, where,
                       ed_node_what(v), example);
}

int ed_conf_section(ed_conf_ctx_t *cx, const ed_node_t *root, const char *key, const char *what,
                    const ed_node_t **sec, int *n) {
    ed_node_t *v = ed_node_get(root, key);
    *sec = NULL;
    *n = 0;
    if (!v || ed_node_is_null(v))
        return 0;
    if (v->type != ED_NODE_MAP)
        return ed_conf_err(cx, v, "'%s' is %s; expected a mapping of %s name to its settings", key,
                           ed_node_what(v), what);
    char where[64];
    snprintf(where, sizeof where, "'%s'", key);
    int rc = ed_conf_keys(cx, v, where, NULL);
    for (int i = 0; i < v->npairs; i++) {
        const ed_node_t *k = v->pairs[i].key, *body = v->pairs[i].value;
        if (k->type != ED_NODE_SCALAR)
            continue; /* reported by ed_conf_keys */
        if (!ed_conf_valid_name(k->text))
            rc = ed_conf_err(cx, k,
                             "invalid %s name '%s'; expected letters, digits, '_', '.' or '-'",
                             what, k->text);
        if (body->type != ED_NODE_MAP)
            rc = ed_conf_err(cx, body, "%s '%s' is %s; expected a mapping of its settings", what,
                             k->text, ed_node_what(body));
    }
    *sec = v;
    *n = v->npairs;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* ${VAR} interpolation                                                     */

/* Byte offset in the input of libyaml's character index (marks count
 * characters; a UTF-8 BOM is skipped before counting). */
static size_t s_byte_of(const ed_conf_ctx_t *cx, size_t chars) {
    size_t i = 0;
    if (cx->len >= 3 && !memcmp(cx->text, "\xEF\xBB\xBF", 3))
        i = 3;
    for (size_t c = 0; i < cx->len; i++) {
        if (((unsigned char)cx->text[i] & 0xC0) == 0x80)
            continue;
        if (c++ == chars)
            break;
    }
    return i;
}

/* Line and column of the nth "${" inside scalar n, so an error points at the
 * variable itself; falls back to the start of the scalar. */
static void s_interp_pos(const ed_conf_ctx_t *cx, const ed_node_t *n, int nth, int *line,
                         int *col) {
    *line = n->line;
    *col = n->col;
    if (!cx->text)
        return;
    size_t b = s_byte_of(cx, n->start), e = s_byte_of(cx, n->end);
    if (e > cx->len || e <= b)
        return;
    const char *t = cx->text;
    int l = *line, c = *col, k = 0;
    for (size_t i = b; i < e;) {
        if (t[i] == '$' && i + 1 < e && (t[i + 1] == '$' || t[i + 1] == '{')) {
            if (t[i + 1] == '{' && ++k == nth) {
                *line = l;
                *col = c;
                return;
            }
            i += 2;
            c += 2;
        } else if (t[i] == '\n' || t[i] == '\r') {
            if (t[i] == '\r' && i + 1 < e && t[i + 1] == '\n')
                i++;
            i++;
            l++;
            c = 1;
        } else {
            if (((unsigned char)t[i] & 0xC0) != 0x80)
                c++;
            i++;
        }
    }
}

int ed_conf_is_name_char(int ch, int first) {
    return ch == '_' || isalpha(ch) || (!first && isdigit(ch));
}

/* Expands ${VAR}, ${VAR:-default} and $$ in scalar n into an owned string.
 * A `$` followed by anything else is kept as it is. */
static int s_interp(ed_conf_ctx_t *cx, const ed_node_t *n, char **out) {
    const char *s = n->text;
    size_t len = n->len;
    ed_buf_t b = ED_BUF_INIT;
    int nth = 0, line, col;
    *out = NULL;
    for (size_t i = 0; i < len;) {
        if (s[i] != '$' || i + 1 >= len || (s[i + 1] != '$' && s[i + 1] != '{')) {
            size_t j = i + 1;
            while (j < len && s[j] != '$')
                j++;
            ed_buf_append(&b, s + i, j - i);
            i = j;
            continue;
        }
        if (s[i + 1] == '$') {
            ed_buf_append(&b, "$", 1);
            i += 2;
            continue;
        }
        nth++;
        size_t name = i + 2, j = name;
        while (j < len && ed_conf_is_name_char((unsigned char)s[j], j == name))
            j++;
        size_t name_len = j - name;
        const char *def = NULL;
        size_t def_len = 0, end;
        if (name_len && j < len && s[j] == '}') {
            end = j + 1;
        } else if (name_len && j + 1 < len && s[j] == ':' && s[j + 1] == '-') {
            const char *close = memchr(s + j + 2, '}', len - (j + 2));
            if (!close)
                goto bad;
            def = s + j + 2;
            def_len = (size_t)(close - def);
            end = (size_t)(close - s) + 1;
        } else {
            goto bad;
        }
        char *var = ed_strndup(s + name, name_len);
        const char *val = getenv(var);
        if (def && (!val || !*val)) {
            ed_buf_append(&b, def, def_len);
        } else if (val) {
            ed_buf_puts(&b, val);
        } else {
            s_interp_pos(cx, n, nth, &line, &col);
            ed_conf_err_at(cx, line, col,
                           "environment variable %s is not set; set it or write ${%s:-default}",
                           var, var);
            free(var);
            ed_buf_free(&b);
            return ED_EINVAL;
        }
        free(var);
        i = end;
        continue;
    bad:
        s_interp_pos(cx, n, nth, &line, &col);
        ed_buf_free(&b);
        return ed_conf_err_at(cx, line, col,
                              "invalid variable reference '%.*s'; expected ${NAME} or "
                              "${NAME:-default} (NAME of letters, digits and '_'), or $$ for a "
                              "literal '$'",
                              (int)(len - i > 24 ? 24 : len - i), s + i);
    }
    ed_buf_append(&b, "", 0);
    *out = b.data;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Value readers                                                            */

int ed_conf_scalar(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                   const char *desc, int flags, char **out) {
    *out = NULL;
    if (v->type != ED_NODE_SCALAR)
        return ed_conf_err(cx, v, "'%s' in %s is %s; expected %s", key, where, ed_node_what(v),
                           desc);
    int rc = s_interp(cx, v, out);
    if (rc < 0)
        return rc;
    if (!**out && !(flags & ED_CR_EMPTY_OK)) {
        free(*out);
        *out = NULL;
        return ed_conf_err(cx, v, "'%s' in %s is empty; expected %s", key, where, desc);
    }
    return 0;
}

int ed_conf_get_str(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                    const char *desc, int flags, const char *def, char **out) {
    const ed_node_t *v = ed_node_get(map, key);
    *out = NULL;
    if (!v || ed_node_is_null(v)) {
        if (flags & ED_CR_REQ)
            return ed_conf_err(cx, v ? v : map,
                               "missing required key '%s' in %s; expected %s: <%s>", key, where,
                               key, desc);
        *out = def ? ed_strdup(def) : NULL;
        return 0;
    }
    return ed_conf_scalar(cx, v, key, where, desc, flags, out);
}

typedef struct {
    const char *suffix;
    int64_t mult;
} s_unit_t;

static const s_unit_t s_dur_units[] = {{"", 1},      {"ms", 1},      {"s", 1000},
                                       {"m", 60000}, {"h", 3600000}, {NULL, 0}};
static const s_unit_t s_count_units[] = {{"", 1},        {"k", 1000},       {"K", 1000},
                                         {"M", 1000000}, {"G", 1000000000}, {NULL, 0}};
static const s_unit_t s_size_units[] = {
    {"", 1},           {"B", 1},        {"k", 1000},          {"kB", 1000},
    {"KiB", 1 << 10},  {"M", 1000000},  {"MB", 1000000},      {"MiB", 1 << 20},
    {"G", 1000000000}, {"GB", 1000000000}, {"GiB", 1 << 30}, {NULL, 0}};

/* Parses "<digits>[.<digits>]<unit>" exactly (no sign, no spaces) into an
 * integer; the result must be whole (1.5s is fine, 1.5ms is not). */
static int s_parse_scaled(const char *text, const s_unit_t *units, int64_t *out) {
    const char *p = text;
    if (!p || !isdigit((unsigned char)*p))
        return ED_EINVAL;
    int64_t ip = 0;
    for (; isdigit((unsigned char)*p); p++) {
        if (ip > (INT64_MAX - 9) / 10)
            return ED_EINVAL;
        ip = ip * 10 + (*p - '0');
    }
    int64_t fnum = 0, fden = 1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return ED_EINVAL;
        for (; isdigit((unsigned char)*p); p++) {
            if (fden >= 1000000000)
                return ED_EINVAL;
            fnum = fnum * 10 + (*p - '0');
            fden *= 10;
        }
    }
    for (const s_unit_t *u = units; u->suffix; u++) {
        if (strcmp(p, u->suffix))
            continue;
        if (ip > INT64_MAX / u->mult || (fnum && u->mult > INT64_MAX / 1000000000))
            return ED_EINVAL;
        int64_t frac = fnum * u->mult; /* fnum < 1e9, mult ≤ 2^30: no overflow */
        if (frac % fden)
            return ED_EINVAL;
        if (ip * u->mult > INT64_MAX - frac / fden)
            return ED_EINVAL;
        *out = ip * u->mult + frac / fden;
        return 0;
    }
    return ED_EINVAL;
}

int ed_config_parse_duration(const char *text, int64_t *ms) {
    int64_t v;
    if (s_parse_scaled(text, s_dur_units, &v) < 0)
        return ED_EINVAL;
    *ms = v;
    return 0;
}

void ed_conf_fmt_ms(char *buf, size_t size, int64_t ms) {
    if (ms % 3600000 == 0 && ms)
        snprintf(buf, size, "%lldh", (long long)(ms / 3600000));
    else if (ms % 60000 == 0 && ms)
        snprintf(buf, size, "%lldm", (long long)(ms / 60000));
    else if (ms % 1000 == 0 && ms)
        snprintf(buf, size, "%llds", (long long)(ms / 1000));
    else
        snprintf(buf, size, "%lldms", (long long)ms);
}

int ed_conf_val_int(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                    int64_t min, int64_t max, int64_t *out) {
    char range[96];
    if (max >= INT_MAX)
        snprintf(range, sizeof range, "an integer of at least %lld", (long long)min);
    else
        snprintf(range, sizeof range, "an integer from %lld to %lld", (long long)min,
                 (long long)max);
    char *s;
    int rc = ed_conf_scalar(cx, v, key, where, range, 0, &s);
    if (rc < 0)
        return rc;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || end == s || *end || !(isdigit((unsigned char)*s) || *s == '-') || x < min ||
        x > max)
        rc = ed_conf_err(cx, v, "invalid value '%s' for '%s' in %s; expected %s", s, key, where,
                         range);
    else
        *out = x;
    free(s);
    return rc;
}

int ed_conf_get_int(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                    int64_t def, int64_t min, int64_t max, int64_t *out) {
    const ed_node_t *v = ed_node_given(map, key);
    *out = def;
    return v ? ed_conf_val_int(cx, v, key, where, min, max, out) : 0;
}

int ed_conf_get_intv(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                     int def, int min, int max, int *out) {
    int64_t x;
    int rc = ed_conf_get_int(cx, map, key, where, def, min, max, &x);
    *out = (int)x;
    return rc;
}

int ed_conf_val_dur(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                    int64_t min, int64_t *out) {
    static const char desc[] =
        "a duration such as 500ms, 2s, 1m or 1h (a bare number is milliseconds)";
    char *s;
    int rc = ed_conf_scalar(cx, v, key, where, desc, 0, &s);
    if (rc < 0)
        return rc;
    int64_t ms = 0;
    char minbuf[32];
    ed_conf_fmt_ms(minbuf, sizeof minbuf, min);
    if (ed_config_parse_duration(s, &ms) < 0)
        rc = ed_conf_err(cx, v, "invalid duration '%s' for '%s' in %s; expected %s", s, key, where,
                         desc);
    else if (ms < min)
        rc = ed_conf_err(cx, v, "'%s' in %s is %s; expected at least %s", key, where, s, minbuf);
    else
        *out = ms;
    free(s);
    return rc;
}

int ed_conf_get_dur(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                    int64_t def, int64_t min, int64_t *out) {
    const ed_node_t *v = ed_node_given(map, key);
    *out = def;
    return v ? ed_conf_val_dur(cx, v, key, where, min, out) : 0;
}

/* Count (k/M/G, 10^n) or size (also KiB/MiB/GiB, 2^n) at least min. */
static int s_val_scaled(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                        uint64_t min, const s_unit_t *units, const char *what, uint64_t *out) {
    char desc[128];
    snprintf(desc, sizeof desc, "%s of at least %llu, %s", units == s_size_units ? "a size" : "a whole number",
             (unsigned long long)min, what);
    char *s;
    int rc = ed_conf_scalar(cx, v, key, where, desc, 0, &s);
    if (rc < 0)
        return rc;
    int64_t x;
    if (s_parse_scaled(s, units, &x) < 0 || (uint64_t)x < min)
        rc = ed_conf_err(cx, v, "invalid value '%s' for '%s' in %s; expected %s", s, key, where,
                         desc);
    else
        *out = (uint64_t)x;
    free(s);
    return rc;
}

int ed_conf_val_count(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                      uint64_t min, uint64_t *out) {
    return s_val_scaled(cx, v, key, where, min, s_count_units, "optionally with k, M or G (2M)",
                        out);
}

int ed_conf_val_size(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     uint64_t min, uint64_t *out) {
    return s_val_scaled(cx, v, key, where, min, s_size_units,
                        "in bytes with an optional unit: kB, MB, GB or KiB, MiB, GiB (16MiB)", out);
}

int ed_conf_get_count(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                      uint64_t def, uint64_t min, uint64_t *out) {
    const ed_node_t *v = ed_node_given(map, key);
    *out = def;
    return v ? ed_conf_val_count(cx, v, key, where, min, out) : 0;
}

int ed_conf_val_rate(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     double *out) {
    static const char desc[] = "a number of at least 0, optionally with k, M or G (50k)";
    char *s;
    int rc = ed_conf_scalar(cx, v, key, where, desc, 0, &s);
    if (rc < 0)
        return rc;
    char *end;
    errno = 0;
    double x = isdigit((unsigned char)*s) || *s == '.' ? strtod(s, &end) : -1;
    double mult = 0;
    if (x >= 0 && !errno) {
        for (const s_unit_t *u = s_count_units; u->suffix; u++)
            if (!strcmp(end, u->suffix))
                mult = (double)u->mult;
    }
    if (mult == 0 || !isfinite(x * mult))
        rc = ed_conf_err(cx, v, "invalid value '%s' for '%s' in %s; expected %s", s, key, where,
                         desc);
    else
        *out = x * mult;
    free(s);
    return rc;
}

int ed_conf_val_bool(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     int *out) {
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "on", "On", NULL};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "off", "Off", NULL};
    char *s;
    int rc = ed_conf_scalar(cx, v, key, where, "true or false", 0, &s);
    if (rc < 0)
        return rc;
    int val = -1;
    for (int i = 0; yes[i]; i++) {
        if (!strcmp(s, yes[i]))
            val = 1;
        if (!strcmp(s, no[i]))
            val = 0;
    }
    if (val < 0)
        rc = ed_conf_err(cx, v, "invalid value '%s' for '%s' in %s; expected true or false", s,
                         key, where);
    else
        *out = val;
    free(s);
    return rc;
}

int ed_conf_val_enum(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     const ed_conf_choice_t *tab, int *out) {
    const char *names[32] = {0};
    int n = 0, nall = 0;
    for (; nall < 32 && tab[nall].name; nall++)
        if (!tab[nall].planned)
            names[n++] = tab[nall].name;
    char *s;
    int rc = ed_conf_scalar(cx, v, key, where, "a single value", ED_CR_EMPTY_OK, &s);
    if (rc < 0)
        return rc;
    ed_buf_t b = ED_BUF_INIT;
    ed_conf_join(&b, names, n);
    for (int i = 0; i < nall; i++) {
        if (strcmp(s, tab[i].name))
            continue;
        if (tab[i].planned)
            rc = ed_conf_err(cx, v,
                             "%s '%s' in %s is not implemented yet; expected one of: %s", key, s,
                             where, b.data);
        else
            *out = tab[i].value;
        free(s);
        ed_buf_free(&b);
        return rc;
    }
    ed_conf_suggest(&b, s, names, n);
    rc = ed_conf_err(cx, v, "invalid value '%s' for '%s' in %s; expected one of: %s", s, key,
                     where, b.data);
    free(s);
    ed_buf_free(&b);
    return rc;
}

int ed_conf_val_strlist(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                        const char *desc, ed_conf_strlist_t *out) {
    int n = v->type == ED_NODE_SEQ ? v->nitems : v->type == ED_NODE_SCALAR ? 1 : 0;
    if (v->type == ED_NODE_MAP || (v->type == ED_NODE_SEQ && !n))
        return ed_conf_err(cx, v, "'%s' in %s is %s; expected %s", key, where,
                           v->type == ED_NODE_SEQ ? "an empty list" : ed_node_what(v), desc);
    out->v = ed_calloc((size_t)n, sizeof *out->v);
    out->n = 0;
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const ed_node_t *item = v->type == ED_NODE_SEQ ? v->items[i] : v;
        char *s;
        if (ed_conf_scalar(cx, item, key, where, desc, 0, &s) < 0)
            rc = ED_EINVAL;
        else
            out->v[out->n++] = s;
    }
    return rc;
}

int ed_conf_val_kvmap(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                      const char *example, ed_conf_kvmap_t *out) {
    char w[600];
    snprintf(w, sizeof w, "'%s' of %s", key, where);
    int rc = ed_conf_want_map(cx, v, key, where, example);
    if (rc < 0 || (rc = ed_conf_keys(cx, v, w, NULL)) < 0)
        return rc;
    int n = v->type == ED_NODE_MAP ? v->npairs : 0;
    out->v = ed_calloc((size_t)n ? (size_t)n : 1, sizeof *out->v);
    out->n = 0;
    for (int i = 0; i < n; i++) {
        const ed_node_t *k = v->pairs[i].key, *val = v->pairs[i].value;
        char *value = NULL;
        if (ed_node_is_null(val))
            rc = ed_conf_err(cx, val, "property '%s' in %s has no value; expected %s: <value>",
                             k->text, w, k->text);
        else if (ed_conf_scalar(cx, val, k->text, w, "a single value", ED_CR_EMPTY_OK, &value) <
                 0)
            rc = ED_EINVAL;
        if (!value)
            continue;
        out->v[out->n].key = ed_strdup(k->text);
        out->v[out->n++].value = value;
    }
    return rc;
}
