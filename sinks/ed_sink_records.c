/*
 * ed_sink_records.c — records mapped to typed table columns for the SQL
 * sinks. See ed_sink_records.h.
 */
#define _GNU_SOURCE
#include "sinks/ed_sink_records.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors/decode/ed_json.h"
#include "actors/decode/ed_json_fields.h"
#include "actors/decode/ed_time.h"
#include "runtime/ed_utf8.h"
#include "sinks/ed_sink_records_spec.h"
#include "sinks/ed_sink_rows.h"

/* Rejects logged in full per flush; the rest are counted. */
#define S_LOG_REJECTS 5

typedef struct {
    size_t cells;   /* index of the row's first cell */
    size_t key_off; /* its primary key's bytes in the pool */
    uint32_t key_len;
} s_row_t;

struct ed_sink_records {
    ed_sink_records_conf_t conf;
    ed_rec_col_t *cols;
    int ncols;
    int *pk; /* column indexes in key order */
    int npk;
    ed_json_t *json;
    ed_json_fields_t *fields;
    ed_val_t *vals;
    s_row_t *rows;
    size_t nrows, caprows;
    ed_rec_cell_t *cells;
    size_t ncells, capcells;
    uint8_t *pooled; /* per cell: 1 when its text is in `pool` at offset cell.i until resolved */
    ed_buf_t pool;   /* decoded strings, re-encoded JSON, primary keys, reject sentences */
    uint32_t *slots; /* open addressing over rows: index + 1, 0 = empty */
    size_t nslots;
    uint64_t accepted;
    ed_sink_reject_t *rejects;
    size_t *why_off; /* per reject: its sentence in the pool until resolved */
    size_t nrejects, caprejects;
    uint64_t logged_for; /* checkpoint + 1 whose rejects were counted */
};

/* --------------------------------------------------------------- options */

const ed_conf_choice_t ed_sink_rec_modes[] = {
    {"upsert", ED_REC_MODE_UPSERT, 0}, {"insert", ED_REC_MODE_INSERT, 0}, {NULL, 0, 0}};

void ed_sink_rec_conf(ed_sink_records_conf_t *conf, const ed_sink_rec_opts_t *o) {
    conf->columns = &o->columns;
    conf->primary_key = &o->primary_key;
    conf->upsert = o->mode ? o->mode == ED_REC_MODE_UPSERT : o->primary_key.n > 0;
}

int ed_sink_rec_open(const ed_config_t *conf, const char *sink, const char *table,
                     const ed_sink_rec_opts_t *o, int pk_text_width, ed_sink_records_t **recs,
                     const ed_rec_col_t **cols, int *ncols, const int **pk, int *npk,
                     int *upsert, char *errstr, size_t errstr_size) {
    ed_sink_records_conf_t rc = {
        .conf = conf, .sink = sink, .table = table, .pk_text_width = pk_text_width};
    ed_sink_rec_conf(&rc, o);
    *upsert = rc.upsert;
    if (!(*recs = ed_sink_records_new(&rc, errstr, errstr_size)))
        return ED_EINVAL;
    *cols = ed_sink_records_cols(*recs, ncols);
    *pk = ed_sink_records_pk(*recs, npk);
    return 0;
}

int ed_sink_rec_validate(ed_conf_check_t *ck, const ed_sink_rec_opts_t *o, const char *table,
                         int pk_text_width) {
    const char *w = ed_conf_check_where(ck, "columns");
    if (!ed_sink_rec_on(o)) {
        static const char *const keys[] = {"mode", "primary_key"};
        int rc = 0;
        for (int i = 0; i < 2; i++)
            if (ed_conf_check_given(ck, keys[i]) && ed_conf_check_ok(ck, "columns"))
                rc = ed_conf_check_errk(ck, keys[i],
                                        "'%s' in %s applies to records written as rows; expected "
                                        "`columns:` beside it (or remove '%s': the sink upserts "
                                        "an aggregation's changelog)",
                                        keys[i], w, keys[i]);
        return rc;
    }
    if (!table && ed_conf_check_ok(ck, "table"))
        return ed_conf_check_errk(ck, "columns",
                                  "%s writes records (`columns:`) and has no `table`; expected "
                                  "table: <name> beside it",
                                  w);
    ed_sink_records_conf_t rc = {.pk_text_width = pk_text_width};
    ed_sink_rec_conf(&rc, o);
    char buf[768];
    const char *why = ed_sink_records_check(&rc, buf, sizeof buf);
    if (!why)
        return 0;
    const char *key = strstr(why, "primary key") || strstr(why, "primary_key") ? "primary_key"
                                                                                : "columns";
    if (!strcmp(key, "primary_key") && !ed_conf_check_given(ck, "primary_key"))
        key = "mode";
    return ed_conf_check_err(ck, key, "invalid %s in %s: %s", key, w, why);
}

