/*
 * ed_sink_rows.c — merged, sorted changelog rows of one flush for the SQL
 * upsert sinks. See ed_sink_rows.h.
 */
#include "sinks/ed_sink_rows.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct {
    ed_sink_row_t pub;
    size_t vals; /* index of delta[0] in the pool; value[] follows delta[] */
} s_row_t;

struct ed_sink_rows {
    ed_sink_rows_conf_t conf;
    ed_sink_col_t *cols; /* the table's columns */
    int ncols;
    int npk; /* leading columns in the primary key */
    s_row_t *rows;
    size_t nrows, cap;
    double *pool;
    size_t pool_len, pool_cap;
    uint32_t *slots; /* open addressing: row index + 1, 0 = empty */
    size_t nslots;
    uint64_t accepted;           /* input rows accepted (before merging) */
    uint64_t rejected;           /* input rows refused (bad shape or key) */
    const char *why;             /* reason of the first rejection */
    uint64_t rejects_logged_for; /* checkpoint + 1 whose rejections were counted */
};

/* Lays out the columns of `agg` into cols (room for s_cols_room): the
 * window bounds of a windowed aggregation, key parts, then per compute the
 * columns of its function. Returns how many. */
static int s_cols_layout(const ed_conf_aggregation_t *agg, ed_sink_col_t *cols) {
    int n = 0;
    if (ed_sink_windowed(agg)) {
        /* Window first: the primary key's index then serves "the rows of a
         * window" (a leaderboard, a range of windows to delete) directly. */
        cols[n++] = (ed_sink_col_t){ED_SINK_COL_WINDOW, 0,    NULL, NULL, ED_SINK_SQL_TIME,
                                    "window_start",     NULL};
        cols[n++] = (ed_sink_col_t){ED_SINK_COL_WINDOW, 1,    NULL, NULL, ED_SINK_SQL_TIME,
                                    "window_end",       NULL};
    }
    for (int i = 0; i < agg->nkey; i++)
        cols[n++] = (ed_sink_col_t){ED_SINK_COL_KEY, i,    NULL, NULL, ED_SINK_SQL_KEY,
                                    agg->key[i].column, NULL};
    for (int i = 0; i < agg->ncompute; i++) {
        const ed_aggfn_t *fn = agg->compute[i].fn;
        for (int j = 0; j < fn->ncols; j++)
            cols[n++] = (ed_sink_col_t){ED_SINK_COL_VALUE,
                                        i,
                                        fn,
                                        &fn->cols[j],
                                        (ed_sink_sql_t)fn->cols[j].sql,
                                        agg->compute[i].name,
                                        fn->cols[j].suffix};
    }
    return n;
}

static size_t s_cols_room(const ed_conf_aggregation_t *agg) {
    return 2 + (size_t)agg->nkey + ED_AGGFN_MAX_COLS * (size_t)agg->ncompute;
}

ed_sink_rows_t *ed_sink_rows_new(const ed_sink_rows_conf_t *conf) {
    assert(conf && conf->agg);
    ed_sink_rows_t *rs = ed_calloc(1, sizeof *rs);
    rs->conf = *conf;
    const ed_conf_aggregation_t *agg = conf->agg;
    rs->cols = ed_calloc(s_cols_room(agg), sizeof *rs->cols);
    rs->ncols = s_cols_layout(agg, rs->cols);
    rs->npk = agg->nkey + (ed_sink_windowed(agg) ? 2 : 0);
    return rs;
}

void ed_sink_rows_destroy(ed_sink_rows_t **rs_p) {
    if (!rs_p || !*rs_p)
        return;
    ed_sink_rows_t *rs = *rs_p;
    free(rs->cols);
    free(rs->rows);
    free(rs->pool);
    free(rs->slots);
    free(rs);
    *rs_p = NULL;
}

const ed_sink_col_t *ed_sink_rows_cols(const ed_sink_rows_t *rs, int *ncols) {
    *ncols = rs->ncols;
    return rs->cols;
}

int ed_sink_rows_npk(const ed_sink_rows_t *rs) {
    return rs->npk;
}

size_t ed_sink_rows_count(const ed_sink_rows_t *rs) {
    return rs->nrows;
}

