/*
 * ed_conf_aggs.c — the `aggregations:` and `alerts:` sections: keys,
 * computes (aggregate functions looked up in the registry), `where`
 * filters (compiled here: actors/decode/ed_where.h), windows, alert
 * conditions and per-record alerts.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors/decode/ed_where.h"
#include "config/ed_conf_sections.h"
#include "runtime/ed_common.h"

static void s_free_key(void *field) {
    ed_conf_aggregation_t *a = ED_CONF_CONTAINER(field, ed_conf_aggregation_t, key);
    for (int j = 0; a->key && j < a->nkey; j++) {
        free(a->key[j].column);
        free(a->key[j].field);
    }
    free(a->key);
    a->key = NULL;
    a->nkey = 0;
}

static void s_free_compute(void *field) {
    ed_conf_aggregation_t *a = ED_CONF_CONTAINER(field, ed_conf_aggregation_t, compute);
    for (int j = 0; a->compute && j < a->ncompute; j++) {
        free(a->compute[j].name);
        free(a->compute[j].field);
    }
    free(a->compute);
    a->compute = NULL;
    a->ncompute = 0;
}

static void s_free_strv(char ***v, int *n, int **idx) {
    for (int i = 0; *v && i < *n; i++)
        free((*v)[i]);
    free(*v);
    free(*idx);
    *v = NULL;
    *idx = NULL;
    *n = 0;
}

static void s_free_agg_to(void *field) {
    ed_conf_aggregation_t *a = ED_CONF_CONTAINER(field, ed_conf_aggregation_t, to);
    s_free_strv(&a->to, &a->nto, &a->to_idx);
}

static void s_free_when(void *field) {
    ed_conf_alert_t *al = ED_CONF_CONTAINER(field, ed_conf_alert_t, when);
    free(al->when);
    free(al->metric);
    al->when = al->metric = NULL;
}

static void s_free_agg_where(void *field) {
    ed_conf_aggregation_t *a = ED_CONF_CONTAINER(field, ed_conf_aggregation_t, where);
    ed_where_destroy(&a->where);
}

static void s_free_window(void *field) {
    ed_conf_aggregation_t *a = ED_CONF_CONTAINER(field, ed_conf_aggregation_t, window);
    free(a->window.late_sink);
    a->window.late_sink = NULL;
}

static void s_free_alert_where(void *field) {
    ed_conf_alert_t *al = ED_CONF_CONTAINER(field, ed_conf_alert_t, where);
    ed_where_destroy(&al->where);
}

static void s_free_alert_to(void *field) {
    ed_conf_alert_t *al = ED_CONF_CONTAINER(field, ed_conf_alert_t, to);
    s_free_strv(&al->to, &al->nto, &al->to_idx);
}

const ed_conf_map_t ed_conf_aggregation_map[] = {
    {ED_CONF_STR, "from", NULL, offsetof(ed_conf_aggregation_t, from), ED_CONF_REQUIRED,
     "the source whose records are aggregated", .expect = "a source name",
     .doc_type = "source name"},
    {ED_CONF_CUSTOM, "where", NULL, offsetof(ed_conf_aggregation_t, where), 0,
     "only the records matching this filter are counted; see [Filter "
     "expressions](#filter-expressions-where)",
     .doc_def = "every record", .doc_type = "filter expression", .free = s_free_agg_where},
    {ED_CONF_CUSTOM, "key", NULL, offsetof(ed_conf_aggregation_t, key), ED_CONF_REQUIRED,
     "what records are grouped by; see below", .doc_type = "field, or list of key entries",
     .free = s_free_key},
    {ED_CONF_CUSTOM, "compute", NULL, offsetof(ed_conf_aggregation_t, compute), 0,
     "the values computed per key; see below", .doc_def = "`{count: count}`",
     .doc_type = "mapping name → aggregate",
     .free = s_free_compute},
    {ED_CONF_CUSTOM, "window", NULL, offsetof(ed_conf_aggregation_t, window), 0,
     "event-time windows: `{tumbling: 1m}`, `{hopping: 5m, slide: 1m}` or `{session: 30m, "
     "emit: on_close}`, with "
     "`allowed_lateness`, `late` and `emit`; see below", .doc_def = "`none` (cumulative)",
     .doc_type = "`none` or mapping", .free = s_free_window},
    {ED_CONF_CUSTOM, "to", NULL, offsetof(ed_conf_aggregation_t, to), ED_CONF_REQUIRED,
     "the sinks that receive this aggregation's changelog; may be left out when an alert "
     "watches the aggregation", .doc_type = "sink list (≥ 1)",
     .free = s_free_agg_to},
    {ED_CONF_BOOL, "repartition", NULL, 0, ED_CONF_RESERVED,
     "keys owned by one process across a consumer group", .expect = "remove it"},
    {0}};

const ed_conf_map_t ed_conf_alert_map[] = {
    {ED_CONF_STR, "on", NULL, offsetof(ed_conf_alert_t, on), ED_CONF_REQUIRED,
     "the aggregation watched, or a source (a per-record alert: every record matching `where` "
     "is sent)",
     .expect = "an aggregation or source name", .doc_type = "aggregation or source name"},
    {ED_CONF_CUSTOM, "when", NULL, offsetof(ed_conf_alert_t, when), 0,
     "on an aggregation, required: `METRIC OP NUMBER`, e.g. `count >= 1000`: METRIC one of the "
     "aggregation's compute names, "
     "OP `>=`, `>`, `<=`, `<` or `==`, NUMBER a decimal number (may be negative or use an "
     "exponent)",
     .expect = "METRIC OP NUMBER, e.g. count >= 1000, with OP one of >=, >, <=, <, ==",
     .doc_type = "string", .free = s_free_when},
    {ED_CONF_CUSTOM, "to", NULL, offsetof(ed_conf_alert_t, to), ED_CONF_REQUIRED,
     "where alert records go (sinks that take alerts)", .doc_type = "sink list (≥ 1)",
     .free = s_free_alert_to},
    {ED_CONF_CUSTOM, "where", NULL, offsetof(ed_conf_alert_t, where), 0,
     "on a source, required: the records sent; see [Filter "
     "expressions](#filter-expressions-where)",
     .doc_type = "filter expression", .free = s_free_alert_where},
    {0}};

/* "count, sum(FIELD), … or avg(FIELD)": the aggregate functions built. */
static void s_fn_list(const ed_conf_registry_t *reg, ed_buf_t *b) {
    int n = 0;
    for (int i = 0; reg->aggfn && reg->aggfn(i); i++)
        n += !reg->aggfn(i)->planned;
    for (int i = 0, k = 0; reg->aggfn && reg->aggfn(i); i++) {
        const ed_conf_aggfn_t *f = reg->aggfn(i);
        if (f->planned)
            continue;
        ed_buf_printf(b, "%s%s%s", k == 0 ? "" : k == n - 1 ? " or " : ", ", f->name,
                      f->takes_field ? "(FIELD)" : "");
        k++;
    }
    if (!b->data)
        ed_buf_puts(b, "");
}