int ed_sink_rec_link(ed_conf_check_t *ck, const ed_sink_rec_opts_t *o) {
    if (!ed_sink_rec_on(o))
        return 0;
    return ed_conf_check_errk(ck, "columns",
                              "%s is fed an aggregation's changelog, whose columns are the "
                              "aggregation's (docs/sinks.md); `columns` maps records: remove it, "
                              "or use another sink for the changelog",
                              ed_conf_check_where(ck, "columns"));
}

int ed_sink_rec_link_records(ed_conf_check_t *ck, const ed_sink_rec_opts_t *o) {
    if (ed_sink_rec_on(o))
        return 0;
    const ed_conf_sink_t *s = ed_conf_check_sink(ck);
    return ed_conf_check_err(ck, "columns",
                             "%s sink '%s' is sent records, and writes them as rows only with "
                             "`columns:` (and `table:`); expected e.g. table: users, columns: { "
                             "id: \"id bigint\", email: email }, primary_key: [id]",
                             s && s->type ? s->type->name : "this", ed_conf_check_name(ck));
}

ed_sink_records_t *ed_sink_records_new(const ed_sink_records_conf_t *conf, char *errstr,
                                       size_t errstr_size) {
    ed_rec_col_t *cols;
    int *pk;
    char why[512];
    if (ed_sink_records_layout(conf, &cols, &pk, why, sizeof why)) {
        ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': %s", conf->sink, why);
        return NULL;
    }
    ed_sink_records_t *rs = ed_calloc(1, sizeof *rs);
    rs->conf = *conf;
    rs->cols = cols;
    rs->ncols = conf->columns->n;
    rs->pk = pk;
    rs->npk = conf->primary_key ? conf->primary_key->n : 0;
    rs->json = ed_json_new();
    const char **paths = ed_calloc((size_t)rs->ncols, sizeof *paths);
    for (int i = 0; i < rs->ncols; i++)
        paths[i] = cols[i].path;
    rs->fields = ed_json_fields_new(paths, rs->ncols);
    free(paths);
    rs->vals = ed_calloc((size_t)rs->ncols, sizeof *rs->vals);
    return rs;
}

void ed_sink_records_destroy(ed_sink_records_t **rs_p) {
    if (!rs_p || !*rs_p)
        return;
    ed_sink_records_t *rs = *rs_p;
    ed_sink_records_cols_free(rs->cols, rs->ncols);
    free(rs->pk);
    ed_json_destroy(&rs->json);
    ed_json_fields_destroy(&rs->fields);
    free(rs->vals);
    free(rs->rows);
    free(rs->cells);
    free(rs->pooled);
    ed_buf_free(&rs->pool);
    free(rs->slots);
    free(rs->rejects);
    free(rs->why_off);
    free(rs);
    *rs_p = NULL;
}

const ed_rec_col_t *ed_sink_records_cols(const ed_sink_records_t *rs, int *ncols) {
    *ncols = rs->ncols;
    return rs->cols;
}

const int *ed_sink_records_pk(const ed_sink_records_t *rs, int *npk) {
    *npk = rs->npk;
    return rs->npk ? rs->pk : NULL;
}

size_t ed_sink_records_count(const ed_sink_records_t *rs) { return rs->nrows; }

uint64_t ed_sink_records_accepted(const ed_sink_records_t *rs) { return rs->accepted; }

const ed_rec_cell_t *ed_sink_records_row(const ed_sink_records_t *rs, size_t i) {
    assert(i < rs->nrows);
    return &rs->cells[rs->rows[i].cells];
}