const ed_sink_row_t *ed_sink_rows_get(const ed_sink_rows_t *rs, size_t i) {
    assert(i < rs->nrows);
    return &rs->rows[i].pub;
}

/* FNV-1a of the window bounds, then the key bytes: a row's identity. */
static uint64_t s_hash(int64_t ws, int64_t we, const uint8_t *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    uint64_t w[2] = {(uint64_t)ws, (uint64_t)we};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 8; i++)
            h = (h ^ ((w[k] >> (8 * i)) & 0xff)) * 1099511628211ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

/* Rows in (window_start, window_end, key bytes) order. */
static int s_row_cmp(const void *a, const void *b) {
    const ed_sink_row_t *x = &((const s_row_t *)a)->pub, *y = &((const s_row_t *)b)->pub;
    if (x->window_start_ms != y->window_start_ms)
        return x->window_start_ms < y->window_start_ms ? -1 : 1;
    if (x->window_end_ms != y->window_end_ms)
        return x->window_end_ms < y->window_end_ms ? -1 : 1;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/* Returns NULL if the row can be written, else why not. */
static const char *s_rows_check(const ed_sink_rows_t *rs, const ed_change_t *c) {
    const ed_conf_aggregation_t *agg = rs->conf.agg;
    ed_sink_part_check_fn check = rs->conf.check;
    if (c->nvals != agg->ncompute)
        return "row has the wrong number of values for the aggregation";
    const uint8_t *key = ed_change_key(c);
    if (ed_key_nparts(key, c->key_len) != agg->nkey)
        return "row has the wrong number of key parts for the aggregation";
    const char *wwhy = ed_sink_window_check(agg, c);
    if (wwhy)
        return wwhy;
    size_t total = 0;
    for (int i = 0; i < agg->nkey; i++) {
        const uint8_t *part;
        size_t len;
        if (ed_key_part(key, c->key_len, i, &part, &len) < 0)
            return "malformed composite key";
        const char *why = check ? check(part, len) : NULL;
        if (why)
            return why;
        total += len;
    }
    if (rs->conf.max_key && total > rs->conf.max_key)
        return "key longer than the primary key index allows";
    return NULL;
}

/* Collects, checks, merges and sorts the changelog rows of `flush`. */
static void s_rows_build(ed_sink_rows_t *rs, const ed_sink_flush_t *flush) {
    const ed_conf_aggregation_t *agg = rs->conf.agg;
    size_t nv = (size_t)agg->ncompute;
    size_t total = 0;
    for (int b = 0; b < flush->nchanges; b++)
        total += flush->changes[b]->count;
    rs->nrows = rs->pool_len = 0;
    rs->accepted = rs->rejected = 0;
    rs->why = NULL;
    if (total > rs->cap) {
        rs->cap = total;
        rs->rows = ed_realloc(rs->rows, rs->cap * sizeof *rs->rows);
    }
    /* Sized for every input row up front: the pool does not move while rows
     * are added, so their delta/value pointers stay valid. */
    if (total * 2 * nv > rs->pool_cap) {
        rs->pool_cap = total * 2 * nv;
        rs->pool = ed_realloc(rs->pool, rs->pool_cap * sizeof *rs->pool);
    }
    ed_sink_slots_reset(&rs->slots, &rs->nslots, total);
    size_t mask = rs->nslots - 1;

    for (int b = 0; b < flush->nchanges; b++) {
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, flush->changes[b]);
        const ed_change_t *c;
        while ((c = ed_batch_next_change(&it))) {
            const char *why = s_rows_check(rs, c);
            if (why) {
                rs->rejected++;
                if (!rs->why)
                    rs->why = why;
                continue;
            }
            rs->accepted++;
            const uint8_t *key = ed_change_key(c);
            const double *d = ed_change_delta(c), *v = ed_change_value(c);
            size_t slot =
                (size_t)s_hash(c->window_start_ms, c->window_end_ms, key, c->key_len) & mask;
            while (rs->slots[slot]) {
                const ed_sink_row_t *r = &rs->rows[rs->slots[slot] - 1].pub;
                if (r->key_len == c->key_len && r->window_start_ms == c->window_start_ms &&
                    r->window_end_ms == c->window_end_ms && !memcmp(r->key, key, c->key_len))
                    break;
                slot = (slot + 1) & mask;
            }
            if (!rs->slots[slot]) {
                s_row_t *r = &rs->rows[rs->nrows];
                r->pub.key = key;
                r->pub.key_len = c->key_len;
                r->pub.window_start_ms = c->window_start_ms;
                r->pub.window_end_ms = c->window_end_ms;
                r->pub.delta_n = c->delta_n;
                r->pub.n = c->n;
                r->vals = rs->pool_len;
                memcpy(rs->pool + rs->pool_len, d, nv * sizeof(double));
                memcpy(rs->pool + rs->pool_len + nv, v, nv * sizeof(double));
                r->pub.delta = rs->pool + r->vals;
                r->pub.value = r->pub.delta + nv;
                rs->pool_len += 2 * nv;
                rs->slots[slot] = (uint32_t)++rs->nrows;
                continue;
            }
            /* Merge into the earlier row of the same (window, key): rows come
             * in flush order, so the later one is the newer (each function
             * says how). */
            s_row_t *r = &rs->rows[rs->slots[slot] - 1];
            double *rd = rs->pool + r->vals, *rv = rd + nv;
            for (size_t i = 0; i < nv; i++)
                agg->compute[i].fn->merge_row(&rd[i], &rv[i], d[i], v[i]);
            r->pub.delta_n += c->delta_n;
            if (c->n > r->pub.n)
                r->pub.n = c->n;
        }
    }
    qsort(rs->rows, rs->nrows, sizeof *rs->rows, s_row_cmp);
}

