/*
 * ed_conf_refs.c — names and references between sections (see
 * ed_conf_read.h): valid names and SQL identifiers, resolving `from`, `on`,
 * `to` and `rejects` to the entries they name.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/ed_conf_read.h"
#include "runtime/ed_common.h"

/* ------------------------------------------------------------------------ */
/* Names and references                                                     */

int ed_conf_valid_name(const char *s) {
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return 0;
    return 1;
}

int ed_conf_valid_ident(const char *s, size_t n) {
    if (!n || n > ED_CONF_MAX_IDENT || !ed_conf_is_name_char((unsigned char)s[0], 1))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!ed_conf_is_name_char((unsigned char)s[i], 0))
            return 0;
    return 1;
}

int ed_conf_valid_table(const char *s) {
    const char *dot = strchr(s, '.');
    if (!dot)
        return ed_conf_valid_ident(s, strlen(s));
    return ed_conf_valid_ident(s, (size_t)(dot - s)) &&
           ed_conf_valid_ident(dot + 1, strlen(dot + 1));
}

static const char *s_ref_name(const ed_config_t *c, ed_conf_ref_t kind, int i) {
    switch (kind) {
    case ED_REF_SOURCE: return c->sources[i].name;
    case ED_REF_AGG: return c->aggregations[i].name;
    default: return c->sinks[i].name;
    }
}

static int s_ref_count(const ed_config_t *c, ed_conf_ref_t kind) {
    switch (kind) {
    case ED_REF_SOURCE: return c->nsources;
    case ED_REF_AGG: return c->naggregations;
    default: return c->nsinks;
    }
}

static const char *const s_ref_kind[] = {"source", "aggregation", "sink"};
static const char *const s_ref_section[] = {"sources", "aggregations", "sinks"};

int ed_conf_resolve(ed_conf_ctx_t *cx, const ed_node_t *n, ed_conf_ref_t kind, const char *name,
                    const char *key, const char *where, int *idx) {
    int count = s_ref_count(ed_conf_ctx_conf(cx), kind);
    for (int i = 0; i < count; i++) {
        if (!strcmp(s_ref_name(ed_conf_ctx_conf(cx), kind, i), name)) {
            *idx = i;
            return 0;
        }
    }
    if (!count)
        return ed_conf_err(
            cx, n, "unknown %s '%s' in '%s' of %s; no %s are defined, expected one under '%s:'",
            s_ref_kind[kind], name, key, where, s_ref_section[kind], s_ref_section[kind]);
    const char **names = ed_calloc((size_t)count, sizeof *names);
    for (int i = 0; i < count; i++)
        names[i] = s_ref_name(ed_conf_ctx_conf(cx), kind, i);
    ed_buf_t b = ED_BUF_INIT;
    ed_conf_join(&b, names, count);
    ed_conf_suggest(&b, name, names, count);
    int rc = ed_conf_err(cx, n, "unknown %s '%s' in '%s' of %s; expected one of the %s: %s",
                         s_ref_kind[kind], name, key, where, s_ref_section[kind], b.data);
    ed_buf_free(&b);
    free(names);
    return rc;
}

int ed_conf_get_sinks(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                      int flags, char ***names, int *n, int **idx) {
    const ed_node_t *v = ed_node_given(map, key);
    *names = NULL;
    *n = 0;
    if (idx)
        *idx = NULL;
    int count = 0;
    if (v && v->type == ED_NODE_SEQ)
        count = v->nitems;
    else if (v && v->type == ED_NODE_SCALAR)
        count = 1;
    else if (v)
        return ed_conf_err(cx, v, "'%s' in %s is %s; expected a sink name or a list of sink names",
                           key, where, ed_node_what(v));
    if (!count) {
        if (flags & ED_CR_REQ)
            return ed_conf_err(cx, v ? v : map,
                               "%s sends its results nowhere; expected %s: [SINK, …] with at "
                               "least one sink",
                               where, key);
        return 0;
    }
    *names = ed_calloc((size_t)count, sizeof **names);
    *n = count;
    if (idx)
        *idx = ed_calloc((size_t)count, sizeof **idx);
    for (int i = 0; i < count; i++) {
        const ed_node_t *item = v->type == ED_NODE_SCALAR ? v : v->items[i];
        int rc = ed_conf_scalar(cx, item, key, where, "a sink name", 0, &(*names)[i]);
        if (rc < 0)
            return rc;
        int k;
        if ((rc = ed_conf_resolve(cx, item, ED_REF_SINK, (*names)[i], key, where, &k)) < 0)
            return rc;
        for (int j = 0; j < i; j++)
            if (!strcmp((*names)[j], (*names)[i]))
                return ed_conf_err(
                    cx, item, "sink '%s' is listed twice in '%s' of %s; expected each sink once",
                    (*names)[i], key, where);
        if (idx)
            (*idx)[i] = k;
    }
    return 0;
}