size_t ed_sink_records_nrejects(const ed_sink_records_t *rs) { return rs->nrejects; }

const ed_sink_reject_t *ed_sink_records_reject(const ed_sink_records_t *rs, size_t i) {
    assert(i < rs->nrejects);
    return &rs->rejects[i];
}

/* ---------------------------------------------------------------- values */

/* Text of a cell during the build (pooled or borrowed). */
static const char *s_cell_str(const ed_sink_records_t *rs, size_t cell) {
    return rs->pooled[cell] ? rs->pool.data + rs->cells[cell].i : rs->cells[cell].str;
}

/* Puts n bytes into the pool as the text of `cell`. */
static void s_pool_text(ed_sink_records_t *rs, size_t cell, const char *s, size_t n) {
    rs->pooled[cell] = 1;
    rs->cells[cell].i = (int64_t)rs->pool.len;
    rs->cells[cell].len = n;
    ed_buf_append(&rs->pool, s, n);
}

/* Code points of valid UTF-8 text. */
static size_t s_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static const char *s_what(const ed_val_t *v) {
    switch (v->type) {
    case ED_VAL_STRING:
        return "a string";
    case ED_VAL_NUMBER:
        return "a number";
    case ED_VAL_BOOL:
        return "a boolean";
    case ED_VAL_OTHER:
        return v->len && v->ptr[0] == '[' ? "an array" : "an object";
    default:
        return "null";
    }
}

/* A JSON integer of at most 18 digits (-?[0-9]+, no fraction or exponent),
 * the usual case, without copying or strtoll: 1 with *out, else 0 (the
 * general path decides). */
static int s_int_fast(const char *p, size_t n, int64_t *out) {
    size_t i = n && p[0] == '-';
    if (n <= i || n - i > 18)
        return 0;
    int64_t x = 0;
    for (size_t k = i; k < n; k++) {
        unsigned d = (unsigned)(p[k] - '0');
        if (d > 9)
            return 0;
        x = x * 10 + d;
    }
    *out = i ? -x : x;
    return 1;
}

/* Converts field value v for column c into cell `cell`; d/len: the record
 * (a text inside it is borrowed, anything else pooled). NULL, or why the
 * value does not fit (in buf). */