/* Parses "NAME", "NAME()" or "NAME(FIELD)". Returns 0 with *fn set, or
 * ED_EINVAL with *fn NULL (unknown name; *name holds it) or set (the
 * arguments do not fit it). */
static int s_parse_compute(const ed_conf_registry_t *reg, const char *expr,
                           const ed_conf_aggfn_t **fn, char **field, char *name, size_t size) {
    const char *p = expr;
    while (isspace((unsigned char)*p))
        p++;
    const char *nm = p;
    while (isalpha((unsigned char)*p) || *p == '_')
        p++;
    size_t nlen = (size_t)(p - nm);
    snprintf(name, size, "%.*s", (int)nlen, nm);
    *fn = NULL;
    *field = NULL;
    for (int i = 0; reg->aggfn && reg->aggfn(i); i++)
        if (strlen(reg->aggfn(i)->name) == nlen && !strncasecmp(nm, reg->aggfn(i)->name, nlen))
            *fn = reg->aggfn(i);
    if (!*fn)
        return ED_EINVAL;
    while (isspace((unsigned char)*p))
        p++;
    const char *f = NULL, *fend = NULL;
    if (*p == '(') {
        p++;
        while (isspace((unsigned char)*p))
            p++;
        f = p;
        while (*p && *p != ')')
            p++;
        if (*p != ')')
            return ED_EINVAL;
        fend = p++;
        while (fend > f && isspace((unsigned char)fend[-1]))
            fend--;
        while (isspace((unsigned char)*p))
            p++;
    }
    if (*p)
        return ED_EINVAL;
    if (!(*fn)->takes_field)
        return f && fend > f ? ED_EINVAL : 0;
    if (!f || fend == f)
        return ED_EINVAL;
    *field = ed_strndup(f, (size_t)(fend - f));
    return 0;
}

