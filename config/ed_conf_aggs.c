/*
 * ed_conf_aggs.c — the `aggregations:` and `alerts:` sections: keys,
 * computes, windows (parsed, refused until implemented), and alert
 * conditions.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/ed_conf_sections.h"
#include "runtime/ed_common.h"

/* Parses "count", "count()", "sum(f)", "min(f)", "max(f)", "avg(f)". */
static int s_parse_compute(const char *expr, ed_aggfn_t *fn, char **field) {
    static const ed_conf_enum_t fns[] = {{"count", ED_AGG_COUNT}, {"sum", ED_AGG_SUM},
                                   {"min", ED_AGG_MIN},     {"max", ED_AGG_MAX},
                                   {"avg", ED_AGG_AVG},     {NULL, 0}};
    const char *p = expr;
    while (isspace((unsigned char)*p))
        p++;
    const char *name = p;
    while (isalpha((unsigned char)*p))
        p++;
    size_t nlen = (size_t)(p - name);
    *fn = 0;
    for (int i = 0; fns[i].name; i++)
        if (strlen(fns[i].name) == nlen && !strncasecmp(name, fns[i].name, nlen))
            *fn = (ed_aggfn_t)fns[i].value;
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
    if (*fn == ED_AGG_COUNT) {
        if (f && fend > f)
            return ED_EINVAL;
        *field = NULL;
        return 0;
    }
    if (!f || fend == f)
        return ED_EINVAL;
    *field = ed_strndup(f, (size_t)(fend - f));
    return 0;
}

static int s_agg_keys(ed_conf_ctx_t *cx, const ed_node_t *body, const char *w, ed_conf_aggregation_t *a,
                      const ed_conf_source_t *src, const ed_node_t ***colnodes) {
    const ed_node_t *v = ed_node_given(body, "key");
    static const char desc[] =
        "key: [FIELD, …] with FIELD a name, a dotted path or {column: field}";
    if (!v)
        return ed_conf_err(cx, ed_node_getk(body, "key") ? ed_node_get(body, "key") : body,
                     "missing required key 'key' in %s; expected %s", w, desc);
    int n;
    if (v->type == ED_NODE_SCALAR)
        n = 1;
    else if (v->type == ED_NODE_SEQ)
        n = v->nitems;
    else
        return ed_conf_err(cx, v, "'key' in %s is %s; expected %s", w, ed_node_what(v), desc);
    if (!n)
        return ed_conf_err(cx, v, "'key' in %s is an empty list; expected %s", w, desc);
    a->key = ed_calloc((size_t)n, sizeof *a->key);
    a->nkey = n;
    *colnodes = ed_calloc((size_t)n, sizeof **colnodes);
    for (int i = 0; i < n; i++) {
        const ed_node_t *item =
            v->type == ED_NODE_SCALAR ? v : v->items[i];
        const ed_node_t *fnode = item;
        int rc;
        if (item->type == ED_NODE_MAP) {
            if (item->npairs != 1)
                return ed_conf_err(cx, item,
                             "a key entry in %s has %d pairs; expected a single {column: field}", w,
                             item->npairs);
            const ed_node_t *k = item->pairs[0].key;
            fnode = item->pairs[0].value;
            if (k->type != ED_NODE_SCALAR)
                return ed_conf_err(cx, k, "a key column in %s is %s; expected a column name", w,
                             ed_node_what(k));
            a->key[i].column = ed_strdup(k->text);
            if ((rc = ed_conf_scalar(cx, fnode, a->key[i].column, w, "a field name", 0,
                               &a->key[i].field)) < 0)
                return rc;
            (*colnodes)[i] = k;
        } else {
            if ((rc = ed_conf_scalar(cx, item, "key", w, "a field name or {column: field}", 0,
                               &a->key[i].field)) < 0)
                return rc;
            a->key[i].column = ed_strdup(a->key[i].field);
            if (a->key[i].field[0] != '@')
                for (char *c = a->key[i].column; *c; c++)
                    if (*c == '.')
                        *c = '_';
            (*colnodes)[i] = item;
        }
        char what[400];
        snprintf(what, sizeof what, "key column '%s'", a->key[i].column);
        if ((rc = ed_conf_check_field(cx, fnode, a->key[i].field, what, w, src)) < 0)
            return rc;
    }
    return 0;
}