ed_write_result_t ed_sink_rows_write(ed_sink_rows_t *rs, const ed_sink_flush_t *flush,
                                     ed_sink_stats_t *stats, const ed_sink_rows_ops_t *ops,
                                     void *ctx, char *errstr, size_t errstr_size) {
    s_rows_build(rs, flush);

    uint64_t records = 0;
    for (int b = 0; b < flush->nrecords; b++)
        records += flush->records[b]->count;
    /* Count and log refused rows once per flush, not again on a retry. */
    if (rs->rejects_logged_for != flush->checkpoint + 1) {
        rs->rejects_logged_for = flush->checkpoint + 1;
        if (rs->rejected) {
            stats->rows_rejected += rs->rejected;
            ED_LOG_W(rs->conf.sink,
                     "table %s: %llu changelog row(s) rejected (first: %s); the rest is written",
                     rs->conf.table, (unsigned long long)rs->rejected, rs->why);
        }
        if (records) {
            stats->rows_rejected += records;
            ED_LOG_W(rs->conf.sink,
                     "table %s: %llu record(s) rejected: a %s sink takes "
                     "aggregation changelogs only",
                     rs->conf.table, (unsigned long long)records, rs->conf.type);
        }
    }
    return ed_sink_ops_run(ops, ctx, rs->nrows, rs->accepted, stats, errstr, errstr_size);
}