static int s_agg_keys(ed_conf_state_t *st, const ed_node_t *body, const char *w,
                      ed_conf_aggregation_t *a, const ed_node_t ***colnodes) {
    ed_conf_ctx_t *cx = st->cx;
    const ed_node_t *v = ed_node_given(body, "key");
    static const char desc[] =
        "key: [FIELD, …] with FIELD a name, a dotted path or {column: field}";
    if (!v)
        return ed_conf_err(cx, ed_node_getk(body, "key") ? ed_node_get(body, "key") : body,
                           "missing required key 'key' in %s; expected %s", w, desc);
    int n = v->type == ED_NODE_SCALAR ? 1 : v->type == ED_NODE_SEQ ? v->nitems : -1;
    if (n < 0)
        return ed_conf_err(cx, v, "'key' in %s is %s; expected %s", w, ed_node_what(v), desc);
    if (!n)
        return ed_conf_err(cx, v, "'key' in %s is an empty list; expected %s", w, desc);
    a->key = ed_calloc((size_t)n, sizeof *a->key);
    *colnodes = ed_calloc((size_t)n, sizeof **colnodes);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const ed_node_t *item = v->type == ED_NODE_SCALAR ? v : v->items[i];
        const ed_node_t *fnode = item, *coln = item;
        char *column = NULL, *field = NULL;
        if (item->type == ED_NODE_MAP) {
            const ed_node_t *k = item->npairs == 1 ? item->pairs[0].key : NULL;
            if (!k) {
                rc = ed_conf_err(cx, item,
                                 "a key entry in %s has %d pairs; expected a single {column: "
                                 "field}",
                                 w, item->npairs);
                continue;
            }
            if (k->type != ED_NODE_SCALAR) {
                rc = ed_conf_err(cx, k, "a key column in %s is %s; expected a column name", w,
                                 ed_node_what(k));
                continue;
            }
            fnode = item->pairs[0].value;
            coln = k;
            if (ed_conf_scalar(cx, fnode, k->text, w, "a field name", 0, &field) < 0) {
                rc = ED_EINVAL;
                continue;
            }
            column = ed_strdup(k->text);
        } else {
            if (ed_conf_scalar(cx, item, "key", w, "a field name or {column: field}", 0, &field) <
                0) {
                rc = ED_EINVAL;
                continue;
            }
            column = ed_strdup(field);
            if (field[0] != '@')
                for (char *c = column; *c; c++)
                    if (*c == '.')
                        *c = '_';
        }
        a->key[a->nkey] = (ed_conf_keyfield_t){column, field};
        (*colnodes)[a->nkey++] = coln;
        char what[400];
        snprintf(what, sizeof what, "key column '%s'", column);
        if (a->from_idx >= 0 && ed_conf_check_field(st, fnode, field, what, w, a->from_idx) < 0)
            rc = ED_EINVAL;
    }
    return rc;
}

static int s_agg_compute(ed_conf_state_t *st, const ed_node_t *body, const char *w,
                         ed_conf_aggregation_t *a, const ed_node_t ***namenodes) {
    ed_conf_ctx_t *cx = st->cx;
    const ed_conf_registry_t *reg = ed_conf_ctx_registry(cx);
    const ed_node_t *v = ed_node_given(body, "compute");
    ed_buf_t fns = ED_BUF_INIT;
    s_fn_list(reg, &fns);
    int rc = 0;
    if (!v) {
        const ed_conf_aggfn_t *count = NULL;
        for (int i = 0; reg->aggfn && reg->aggfn(i) && !count; i++)
            if (!strcmp(reg->aggfn(i)->name, "count"))
                count = reg->aggfn(i);
        a->compute = ed_calloc(1, sizeof *a->compute);
        a->ncompute = 1;
        a->compute[0].name = ed_strdup("count");
        a->compute[0].fn = count ? count->fn : NULL;
        *namenodes = ed_calloc(1, sizeof **namenodes);
        (*namenodes)[0] = body;
    } else if (v->type != ED_NODE_MAP || !v->npairs) {
        rc = ed_conf_err(cx, v, "'compute' in %s is %s; expected compute: {NAME: AGGREGATE, …} "
                                "with AGGREGATE one of %s",
                         w, v->type == ED_NODE_MAP ? "an empty mapping" : ed_node_what(v),
                         fns.data);
    } else if (v->npairs > ED_CONF_MAX_COMPUTE) {
        rc = ed_conf_err(cx, v, "'compute' in %s has %d entries; expected at most %d (split it "
                                "into several aggregations)",
                         w, v->npairs, ED_CONF_MAX_COMPUTE);
    } else {
        char cw[340];
        snprintf(cw, sizeof cw, "compute of %s", w);
        rc = ed_conf_keys(cx, v, cw, NULL);
        a->compute = ed_calloc((size_t)v->npairs, sizeof *a->compute);
        *namenodes = ed_calloc((size_t)v->npairs, sizeof **namenodes);
        for (int j = 0; j < v->npairs; j++) {
            const ed_node_t *k = v->pairs[j].key, *e = v->pairs[j].value;
            if (k->type != ED_NODE_SCALAR)
                continue; /* reported by ed_conf_keys */
            char *expr, name[64], *field;
            const ed_conf_aggfn_t *fn;
            if (ed_conf_scalar(cx, e, k->text, cw, fns.data, 0, &expr) < 0) {
                rc = ED_EINVAL;
                continue;
            }
            int ok = s_parse_compute(reg, expr, &fn, &field, name, sizeof name) == 0;
            if (!ok) {
                ed_buf_t b = ED_BUF_INIT;
                if (!fn) {
                    const char *names[64];
                    int nn = 0;
                    for (int i = 0; reg->aggfn && reg->aggfn(i) && nn < 64; i++)
                        if (!reg->aggfn(i)->planned)
                            names[nn++] = reg->aggfn(i)->name;
                    ed_conf_suggest(&b, name, names, nn);
                }
                ed_conf_err(cx, e, "invalid aggregate '%s' for '%s' in %s; expected %s%s", expr,
                            k->text, cw, fns.data, b.data ? b.data : "");
                ed_buf_free(&b);
            } else if (fn->planned) {
                ed_conf_err(cx, e,
                            "aggregate '%s' for '%s' in %s is not implemented yet (%s); expected "
                            "%s",
                            fn->name, k->text, cw, fn->desc, fns.data);
                ok = 0;
            }
            free(expr);
            if (!ok) {
                free(field);
                rc = ED_EINVAL;
                continue;
            }
            ed_conf_compute_t *c = &a->compute[a->ncompute];
            c->name = ed_strdup(k->text);
            c->fn = fn->fn;
            c->field = field;
            (*namenodes)[a->ncompute++] = k;
            char what[400];
            snprintf(what, sizeof what, "compute '%s'", c->name);
            if (c->field && a->from_idx >= 0 &&
                ed_conf_check_field(st, e, c->field, what, w, a->from_idx) < 0)
                rc = ED_EINVAL;
        }
    }
    ed_buf_free(&fns);
    return rc;
}