static const char *s_convert(ed_sink_records_t *rs, const ed_rec_col_t *c, const ed_val_t *v,
                             size_t cell, const char *d, size_t len, char *buf, size_t n) {
    ed_rec_cell_t *out = &rs->cells[cell];
    memset(out, 0, sizeof *out);
    rs->pooled[cell] = 0;
    if (v->type == ED_VAL_MISSING || v->type == ED_VAL_NULL) {
        if (c->not_null) {
            snprintf(buf, n, "field '%s' is %s, and the column is required%s", c->path,
                     v->type == ED_VAL_NULL ? "null" : "missing",
                     c->pk ? " (it is in the primary key)" : " (not null)");
            return buf;
        }
        out->null = 1;
        return NULL;
    }
    int inside = v->ptr >= d && v->ptr + v->len <= d + len;
    switch (c->type) {
    case ED_REC_TEXT:
        if (v->type == ED_VAL_OTHER) {
            snprintf(buf, n, "field '%s' is %s; expected text (a jsonb column keeps nested "
                             "values)",
                     c->path, s_what(v));
            return buf;
        }
        if (v->type == ED_VAL_STRING && (memchr(v->ptr, 0, v->len) || !ed_utf8_valid(v->ptr, v->len))) {
            snprintf(buf, n, "field '%s' is not valid UTF-8 text without NUL bytes", c->path);
            return buf;
        }
        if (c->width && s_chars(v->ptr, v->len) > (size_t)c->width) {
            snprintf(buf, n, "field '%s' has %zu characters, more than varchar(%d) holds",
                     c->path, s_chars(v->ptr, v->len), c->width);
            return buf;
        }
        break;
    case ED_REC_BIGINT: {
        if (v->type != ED_VAL_NUMBER) {
            snprintf(buf, n, "field '%s' is %s; expected an integer (bigint)", c->path, s_what(v));
            return buf;
        }
        if (s_int_fast(v->ptr, v->len, &out->i))
            return NULL;
        char num[64];
        snprintf(num, sizeof num, "%.*s", (int)(v->len < 63 ? v->len : 63), v->ptr);
        char *end;
        errno = 0;
        long long x = strtoll(num, &end, 10);
        if (*end == 0 && errno == 0) {
            out->i = x;
        } else if (*end && isfinite(v->num) && v->num == floor(v->num) &&
                   fabs(v->num) < 9223372036854775807.0) {
            out->i = (int64_t)v->num; /* 1e3, 2.0 */
        } else {
            snprintf(buf, n, "field '%s' is %.*s, not an integer in the bigint range", c->path,
                     (int)(v->len < 40 ? v->len : 40), v->ptr);
            return buf;
        }
        return NULL;
    }
    case ED_REC_DOUBLE:
        if (v->type != ED_VAL_NUMBER || !isfinite(v->num)) {
            snprintf(buf, n, "field '%s' is %s; expected a number (double precision)", c->path,
                     v->type == ED_VAL_NUMBER ? "not a finite number" : s_what(v));
            return buf;
        }
        out->d = v->num;
        return NULL;
    case ED_REC_BOOL:
        if (v->type != ED_VAL_BOOL) {
            snprintf(buf, n, "field '%s' is %s; expected true or false (boolean)", c->path,
                     s_what(v));
            return buf;
        }
        out->i = v->num != 0;
        return NULL;
    case ED_REC_TIME: {
        int64_t ms;
        if ((v->type != ED_VAL_STRING && v->type != ED_VAL_NUMBER) ||
            ed_time_parse(v, ED_TIME_AUTO, &ms) != 0) {
            snprintf(buf, n, "field '%s' is %s, not a time (expected ISO-8601 text such as "
                             "2024-05-01T12:00:00Z, or epoch seconds or ms)",
                     c->path, v->type == ED_VAL_STRING ? "a string" : s_what(v));
            return buf;
        }
        out->i = ms;
        return NULL;
    }
    case ED_REC_JSON:
        if (v->type == ED_VAL_STRING) {
            /* Decoded by the field reader: written again as a JSON string. */
            size_t at = rs->pool.len;
            ed_buf_json_str(&rs->pool, v->ptr, v->len);
            rs->pooled[cell] = 1;
            out->i = (int64_t)at;
            out->len = rs->pool.len - at;
            if (memchr(v->ptr, 0, v->len)) {
                snprintf(buf, n, "field '%s' holds a NUL character (\\u0000), which jsonb cannot "
                                 "store",
                         c->path);
                return buf;
            }
            return NULL;
        }
        if (memmem(v->ptr, v->len, "\\u0000", 6)) {
            snprintf(buf, n, "field '%s' holds a NUL character (\\u0000), which jsonb cannot store",
                     c->path);
            return buf;
        }
        break;
    }
    /* Text kept as it is: borrowed from the record, or pooled. */
    if (inside) {
        out->str = v->ptr;
        out->len = v->len;
    } else {
        s_pool_text(rs, cell, v->ptr, v->len);
    }
    return NULL;
}

/* Converts metadata column c of record r into cell `cell`. NULL, or why
 * it does not fit (in buf). */