static int s_agg_compute(ed_conf_ctx_t *cx, const ed_node_t *body, const char *w, ed_conf_aggregation_t *a,
                         const ed_conf_source_t *src, const ed_node_t ***namenodes) {
    const ed_node_t *v = ed_node_given(body, "compute");
    static const char desc[] =
        "compute: {NAME: count | sum(FIELD) | min(FIELD) | max(FIELD) | avg(FIELD), …}";
    if (!v) {
        a->compute = ed_calloc(1, sizeof *a->compute);
        a->ncompute = 1;
        a->compute[0].name = ed_strdup("count");
        a->compute[0].fn = ED_AGG_COUNT;
        *namenodes = ed_calloc(1, sizeof **namenodes);
        (*namenodes)[0] = body;
        return 0;
    }
    if (v->type != ED_NODE_MAP)
        return ed_conf_err(cx, v, "'compute' in %s is %s; expected %s", w, ed_node_what(v), desc);
    int n = v->npairs;
    if (!n)
        return ed_conf_err(cx, v, "'compute' in %s is an empty mapping; expected %s", w, desc);
    char cw[340];
    snprintf(cw, sizeof cw, "compute of %s", w);
    int rc = ed_conf_keys(cx, v, cw, NULL);
    if (rc < 0)
        return rc;
    a->compute = ed_calloc((size_t)n, sizeof *a->compute);
    a->ncompute = n;
    *namenodes = ed_calloc((size_t)n, sizeof **namenodes);
    int i = 0;
    for (int j = 0; j < n; j++) {
        const ed_node_t *k = v->pairs[j].key, *e = v->pairs[j].value;
        ed_conf_compute_t *c = &a->compute[i];
        c->name = ed_strdup(k->text);
        (*namenodes)[i++] = k;
        char *expr;
        if ((rc = ed_conf_scalar(cx, e, c->name, cw,
                           "count, sum(FIELD), min(FIELD), max(FIELD) or avg(FIELD)", 0, &expr)) <
            0)
            return rc;
        rc = s_parse_compute(expr, &c->fn, &c->field);
        if (rc < 0)
            rc = ed_conf_err(cx, e,
                       "invalid aggregate '%s' for '%s' in %s; expected count, sum(FIELD), "
                       "min(FIELD), max(FIELD) or avg(FIELD)",
                       expr, c->name, cw);
        free(expr);
        if (rc < 0)
            return rc;
        char what[400];
        snprintf(what, sizeof what, "compute '%s'", c->name);
        if (c->field && (rc = ed_conf_check_field(cx, e, c->field, what, w, src)) < 0)
            return rc;
    }
    return 0;
}