/* Longest window size or lateness, and most windows per record: the
 * bounds of actors/aggregate/ed_window.h (ED_WINDOW_DURATION_MAX,
 * ED_WINDOW_MAX_PER_RECORD), which config/ may not include. */
#define S_WINDOW_MAX_MS (INT64_C(1) << 50)
#define S_WINDOWS_PER_RECORD 10000

/* `emit:` and `late:` of a window. `late: NAME` names a sink (read
 * before the aggregations) that takes the too-late records unchanged; the
 * config graph checks that it takes records (ed_conf_graph.c). */
static int s_window_modes(ed_conf_ctx_t *cx, const ed_node_t *v, const char *ww,
                          ed_conf_aggregation_t *a) {
    char *s = NULL;
    int rc;
    a->window.emit = ED_EMIT_ON_UPDATE;
    a->window.late = ED_WLATE_DROP;
    if ((rc = ed_conf_get_str(cx, v, "emit", ww, "on_update or on_close", 0, NULL, &s)) < 0)
        return rc;
    if (s && !strcmp(s, "on_close"))
        a->window.emit = ED_EMIT_ON_CLOSE;
    else if (s && strcmp(s, "on_update"))
        rc = ed_conf_err(cx, ed_node_get(v, "emit"),
                         "invalid 'emit' '%s' in %s; expected on_update (every flush upserts the "
                         "changed windows) or on_close",
                         s, ww);
    free(s);
    s = NULL;
    if (rc < 0)
        return rc;
    if ((rc = ed_conf_get_str(cx, v, "late", ww, "drop, update or a sink name", 0, NULL, &s)) < 0)
        return rc;
    if (s && !strcmp(s, "update")) {
        a->window.late = ED_WLATE_UPDATE;
    } else if (s && strcmp(s, "drop")) {
        const ed_node_t *ln = ed_node_get(v, "late");
        a->window.late_pos = ed_conf_pos(cx, ln);
        rc = ed_conf_resolve(cx, ln, ED_REF_SINK, s, "late", ww, &a->window.late_idx);
        if (rc == 0) {
            a->window.late = ED_WLATE_SINK;
            a->window.late_sink = s;
            s = NULL;
        }
    }
    free(s);
    return rc;
}