static const char *s_meta_cell(ed_sink_records_t *rs, const ed_rec_col_t *c, const ed_record_t *r,
                               size_t cell, char *buf, size_t n) {
    ed_rec_cell_t *out = &rs->cells[cell];
    memset(out, 0, sizeof *out);
    rs->pooled[cell] = 0;
    const char *pos = ed_record_pos(r), *at = NULL, *slash = NULL;
    for (size_t i = r->pos_len; i-- > 0 && !at;)
        if (pos[i] == '@')
            at = pos + i;
    for (const char *p = at; p && p-- > pos && !slash;)
        if (*p == '/')
            slash = p;
    char num[32];
    const char *s = NULL;
    size_t len = 0;
    switch (c->meta) {
    case ED_REC_META_TOPIC:
        s = slash ? pos : NULL, len = slash ? (size_t)(slash - pos) : 0;
        break;
    case ED_REC_META_PARTITION:
    case ED_REC_META_OFFSET: {
        const char *b = c->meta == ED_REC_META_OFFSET ? at : slash;
        const char *e = c->meta == ED_REC_META_OFFSET ? pos + r->pos_len : at;
        if (!slash || (size_t)(e - b - 1) >= sizeof num || e - b < 2) {
            out->null = 1;
            break;
        }
        if (s_int_fast(b + 1, (size_t)(e - b - 1), &out->i))
            break;
        snprintf(num, sizeof num, "%.*s", (int)(e - b - 1), b + 1);
        out->i = strtoll(num, NULL, 10);
        break;
    }
    case ED_REC_META_TIMESTAMP:
        out->i = r->ts_ms;
        out->null = r->ts_ms == 0;
        break;
    case ED_REC_META_KEY:
        s = (const char *)ed_record_key(r), len = r->key_len;
        break;
    default:
        s = (const char *)ed_record_val(r), len = r->val_len;
        break;
    }
    if (c->type == ED_REC_TEXT) {
        out->null = !s || !len;
        if (s && (memchr(s, 0, len) || !ed_utf8_valid(s, len))) {
            snprintf(buf, n, "%s is not valid UTF-8 text without NUL bytes", c->path);
            return buf;
        }
        out->str = out->null ? NULL : s;
        out->len = out->null ? 0 : len;
    }
    if (out->null && c->not_null) {
        snprintf(buf, n, "%s is empty, and the column is required", c->path);
        return buf;
    }
    return NULL;
}

/* ----------------------------------------------------------- the build */

static void s_reject(ed_sink_records_t *rs, const ed_record_t *r, const char *column,
                     const char *why) {
    if (rs->nrejects == rs->caprejects) {
        rs->caprejects = rs->caprejects ? rs->caprejects * 2 : 16;
        rs->rejects = ed_realloc(rs->rejects, rs->caprejects * sizeof *rs->rejects);
        rs->why_off = ed_realloc(rs->why_off, rs->caprejects * sizeof *rs->why_off);
    }
    rs->why_off[rs->nrejects] = rs->pool.len;
    ed_buf_append(&rs->pool, why, strlen(why) + 1);
    rs->rejects[rs->nrejects++] = (ed_sink_reject_t){
        .src = r->src ? r->src - 1 : -1,
        .pos = ed_record_pos(r),
        .pos_len = r->pos_len,
        .column = column,
        .input = (const char *)ed_record_val(r),
        .input_len = r->val_len,
    };
}

/* Appends cell `cell`'s primary key bytes: per key column its type's
 * encoding, so that equal keys have equal bytes. */
static void s_key_part(ed_sink_records_t *rs, const ed_rec_col_t *c, size_t cell) {
    const ed_rec_cell_t *v = &rs->cells[cell];
    uint64_t u;
    switch (c->type) {
    case ED_REC_TEXT:
    case ED_REC_JSON: {
        uint32_t l = (uint32_t)v->len;
        ed_buf_append(&rs->pool, &l, sizeof l);
        if (!rs->pooled[cell]) {
            ed_buf_append(&rs->pool, v->str, v->len);
            return;
        }
        /* The text is in the pool itself, which may move as it grows. */
        char *tmp = ed_malloc(v->len + 1);
        memcpy(tmp, s_cell_str(rs, cell), v->len);
        ed_buf_append(&rs->pool, tmp, v->len);
        free(tmp);
        return;
    }
    case ED_REC_DOUBLE: {
        double x = v->d == 0 ? 0.0 : v->d; /* -0 and 0 are one key */
        memcpy(&u, &x, sizeof u);
        break;
    }
    default:
        u = (uint64_t)v->i;
        break;
    }
    ed_buf_append(&rs->pool, &u, sizeof u);
}