static int s_agg_window(ed_conf_ctx_t *cx, const ed_node_t *body, const char *w, ed_conf_aggregation_t *a) {
    const ed_node_t *v = ed_node_given(body, "window");
    a->window.kind = ED_WIN_NONE;
    if (!v)
        return 0;
    static const char desc[] =
        "window: none, {tumbling: 1m} or {hopping: 1m, slide: 10s}, with optional "
        "allowed_lateness";
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
    static const char *const keys[] = {"tumbling", "hopping", "slide", "allowed_lateness", NULL};
    static const char *const kinds[] = {"tumbling", "hopping", NULL};
    char ww[340];
    snprintf(ww, sizeof ww, "window of %s", w);
    int rc, which;
    if ((rc = ed_conf_keys(cx, v, ww, keys)) < 0)
        return rc;
    const ed_node_t *wk = ed_node_getk(body, "window");
    const ed_node_t *tk = ed_node_getk(v, "tumbling"), *hk = ed_node_getk(v, "hopping");
    if (tk && hk)
        return ed_conf_err(cx, hk, "%s has both 'tumbling' and 'hopping'; expected one of them", ww);
    if (!tk && !hk)
        return ed_conf_err(cx, v, "%s has no size; expected %s", ww, desc);
    which = tk ? 0 : 1;
    a->window.kind = which ? ED_WIN_HOPPING : ED_WIN_TUMBLING;
    if ((rc = ed_conf_get_dur(cx, v, kinds[which], ww, 0, 1, &a->window.size_ms)) < 0)
        return rc;
    if (!ed_node_given(v, kinds[which]))
        return ed_conf_err(cx, v, "'%s' in %s has no value; expected a duration such as 1m", kinds[which],
                     ww);
    const ed_node_t *sk = ed_node_getk(v, "slide");
    if (!which && sk)
        return ed_conf_err(cx, sk,
                     "'slide' in %s applies to hopping windows only; expected it with 'hopping'",
                     ww);
    if (which) {
        if (!ed_node_given(v, "slide"))
            return ed_conf_err(cx, v,
                         "missing required key 'slide' in %s; expected slide: <duration, at most "
                         "the window size>",
                         ww);
        if ((rc = ed_conf_get_dur(cx, v, "slide", ww, 0, 1, &a->window.slide_ms)) < 0)
            return rc;
        if (a->window.slide_ms > a->window.size_ms)
            return ed_conf_err(
                cx, ed_node_get(v, "slide"),
                "'slide' in %s is longer than the window; expected at most the hopping size", ww);
    } else {
        a->window.slide_ms = a->window.size_ms;
    }
    if ((rc = ed_conf_get_dur(cx, v, "allowed_lateness", ww, 0, 0, &a->window.allowed_lateness_ms)) < 0)
        return rc;
    /* Parsed in full so the shape is settled, but refused: the aggregator
     * does not implement windows yet, and silently running a cumulative
     * aggregation instead would mislead. */
    return ed_conf_err(cx, wk,
                 "windowed aggregations are not implemented yet; remove 'window' for a cumulative "
                 "aggregation");
}