static int s_agg_window(ed_conf_ctx_t *cx, const ed_node_t *body, const char *w,
                        ed_conf_aggregation_t *a) {
    const ed_node_t *v = ed_node_given(body, "window");
    a->window.kind = ED_WIN_NONE;
    if (!v)
        return 0;
    static const char desc[] =
        "window: none, {tumbling: 1m}, {hopping: 1m, slide: 10s} or {session: 5m, emit: "
        "on_close}, with optional allowed_lateness, emit and late";
    if (v->type == ED_NODE_SCALAR) {
        char *s;
        int rc = ed_conf_scalar(cx, v, "window", w, desc, ED_CR_EMPTY_OK, &s);
        if (rc < 0)
            return rc;
        rc = strcmp(s, "none")
                 ? ed_conf_err(cx, v, "invalid 'window' '%s' in %s; expected %s", s, w, desc)
                 : 0;
        free(s);
        return rc;
    }
    if (v->type != ED_NODE_MAP)
        return ed_conf_err(cx, v, "'window' in %s is %s; expected %s", w, ed_node_what(v), desc);
    static const char *const keys[] = {"tumbling", "hopping", "session", "slide",
                                       "allowed_lateness", "emit", "late", NULL};
    static const char *const kinds[] = {"tumbling", "hopping", "session", NULL};
    static const ed_window_kind_t kind_of[] = {ED_WIN_TUMBLING, ED_WIN_HOPPING, ED_WIN_SESSION};
    char ww[340];
    snprintf(ww, sizeof ww, "window of %s", w);
    int rc, which = -1;
    if ((rc = ed_conf_keys_hidden(cx, v, ww, keys, NULL)) < 0)
        return rc;
    const ed_node_t *wk = ed_node_getk(body, "window");
    for (int k = 0; kinds[k]; k++) {
        const ed_node_t *kk = ed_node_getk(v, kinds[k]);
        if (kk && which >= 0)
            return ed_conf_err(cx, kk, "%s has both '%s' and '%s'; expected one of them", ww,
                               kinds[which], kinds[k]);
        if (kk)
            which = k;
    }
    if (which < 0)
        return ed_conf_err(cx, v, "%s has no size; expected %s", ww, desc);
    a->window.kind = kind_of[which];
    if ((rc = ed_conf_get_dur(cx, v, kinds[which], ww, 0, 1, &a->window.size_ms)) < 0)
        return rc;
    if (!ed_node_given(v, kinds[which]))
        return ed_conf_err(cx, v, "'%s' in %s has no value; expected a duration such as 1m",
                           kinds[which], ww);
    if (a->window.size_ms > S_WINDOW_MAX_MS)
        return ed_conf_err(cx, ed_node_get(v, kinds[which]),
                           "'%s' in %s is longer than 2^50 ms; expected a shorter window",
                           kinds[which], ww);
    const ed_node_t *sk = ed_node_getk(v, "slide");
    if (which != 1 && sk)
        return ed_conf_err(
            cx, sk, "'slide' in %s applies to hopping windows only; expected it with 'hopping'",
            ww);
    if (which == 1) {
        if (!ed_node_given(v, "slide"))
            return ed_conf_err(cx, v,
                               "missing required key 'slide' in %s; expected slide: <duration, "
                               "at most the window size>",
                               ww);
        if ((rc = ed_conf_get_dur(cx, v, "slide", ww, 0, 1, &a->window.slide_ms)) < 0)
            return rc;
        const ed_node_t *sv = ed_node_get(v, "slide");
        if (a->window.slide_ms > a->window.size_ms)
            return ed_conf_err(
                cx, sv,
                "'slide' in %s is longer than the window; expected at most the hopping size", ww);
        if (a->window.size_ms % a->window.slide_ms)
            return ed_conf_err(cx, sv,
                               "'slide' in %s does not divide the hopping size (%lld ms by %lld "
                               "ms); expected a slide such that the size is a multiple of it",
                               ww, (long long)a->window.size_ms, (long long)a->window.slide_ms);
        if (a->window.size_ms / a->window.slide_ms > S_WINDOWS_PER_RECORD)
            return ed_conf_err(cx, sv,
                               "'slide' in %s puts each record in %lld windows; expected at "
                               "most %d (a longer slide)",
                               ww, (long long)(a->window.size_ms / a->window.slide_ms),
                               S_WINDOWS_PER_RECORD);
    } else {
        a->window.slide_ms = a->window.size_ms;
    }
    if ((rc = ed_conf_get_dur(cx, v, "allowed_lateness", ww, 0, 0,
                              &a->window.allowed_lateness_ms)) < 0)
        return rc;
    if (a->window.allowed_lateness_ms > S_WINDOW_MAX_MS)
        return ed_conf_err(cx, ed_node_get(v, "allowed_lateness"),
                           "'allowed_lateness' in %s is longer than 2^50 ms; expected less", ww);
    if ((rc = s_window_modes(cx, v, ww, a)) < 0)
        return rc;
    /* A session's row changes bounds as it grows and merges: an upsert per
     * flush would leave the rows of merged sessions behind in the sinks. */
    if (a->window.kind == ED_WIN_SESSION && a->window.emit != ED_EMIT_ON_CLOSE)
        return ed_conf_err(cx, ed_node_given(v, "emit") ? ed_node_get(v, "emit") : wk,
                           "session windows support 'emit: on_close' only (a session's bounds "
                           "change as records extend and merge it, so on_update rows could not "
                           "be retracted); add emit: on_close to %s",
                           ww);
    /* Parsed in full so the shape is settled, but refused unless the
     * pipeline runs windows: silently running a cumulative aggregation
     * instead would mislead. */
    if (ed_conf_ctx_registry(cx)->windows)
        return 0;
    return ed_conf_err(cx, wk,
                       "windowed aggregations are not implemented yet; remove 'window' for a "
                       "cumulative aggregation");
}