static uint64_t s_hash(const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

/* Rows in key order; glibc's qsort_r passes the record set, as two sinks on
 * two worker threads sort at the same time (a static pointer here was a data
 * race: a NULL dereference with a PostgreSQL and a MariaDB sink). */
static int s_row_cmp(const void *a, const void *b, void *arg) {
    const s_row_t *x = a, *y = b;
    const char *base = ((const ed_sink_records_t *)arg)->pool.data;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(base + x->key_off, base + y->key_off, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Adds the record's converted cells (at rs->ncells) as a row, or, with a
 * key already seen, in place of that row's cells. */
static void s_add_row(ed_sink_records_t *rs, size_t mask) {
    size_t first = rs->ncells, nc = (size_t)rs->ncols;
    size_t key_off = rs->pool.len;
    for (int k = 0; k < rs->npk; k++)
        s_key_part(rs, &rs->cols[rs->pk[k]], first + (size_t)rs->pk[k]);
    uint32_t key_len = (uint32_t)(rs->pool.len - key_off);
    if (rs->npk && rs->conf.upsert) {
        const uint8_t *key = (const uint8_t *)rs->pool.data + key_off;
        size_t slot = (size_t)s_hash(key, key_len) & mask;
        while (rs->slots[slot]) {
            s_row_t *r = &rs->rows[rs->slots[slot] - 1];
            if (r->key_len == key_len && !memcmp(rs->pool.data + r->key_off, key, key_len)) {
                /* The same key again: the later record wins. */
                memcpy(&rs->cells[r->cells], &rs->cells[first], nc * sizeof *rs->cells);
                memcpy(&rs->pooled[r->cells], &rs->pooled[first], nc);
                rs->pool.len = key_off;
                return;
            }
            slot = (slot + 1) & mask;
        }
        rs->slots[slot] = (uint32_t)rs->nrows + 1;
    }
    rs->rows[rs->nrows++] = (s_row_t){first, key_off, key_len};
    rs->ncells += nc;
}

size_t ed_sink_records_build(ed_sink_records_t *rs, const ed_sink_flush_t *flush) {
    size_t total = 0, nc = (size_t)rs->ncols;
    for (int b = 0; b < flush->nrecords; b++)
        total += flush->records[b]->count;
    rs->nrows = rs->ncells = rs->nrejects = 0;
    rs->accepted = 0;
    ed_buf_reset(&rs->pool);
    if (total > rs->caprows) {
        rs->caprows = total;
        rs->rows = ed_realloc(rs->rows, total * sizeof *rs->rows);
    }
    if ((total + 1) * nc > rs->capcells) {
        rs->capcells = (total + 1) * nc; /* + 1: a record being converted */
        rs->cells = ed_realloc(rs->cells, rs->capcells * sizeof *rs->cells);
        rs->pooled = ed_realloc(rs->pooled, rs->capcells);
    }
    ed_sink_slots_reset(&rs->slots, &rs->nslots, total);
    size_t mask = rs->nslots - 1;
    char why[512];
    for (int b = 0; b < flush->nrecords; b++) {
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, flush->records[b]);
        const ed_record_t *r;
        while ((r = ed_batch_next_record(&it))) {
            const char *d = (const char *)ed_record_val(r);
            if (ed_json_parse(rs->json, d, r->val_len, why, sizeof why) != 0) {
                s_reject(rs, r, NULL, why);
                continue;
            }
            ed_json_fields_get(rs->fields, ed_json_tape(rs->json), d, rs->vals);
            int bad = -1;
            for (size_t j = 0; j < nc && bad < 0; j++)
                if (rs->cols[j].meta ? s_meta_cell(rs, &rs->cols[j], r, rs->ncells + j, why,
                                                   sizeof why) != NULL
                                     : s_convert(rs, &rs->cols[j], &rs->vals[j], rs->ncells + j, d,
                                                 r->val_len, why, sizeof why) != NULL)
                    bad = (int)j;
            if (bad >= 0) {
                s_reject(rs, r, rs->cols[bad].name, why);
                continue;
            }
            rs->accepted++;
            s_add_row(rs, mask);
        }
    }
    /* The pool stops growing: resolve pooled texts and reject sentences. */
    for (size_t c = 0; c < rs->ncells; c++)
        if (rs->pooled[c]) {
            rs->cells[c].str = rs->pool.data + rs->cells[c].i;
            rs->cells[c].i = 0;
            rs->pooled[c] = 0;
        }
    for (size_t i = 0; i < rs->nrejects; i++)
        rs->rejects[i].why = rs->pool.data + rs->why_off[i];
    if (rs->npk && rs->conf.upsert) {
        qsort_r(rs->rows, rs->nrows, sizeof *rs->rows, s_row_cmp, rs);
    }
    return rs->nrows;
}

/* ---------------------------------------------------------- rejects out */

static const char *s_source_name(const ed_sink_records_t *rs, int src) {
    const ed_config_t *c = rs->conf.conf;
    return c && src >= 0 && src < c->nsources ? c->sources[src].name : NULL;
}

void ed_sink_reject_json(const ed_sink_records_t *rs, const ed_sink_reject_t *rj, ed_buf_t *out) {
    const char *src = s_source_name(rs, rj->src);
    ed_buf_puts(out, "{\"source\":");
    if (src)
        ed_buf_json_str(out, src, strlen(src));
    else
        ed_buf_puts(out, "null");
    ed_buf_puts(out, ",\"position\":");
    ed_buf_json_str(out, rj->pos, rj->pos_len);
    ed_buf_puts(out, ",\"sink\":");
    ed_buf_json_str(out, rs->conf.sink, strlen(rs->conf.sink));
    ed_buf_puts(out, ",\"column\":");
    if (rj->column)
        ed_buf_json_str(out, rj->column, strlen(rj->column));
    else
        ed_buf_puts(out, "null");
    ed_buf_puts(out, ",\"error\":");
    ed_buf_json_str(out, rj->why, strlen(rj->why));
    ed_buf_puts(out, ",\"input\":");
    ed_buf_json_str(out, rj->input, rj->input_len);
    ed_buf_puts(out, "}");
}

void ed_sink_reject_text(const ed_sink_records_t *rs, const ed_sink_reject_t *rj, ed_buf_t *out) {
    const char *src = s_source_name(rs, rj->src);
    ed_buf_printf(out, "%.*s", (int)rj->pos_len, rj->pos_len ? rj->pos : "(no position)");
    if (src)
        ed_buf_printf(out, " (source %s)", src);
    if (rj->column)
        ed_buf_printf(out, ", column %s", rj->column);
    ed_buf_printf(out, ": %s", rj->why);
}

ed_write_result_t ed_sink_records_write(ed_sink_records_t *rs, const ed_sink_flush_t *flush,
                                        ed_sink_stats_t *stats, const ed_sink_rows_ops_t *ops,
                                        void *ctx, char *errstr, size_t errstr_size) {
    ed_sink_records_build(rs, flush);
    uint64_t changes = 0;
    for (int b = 0; b < flush->nchanges; b++)
        changes += flush->changes[b]->count;
    /* Count, log and route the rejects once per flush, not again on a retry. */
    if (rs->logged_for != flush->checkpoint + 1) {
        rs->logged_for = flush->checkpoint + 1;
        stats->rows_rejected += rs->nrejects + changes;
        if (changes)
            ED_LOG_W(rs->conf.sink, "table %s: %llu changelog row(s) rejected: this sink writes "
                                    "records (`columns:`)",
                     rs->conf.table, (unsigned long long)changes);
        ed_buf_t b = ED_BUF_INIT;
        for (size_t i = 0; i < rs->nrejects; i++) {
            if (i < S_LOG_REJECTS) {
                ed_buf_reset(&b);
                ed_sink_reject_text(rs, &rs->rejects[i], &b);
                ED_LOG_W(rs->conf.sink, "table %s: record rejected at %s%s", rs->conf.table,
                         b.data, flush->rejects ? "; sent to the rejects sink" : "");
            }
            if (flush->rejects) {
                ed_buf_reset(&b);
                ed_sink_reject_json(rs, &rs->rejects[i], &b);
                if (!*flush->rejects)
                    *flush->rejects = ed_batch_new(ED_BATCH_RECORDS, 4096);
                ed_batch_add_record_at(*flush->rejects, rs->rejects[i].pos,
                                       (uint32_t)rs->rejects[i].pos_len, b.data, (uint32_t)b.len,
                                       ed_wall_ms(), rs->rejects[i].src, rs->rejects[i].pos,
                                       rs->rejects[i].pos_len);
            }
        }
        if (rs->nrejects > S_LOG_REJECTS)
            ED_LOG_W(rs->conf.sink, "table %s: %zu record(s) rejected in this flush (%d logged "
                                    "above); the rest is written",
                     rs->conf.table, rs->nrejects, S_LOG_REJECTS);
        ed_buf_free(&b);
    }
    return ed_sink_ops_run(ops, ctx, rs->nrows, rs->accepted, stats, errstr, errstr_size);
}