int ed_conf_read_aggregation(ed_conf_ctx_t *cx, const ed_node_t *kn, const ed_node_t *body,
                             ed_conf_aggregation_t *a) {
    static const char *const keys[] = {"from", "key", "compute", "window", "to", NULL};
    a->name = ed_strdup(kn->text);
    a->pos = ed_conf_pos(cx, kn);
    a->from_idx = -1;
    char w[300];
    snprintf(w, sizeof w, "aggregation '%s'", a->name);
    int rc;
    const ed_node_t **colnodes = NULL, **namenodes = NULL;
    if ((rc = ed_conf_keys(cx, body, w, keys)) < 0 ||
        (rc = ed_conf_get_str(cx, body, "from", w, "a source name", ED_CR_REQ, NULL, &a->from)) < 0 ||
        (rc = ed_conf_resolve(cx, ed_node_get(body, "from"), ED_REF_SOURCE, a->from, "from", w, &a->from_idx)) <
            0)
        return rc;
    const ed_conf_source_t *src = &ed_conf_ctx_conf(cx)->sources[a->from_idx];
    if ((rc = s_agg_keys(cx, body, w, a, src, &colnodes)) < 0 ||
        (rc = s_agg_compute(cx, body, w, a, src, &namenodes)) < 0)
        goto out;
    /* Key columns and compute names become columns of one table row. */
    int ncol = a->nkey + a->ncompute;
    for (int i = 0; i < ncol; i++) {
        const char *c = i < a->nkey ? a->key[i].column : a->compute[i - a->nkey].name;
        const ed_node_t *n = i < a->nkey ? colnodes[i] : namenodes[i - a->nkey];
        const char *kind = i < a->nkey ? "key column" : "compute name";
        if (!ed_conf_valid_ident(c, strlen(c))) {
            rc = ed_conf_err(cx, n,
                       "%s '%s' in %s is not a valid SQL identifier; expected letters, digits "
                       "and '_', not starting with a digit, at most %d characters%s",
                       kind, c, w, ED_CONF_MAX_IDENT,
                       c[0] == '@' ? " (name it: key: [{name: \"@key\"}])" : "");
            goto out;
        }
        for (int j = 0; j < i; j++) {
            const char *c2 = j < a->nkey ? a->key[j].column : a->compute[j - a->nkey].name;
            if (!strcasecmp(c, c2)) {
                rc = ed_conf_err(cx, n,
                           "column '%s' is defined twice in %s (as key column or compute name); "
                           "expected unique column names",
                           c, w);
                goto out;
            }
        }
    }
    if ((rc = s_agg_window(cx, body, w, a)) < 0 ||
        (rc = ed_conf_get_sinks(cx, body, "to", w, ED_CR_REQ, &a->to, &a->nto, &a->to_idx)) < 0)
        goto out;
out:
    free(colnodes);
    free(namenodes);
    return rc;
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

int ed_conf_read_alert(ed_conf_ctx_t *cx, const ed_node_t *kn, const ed_node_t *body,
                       ed_conf_alert_t *al) {
    static const char *const keys[] = {"on", "when", "to", NULL};
    al->name = ed_strdup(kn->text);
    al->pos = ed_conf_pos(cx, kn);
    al->on_idx = al->metric_idx = -1;
    char w[300];
    snprintf(w, sizeof w, "alert '%s'", al->name);
    int rc;
    static const char when_desc[] =
        "METRIC OP NUMBER, e.g. count >= 1000, with OP one of >=, >, <=, <, ==";
    if ((rc = ed_conf_keys(cx, body, w, keys)) < 0 ||
        (rc = ed_conf_get_str(cx, body, "on", w, "an aggregation name", ED_CR_REQ, NULL, &al->on)) < 0 ||
        (rc = ed_conf_resolve(cx, ed_node_get(body, "on"), ED_REF_AGG, al->on, "on", w, &al->on_idx)) < 0 ||
        (rc = ed_conf_get_str(cx, body, "when", w, when_desc, ED_CR_REQ, NULL, &al->when)) < 0)
        return rc;
    const ed_node_t *wn = ed_node_get(body, "when");
    if (s_parse_when(al->when, &al->metric, &al->op, &al->threshold) < 0)
        return ed_conf_err(cx, wn, "cannot parse 'when: %s' in %s; expected %s", al->when, w, when_desc);
    const ed_conf_aggregation_t *a = &ed_conf_ctx_conf(cx)->aggregations[al->on_idx];
    for (int i = 0; i < a->ncompute; i++)
        if (!strcmp(a->compute[i].name, al->metric))
            al->metric_idx = i;
    if (al->metric_idx < 0) {
        const char **names = ed_calloc((size_t)a->ncompute, sizeof *names);
        for (int i = 0; i < a->ncompute; i++)
            names[i] = a->compute[i].name;
        ed_buf_t b = ED_BUF_INIT;
        ed_conf_join(&b, names, a->ncompute);
        ed_conf_suggest(&b, al->metric, names, a->ncompute);
        rc = ed_conf_err(cx, wn,
                   "'%s' in 'when' of %s is not computed by aggregation '%s'; expected one of its "
                   "compute names: %s",
                   al->metric, w, a->name, b.data);
        ed_buf_free(&b);
        free(names);
        return rc;
    }
    return ed_conf_get_sinks(cx, body, "to", w, ED_CR_REQ, &al->to, &al->nto, &al->to_idx);
}