/* Key columns and compute names become the columns of one table row. */
static int s_agg_columns(ed_conf_ctx_t *cx, const char *w, const ed_conf_aggregation_t *a,
                         const ed_node_t **colnodes, const ed_node_t **namenodes) {
    int ncol = a->nkey + a->ncompute, rc = 0;
    for (int i = 0; i < ncol; i++) {
        const char *c = i < a->nkey ? a->key[i].column : a->compute[i - a->nkey].name;
        const ed_node_t *n = i < a->nkey ? colnodes[i] : namenodes[i - a->nkey];
        const char *kind = i < a->nkey ? "key column" : "compute name";
        if (!ed_conf_valid_ident(c, strlen(c))) {
            rc = ed_conf_err(cx, n,
                             "%s '%s' in %s is not a valid SQL identifier; expected letters, "
                             "digits and '_', not starting with a digit, at most %d characters%s",
                             kind, c, w, ED_CONF_MAX_IDENT,
                             c[0] == '@' ? " (name it: key: [{name: \"@key\"}])" : "");
            continue;
        }
        for (int j = 0; j < i; j++) {
            const char *c2 = j < a->nkey ? a->key[j].column : a->compute[j - a->nkey].name;
            if (!strcasecmp(c, c2)) {
                rc = ed_conf_err(cx, n,
                                 "column '%s' is defined twice in %s (as key column or compute "
                                 "name); expected unique column names",
                                 c, w);
                break;
            }
        }
    }
    return rc;
}

/* The keys of a body: the map's, each checked once. */
static void s_keys_of(ed_conf_ctx_t *cx, const ed_node_t *body, const char *w,
                      const ed_conf_map_t *map) {
    ed_conf_map_keys_check(cx, body, w, map, ED_MAP_ALL, NULL);
}

int ed_conf_get_where(ed_conf_state_t *st, const ed_node_t *body, const char *w, int si,
                       struct ed_where **out) {
    ed_conf_ctx_t *cx = st->cx;
    const ed_node_t *v = ed_node_given(body, "where");
    *out = NULL;
    if (!v)
        return 0;
    char *text;
    int rc = ed_conf_scalar(cx, v, "where", w, "a filter expression, e.g. 'status == \"failed\"'",
                            0, &text);
    if (rc < 0)
        return rc;
    /* Token columns count from the first character of the text: one past
     * the opening quote of a quoted scalar. */
    char what[340], err[1024];
    snprintf(what, sizeof what, "'where' of %s", w);
    ed_where_origin_t o = {NULL, v->line, v->col + !v->plain, what};
    rc = ed_where_parse(text, &o, out, err, sizeof err);
    free(text);
    if (rc < 0) {
        /* err is "expression:LINE:COL: MESSAGE" (ed_where.h): record it at
         * that position like any other config error. */
        int line = v->line, col = v->col, off = 0;
        if (sscanf(err, "expression:%d:%d: %n", &line, &col, &off) < 2 || !off)
            off = 0;
        return ed_conf_err_at(cx, line, col, "%s", err + off);
    }
    for (int i = 0; i < ed_where_nfields(*out); i++)
        if (ed_conf_check_field(st, v, ed_where_field(*out, i), "'where'", w, si) < 0)
            rc = ED_EINVAL;
    return rc;
}

/* `late: SINK` sends the record as read, so its source must have one
 * record per input: json or lines (as per-record alerts). */
static void s_late_source(ed_conf_state_t *st, const char *w, const ed_conf_aggregation_t *a) {
    const ed_conf_source_t *src =
        a->from_idx >= 0 ? &ed_conf_ctx_conf(st->cx)->sources[a->from_idx] : NULL;
    if (a->window.late != ED_WLATE_SINK || !src || st->src_bad[a->from_idx] || !src->type)
        return;
    if (!(src->type->caps & ED_CAP_PAYLOAD) || src->format == ED_FMT_WORDS)
        ed_conf_err_pos(st->cx, &a->window.late_pos,
                        "'late: %s' in %s: routing too-late records to a sink is not "
                        "implemented for a %s source (it reads '%s'); it sends the records of "
                        "json, lines or avro sources, or use late: drop or update",
                        a->window.late_sink, w,
                        src->type->caps & ED_CAP_PAYLOAD ? "words" : src->type->name, src->name);
}

/* 1 if some entry of `alerts:` has `on: NAME` (read before the alerts
 * section is: an aggregation that only alerts watch needs no `to:`). */