ed_write_result_t ed_sink_ops_run(const ed_sink_rows_ops_t *ops, void *ctx, size_t nrows,
                                  uint64_t accepted, ed_sink_stats_t *stats, char *errstr,
                                  size_t errstr_size) {
    if (nrows == 0)
        return ED_WRITE_OK;
    uint64_t statements = 0;
    ed_write_result_t r = ops->connect(ctx, stats, errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = ops->prepare(ctx, errstr, errstr_size);
    if (r == ED_WRITE_OK)
        r = ops->txn(ctx, &statements, errstr, errstr_size);
    if (r == ED_WRITE_OK) {
        stats->statements += statements;
        stats->rows_written += accepted;
    } else if (r == ED_WRITE_DROP) {
        stats->rows_rejected += accepted;
    }
    return r;
}

long long ed_sink_row_int(const ed_sink_row_t *r, const ed_sink_col_t *c) {
    assert(c->sql == ED_SINK_SQL_BIGINT && c->def);
    double x = c->def->insert(r->delta[c->idx], r->value[c->idx], r->delta_n);
    return isfinite(x) ? (long long)llround(x) : 0LL;
}

double ed_sink_row_num(const ed_sink_row_t *r, const ed_sink_col_t *c) {
    assert((c->sql == ED_SINK_SQL_DOUBLE || c->sql == ED_SINK_SQL_DOUBLE_SUM) && c->def);
    return c->def->insert(r->delta[c->idx], r->value[c->idx], r->delta_n);
}

int64_t ed_sink_row_time(const ed_sink_row_t *r, const ed_sink_col_t *c) {
    assert(c->sql == ED_SINK_SQL_TIME);
    return c->idx ? r->window_end_ms : r->window_start_ms;
}

size_t ed_sink_time_text(int64_t ms, char *buf, size_t n) {
    /* Floor division: -1 ms is 1969-12-31 23:59:59.999. */
    int64_t sec = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return (size_t)snprintf(buf, n, "invalid");
    int len = snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
    return len < 0 ? 0 : (size_t)len;
}

void ed_sink_col_merge(const ed_sink_col_t *c, int mariadb, ed_sink_ref_fn ref, void *ctx,
                       ed_buf_t *out) {
    assert(c->role == ED_SINK_COL_VALUE && c->def);
    const char *t = mariadb && c->def->merge_mariadb ? c->def->merge_mariadb : c->def->merge;
    while (*t) {
        const char *end;
        if (t[0] == '{' && (t[1] == 'o' || t[1] == 'n') && (end = strchr(t, '}'))) {
            /* {o} / {n}: this column; {o_sfx} / {n_sfx}: the compute's column _sfx. */
            char sfx[32];
            size_t len = (size_t)(end - t - 2);
            assert(len < sizeof sfx);
            memcpy(sfx, t + 2, len);
            sfx[len] = '\0';
            ref(ctx, out, t[1] == 'n', c->name, len ? sfx : c->suffix);
            t = end + 1;
        } else {
            ed_buf_append(out, t, 1);
            t++;
        }
    }
}

const char *ed_sink_cols_dup(const ed_conf_aggregation_t *agg, int nocase, char *buf, size_t n) {
    ed_sink_col_t *cols = ed_calloc(s_cols_room(agg), sizeof *cols);
    int ncols = s_cols_layout(agg, cols);
    char **names = ed_calloc((size_t)ncols + 1, sizeof *names);
    for (int i = 0; i < ncols; i++) {
        if (cols[i].suffix) {
            snprintf(buf, n, "%s%s", cols[i].name, cols[i].suffix);
            names[i] = ed_strdup(buf);
        } else {
            names[i] = ed_strdup(cols[i].name);
        }
    }
    names[ncols] = ed_strdup("updated_at");
    free(cols); /* the layout has the window bounds of a windowed aggregation */
    const char *dup = NULL;
    for (int i = 0; i <= ncols && !dup; i++)
        for (int j = i + 1; j <= ncols && !dup; j++)
            if (!(nocase ? strcasecmp(names[i], names[j]) : strcmp(names[i], names[j]))) {
                snprintf(buf, n, "%s", names[i]);
                dup = buf;
            }
    for (int i = 0; i <= ncols; i++)
        free(names[i]);
    free(names);
    return dup;
}

void ed_sink_slots_reset(uint32_t **slots_p, size_t *nslots, size_t entries) {
    size_t want = 16;
    while (want < entries * 2)
        want *= 2;
    if (want > *nslots) {
        free(*slots_p);
        *slots_p = ed_malloc(want * sizeof **slots_p);
        *nslots = want;
    }
    memset(*slots_p, 0, *nslots * sizeof **slots_p);
}

int ed_sink_sql_init_check(const ed_sink_ctx_t *sc, const char *type, int records, int nocase,
                           char quote, char *errstr, size_t errstr_size) {
    const ed_conf_sink_t *sink = sc->sink;
    const ed_conf_aggregation_t *agg = sc->agg;
    if (!agg && !records)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': a %s sink writes aggregation changelogs (list it in the "
                         "`to:` of an aggregation) or records with `columns:`",
                         sink->name, type);
    char dup[300];
    if (!records && ed_sink_cols_dup(agg, nocase, dup, sizeof dup))
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': aggregation '%s' would give table column %c%s%c twice (key "
                         "columns, compute names, their companions (<avg>_sum, …), updated_at and "
                         "window_start/window_end of a windowed aggregation share one table%s); "
                         "rename a key column or compute",
                         sink->name, agg->name, quote, dup, quote,
                         nocase ? "; names compare ignoring case" : "");
    return 0;
}