static int s_watched(const ed_conf_state_t *st, const char *name) {
    const ed_node_t *alerts = st->root ? ed_node_get(st->root, "alerts") : NULL;
    if (!alerts || alerts->type != ED_NODE_MAP)
        return 0;
    for (int i = 0; i < alerts->npairs; i++) {
        const ed_node_t *body = alerts->pairs[i].value;
        const ed_node_t *on = body && body->type == ED_NODE_MAP ? ed_node_get(body, "on") : NULL;
        if (on && on->type == ED_NODE_SCALAR && !strcmp(on->text, name))
            return 1;
    }
    return 0;
}

int ed_conf_read_aggregation(ed_conf_state_t *st, int i, const ed_node_t *kn,
                             const ed_node_t *body) {
    ed_conf_ctx_t *cx = st->cx;
    ed_conf_aggregation_t *a = &ed_conf_ctx_conf(cx)->aggregations[i];
    int nerr = ed_conf_nerrors(cx);
    a->name = ed_strdup(kn->text);
    a->pos = ed_conf_pos(cx, kn);
    a->from_idx = -1;
    char w[300];
    snprintf(w, sizeof w, "aggregation '%s'", a->name);
    s_keys_of(cx, body, w, ed_conf_aggregation_map);
    ed_conf_map_read(cx, ed_conf_aggregation_map, body, NULL, a, w, ED_MAP_ALL, NULL);
    if (a->from)
        ed_conf_resolve(cx, ed_node_get(body, "from"), ED_REF_SOURCE, a->from, "from", w,
                        &a->from_idx);
    if (a->from_idx >= 0)
        ed_conf_get_where(st, body, w, a->from_idx, &a->where);
    const ed_node_t **colnodes = NULL, **namenodes = NULL;
    int krc = s_agg_keys(st, body, w, a, &colnodes);
    int crc = s_agg_compute(st, body, w, a, &namenodes);
    if (krc == 0 && crc == 0)
        s_agg_columns(cx, w, a, colnodes, namenodes);
    free(colnodes);
    free(namenodes);
    if (s_agg_window(cx, body, w, a) == 0)
        s_late_source(st, w, a);
    if (a->window.late_pos.line && a->window.late_idx < 0)
        st->refs_bad = 1; /* `late:` names no sink: say nothing of unused sinks */
    int to_flags = s_watched(st, a->name) ? 0 : ED_CR_REQ;
    if (ed_conf_get_sinks(cx, body, "to", w, to_flags, &a->to, &a->nto, &a->to_idx) < 0)
        st->refs_bad = 1;
    st->agg_bad[i] = ed_conf_nerrors(cx) > nerr;
    return st->agg_bad[i] ? ED_EINVAL : 0;
}

/* ------------------------------------------------------------------------ */
/* alerts                                                                   */

/* Parses "METRIC OP NUMBER". */
static int s_parse_when(const char *s, char **metric, ed_cmp_op_t *op, double *thr) {
    static const struct {
        const char *text;
        ed_cmp_op_t op;
    } ops[] = {
        {">=", ED_OP_GE}, {"<=", ED_OP_LE}, {"==", ED_OP_EQ}, {">", ED_OP_GT}, {"<", ED_OP_LT}};
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    const char *m = p;
    while (ed_conf_is_name_char((unsigned char)*p, p == m))
        p++;
    if (p == m)
        return ED_EINVAL;
    size_t mlen = (size_t)(p - m);
    while (isspace((unsigned char)*p))
        p++;
    size_t i = 0;
    for (; i < ED_ARRAY_SIZE(ops); i++)
        if (!strncmp(p, ops[i].text, strlen(ops[i].text)))
            break;
    if (i == ED_ARRAY_SIZE(ops))
        return ED_EINVAL;
    p += strlen(ops[i].text);
    while (isspace((unsigned char)*p))
        p++;
    if (!(isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.'))
        return ED_EINVAL;
    char *end;
    errno = 0;
    double x = strtod(p, &end);
    if (end == p || errno || !isfinite(x))
        return ED_EINVAL;
    while (isspace((unsigned char)*end))
        end++;
    if (*end)
        return ED_EINVAL;
    *metric = ed_strndup(m, mlen);
    *op = ops[i].op;
    *thr = x;
    return 0;
}

/* The compute of the alert's aggregation that `when` names. */
static void s_alert_metric(ed_conf_ctx_t *cx, const ed_node_t *wn, const char *w,
                           ed_conf_alert_t *al) {
    const ed_conf_aggregation_t *a = &ed_conf_ctx_conf(cx)->aggregations[al->on_idx];
    for (int i = 0; i < a->ncompute; i++)
        if (!strcmp(a->compute[i].name, al->metric))
            al->metric_idx = i;
    if (al->metric_idx >= 0)
        return;
    const char **names = ed_calloc((size_t)a->ncompute + 1, sizeof *names);
    for (int i = 0; i < a->ncompute; i++)
        names[i] = a->compute[i].name;
    ed_buf_t b = ED_BUF_INIT;
    ed_conf_join(&b, names, a->ncompute);
    ed_conf_suggest(&b, al->metric, names, a->ncompute);
    ed_conf_err(cx, wn,
                "'%s' in 'when' of %s is not computed by aggregation '%s'; expected one of its "
                "compute names: %s",
                al->metric, w, a->name, b.data);
    ed_buf_free(&b);
    free(names);
}

/* An alert `on:` source si: every record matching `where` goes to `to`. */
static void s_record_alert(ed_conf_state_t *st, const ed_node_t *body, const char *w, int si,
                           ed_conf_alert_t *al) {
    ed_conf_ctx_t *cx = st->cx;
    const ed_conf_source_t *src = &ed_conf_ctx_conf(cx)->sources[si];
    al->source_idx = si;
    if (ed_node_given(body, "when"))
        ed_conf_err(cx, ed_node_getk(body, "when"),
                    "'when' in %s needs an aggregation, but '%s' is a source; an alert on a "
                    "source sends every record matching 'where'",
                    w, al->on);
    if (!ed_node_given(body, "where"))
        ed_conf_err(cx, body,
                    "missing required key 'where' in %s; an alert on source '%s' sends the "
                    "records that match it, e.g. where: 'status == \"failed\"'",
                    w, al->on);
    else if (!st->src_bad[si] && src->type &&
             (!(src->type->caps & ED_CAP_PAYLOAD) || src->format == ED_FMT_WORDS ||
              src->format == ED_FMT_AVRO))
        ed_conf_err(cx, ed_node_get(body, "on"),
                    "per-record alerts on a %s source are not implemented yet (%s reads source "
                    "'%s'); they send records of json or lines sources",
                    !(src->type->caps & ED_CAP_PAYLOAD) ? src->type->name
                    : src->format == ED_FMT_WORDS       ? "words"
                                                        : "format: avro",
                    w, src->name);
    else
        ed_conf_get_where(st, body, w, si, &al->where);
}

int ed_conf_read_alert(ed_conf_state_t *st, int i, const ed_node_t *kn, const ed_node_t *body) {
    ed_conf_ctx_t *cx = st->cx;
    const ed_config_t *conf = ed_conf_ctx_conf(cx);
    ed_conf_alert_t *al = &ed_conf_ctx_conf(cx)->alerts[i];
    int nerr = ed_conf_nerrors(cx);
    al->name = ed_strdup(kn->text);
    al->pos = ed_conf_pos(cx, kn);
    al->on_idx = al->metric_idx = al->source_idx = -1;
    char w[300];
    snprintf(w, sizeof w, "alert '%s'", al->name);
    s_keys_of(cx, body, w, ed_conf_alert_map);
    ed_conf_map_read(cx, ed_conf_alert_map, body, NULL, al, w, ED_MAP_ALL, NULL);
    int si = al->on && ed_config_aggregation_idx(conf, al->on) < 0
                 ? ed_config_source_idx(conf, al->on)
                 : -1;
    if (si >= 0) {
        s_record_alert(st, body, w, si, al);
    } else {
        if (al->on)
            ed_conf_resolve(cx, ed_node_get(body, "on"), ED_REF_AGG, al->on, "on", w,
                            &al->on_idx);
        if (ed_node_given(body, "where"))
            ed_conf_err(cx, ed_node_getk(body, "where"),
                        "'where' in %s is not implemented for alerts on an aggregation; filter "
                        "the records with 'where' on aggregation '%s'",
                        w, al->on ? al->on : "");
        const ed_node_t *wn = ed_node_get(body, "when");
        const char *when_desc = ed_conf_map_find(ed_conf_alert_map, "when")->expect;
        ed_conf_get_str(cx, body, "when", w, when_desc, ED_CR_REQ, NULL, &al->when);
        if (al->when && s_parse_when(al->when, &al->metric, &al->op, &al->threshold) < 0)
            ed_conf_err(cx, wn, "cannot parse 'when: %s' in %s; expected %s", al->when, w,
                        when_desc);
        else if (al->when && al->on_idx >= 0 && !st->agg_bad[al->on_idx])
            s_alert_metric(cx, wn, w, al);
    }
    if (ed_conf_get_sinks(cx, body, "to", w, ED_CR_REQ, &al->to, &al->nto, &al->to_idx) < 0)
        st->refs_bad = 1;
    st->alert_bad[i] = ed_conf_nerrors(cx) > nerr;
    return st->alert_bad[i] ? ED_EINVAL : 0;
}
