/*
 * ed_conf_map.c — see ed_conf_map.h: reading, freeing and describing what a
 * config map declares, the registry lookups, and the check context of a
 * plugin's validate and link.
 */
#define _GNU_SOURCE
#include "config/ed_conf_map.h"

#include <assert.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ed_conf_read.h"
#include "runtime/ed_common.h"

#define S_FIELD(base, row, T) ((T *)(void *)((char *)(base) + (row)->offset))

static int s_selected(const ed_conf_map_t *row, unsigned select) {
    return (row->flags & ED_CONF_OUTER) ? (select & ED_MAP_OUTER) != 0
                                        : (select & ED_MAP_INNER) != 0;
}

const ed_conf_map_t *ed_conf_map_find(const ed_conf_map_t *map, const char *name) {
    for (; map && map->name; map++)
        if (!strcmp(map->name, name))
            return map;
    return NULL;
}

void ed_conf_map_keys(const ed_conf_map_t *map, unsigned select, const char **names, int *n,
                      int cap) {
    for (; map && map->name; map++) {
        if (!s_selected(map, select))
            continue;
        int dup = 0;
        for (int i = 0; i < *n; i++)
            dup |= !strcmp(names[i], map->name);
        if (!dup && *n < cap)
            names[(*n)++] = map->name;
    }
}

int ed_conf_map_keys_check(ed_conf_ctx_t *cx, const ed_node_t *m, const char *where,
                           const ed_conf_map_t *map, unsigned select, const char *const *extra) {
    const char *listed[128], *hidden[64];
    int nl = 0, nh = 0;
    for (int i = 0; extra && extra[i] && nl < 64; i++)
        listed[nl++] = extra[i];
    for (const ed_conf_map_t *r = map; r && r->name; r++) {
        if (!s_selected(r, select))
            continue;
        if (r->flags & ED_CONF_RESERVED) {
            if (nh < 63)
                hidden[nh++] = r->name;
        } else if (nl < 127) {
            listed[nl++] = r->name;
        }
    }
    listed[nl] = NULL;
    hidden[nh] = NULL;
    return ed_conf_keys_hidden(cx, m, where, listed, hidden);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */

/* What a string value must look like, for messages. */
static const char *s_expect(const ed_conf_map_t *row) {
    if (row->expect)
        return row->expect;
    switch (row->type) {
    case ED_CONF_STRLIST: return "a name or a list of names";
    case ED_CONF_KVMAP: return "a mapping of names to values";
    default: return "a single value";
    }
}

static int64_t s_max(const ed_conf_map_t *row, int64_t dflt) {
    return row->max ? row->max : dflt;
}

/* Reads value node v (not null) of `row` into base. */
static int s_read_value(ed_conf_ctx_t *cx, const ed_conf_map_t *row, const ed_node_t *v,
                        void *base, const char *where, ed_conf_check_t *ck) {
    int rc = 0;
    switch (row->type) {
    case ED_CONF_STR: {
        char *s = NULL;
        rc = ed_conf_scalar(cx, v, row->name, where, s_expect(row),
                            (row->flags & ED_CONF_EMPTY_OK) ? ED_CR_EMPTY_OK : 0, &s);
        if (rc == 0) {
            free(*S_FIELD(base, row, char *));
            *S_FIELD(base, row, char *) = s;
        }
        break;
    }
    case ED_CONF_INT: {
        int64_t x;
        rc = ed_conf_val_int(cx, v, row->name, where, row->min, s_max(row, INT_MAX), &x);
        if (rc == 0)
            *S_FIELD(base, row, int) = (int)x;
        break;
    }
    case ED_CONF_BOOL: rc = ed_conf_val_bool(cx, v, row->name, where, S_FIELD(base, row, int)); break;
    case ED_CONF_DURATION:
        rc = ed_conf_val_dur(cx, v, row->name, where, row->min, S_FIELD(base, row, int64_t));
        break;
    case ED_CONF_SIZE:
        rc = ed_conf_val_size(cx, v, row->name, where, (uint64_t)row->min,
                              S_FIELD(base, row, uint64_t));
        break;
    case ED_CONF_COUNT:
        rc = ed_conf_val_count(cx, v, row->name, where, (uint64_t)row->min,
                               S_FIELD(base, row, uint64_t));
        break;
    case ED_CONF_RATE: rc = ed_conf_val_rate(cx, v, row->name, where, S_FIELD(base, row, double)); break;
    case ED_CONF_ENUM:
        rc = ed_conf_val_enum(cx, v, row->name, where, row->choices, S_FIELD(base, row, int));
        break;
    case ED_CONF_STRLIST: {
        ed_conf_strlist_t *l = S_FIELD(base, row, ed_conf_strlist_t);
        /* A list read before (the default) is freed: the one-row map needs
         * a name, which ends a map when NULL. */
        ed_conf_map_t one = {.type = ED_CONF_STRLIST, .name = row->name, .offset = 0};
        ed_conf_map_free((ed_conf_map_t[]){one, {0}}, l);
        rc = ed_conf_val_strlist(cx, v, row->name, where, s_expect(row), l);
        break;
    }
    case ED_CONF_KVMAP: {
        ed_conf_kvmap_t *m = S_FIELD(base, row, ed_conf_kvmap_t);
        char example[160];
        snprintf(example, sizeof example, "%s: { name: value }", row->name);
        rc = ed_conf_val_kvmap(cx, v, row->name, where, row->expect ? row->expect : example, m);
        break;
    }
    case ED_CONF_SUBMAP: {
        char sw[400], ex[160];
        snprintf(sw, sizeof sw, "%s of %s", row->name, where);
        snprintf(ex, sizeof ex, "%s: { … }", row->name);
        if ((rc = ed_conf_want_map(cx, v, row->name, where, row->expect ? row->expect : ex)) < 0)
            break;
        int krc = ed_conf_map_keys_check(cx, v, sw, row->sub, ED_MAP_ALL, NULL);
        rc = ed_conf_map_read(cx, row->sub, v, NULL, S_FIELD(base, row, char), sw, ED_MAP_ALL,
                              ck);
        if (krc < 0)
            rc = krc;
        break;
    }
    case ED_CONF_CUSTOM: break;
    }
    if (rc < 0 && ck && ck->nfailed < (int)ED_ARRAY_SIZE(ck->failed))
        ck->failed[ck->nfailed++] = row->name;
    return rc;
}

void ed_conf_map_defaults(ed_conf_ctx_t *cx, const ed_conf_map_t *map, void *base,
                          unsigned select) {
    for (const ed_conf_map_t *row = map; row && row->name; row++) {
        if (!s_selected(row, select) || (row->flags & ED_CONF_RESERVED))
            continue;
        if (row->type == ED_CONF_SUBMAP) {
            ed_conf_map_defaults(cx, row->sub, S_FIELD(base, row, char), ED_MAP_ALL);
            continue;
        }
        if (!row->def || row->type == ED_CONF_CUSTOM)
            continue;
        ed_node_t fake = {.type = ED_NODE_SCALAR,
                          .line = 1,
                          .col = 1,
                          .text = row->def,
                          .len = strlen(row->def),
                          .plain = 1};
        int n = ed_conf_nerrors(cx);
        int rc = s_read_value(cx, row, &fake, base, "the defaults", NULL);
        /* A default that does not parse is a bug in the map, not in the config. */
        assert(rc == 0 && ed_conf_nerrors(cx) == n);
        (void)rc;
        (void)n;
    }
}

int ed_conf_map_read(ed_conf_ctx_t *cx, const ed_conf_map_t *map, const ed_node_t *m,
                     const ed_node_t *missing_at, void *base, const char *where, unsigned select,
                     ed_conf_check_t *ck) {
    int rc = 0;
    for (const ed_conf_map_t *row = map; row && row->name; row++) {
        if (!s_selected(row, select))
            continue;
        const ed_node_t *k = ed_node_getk(m, row->name);
        const ed_node_t *v = ed_node_get(m, row->name);
        if (row->flags & ED_CONF_RESERVED) {
            if (k)
                rc = ed_conf_err(cx, k, "'%s' in %s is not implemented yet (%s); %s", row->name,
                                 where, row->desc, row->expect ? row->expect : "remove it");
            continue;
        }
        if (row->type == ED_CONF_CUSTOM)
            continue;
        if (!v || ed_node_is_null(v)) {
            if (row->flags & ED_CONF_REQUIRED) {
                rc = ed_conf_err(cx, v ? v : missing_at ? missing_at : m,
                                 "missing required key '%s' in %s; expected %s: <%s>", row->name,
                                 where, row->name, s_expect(row));
                if (ck && ck->nfailed < (int)ED_ARRAY_SIZE(ck->failed))
                    ck->failed[ck->nfailed++] = row->name;
            }
            continue;
        }
        if (s_read_value(cx, row, v, base, where, ck) < 0)
            rc = ED_EINVAL;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Freeing and describing                                                   */

void ed_conf_map_free(const ed_conf_map_t *map, void *base) {
    if (!base)
        return;
    for (const ed_conf_map_t *row = map; row && row->name; row++) {
        /* A reserved row is never read and has no field of its own (its
         * offset is 0, another row's field): nothing to free. */
        if (row->flags & ED_CONF_RESERVED)
            continue;
        switch (row->type) {
        case ED_CONF_STR:
            free(*S_FIELD(base, row, char *));
            *S_FIELD(base, row, char *) = NULL;
            break;
        case ED_CONF_STRLIST: {
            ed_conf_strlist_t *l = S_FIELD(base, row, ed_conf_strlist_t);
            for (int i = 0; i < l->n; i++)
                free(l->v[i]);
            free(l->v);
            *l = (ed_conf_strlist_t){0};
            break;
        }
        case ED_CONF_KVMAP: {
            ed_conf_kvmap_t *m = S_FIELD(base, row, ed_conf_kvmap_t);
            for (int i = 0; i < m->n; i++) {
                free(m->v[i].key);
                free(m->v[i].value);
            }
            free(m->v);
            *m = (ed_conf_kvmap_t){0};
            break;
        }
        case ED_CONF_SUBMAP: ed_conf_map_free(row->sub, S_FIELD(base, row, char)); break;
        case ED_CONF_CUSTOM:
            if (row->free)
                row->free(S_FIELD(base, row, char));
            break;
        default: break;
        }
    }
}

/* Keys of librdkafka-style properties whose values must not be shown. */
static int s_credential(const char *key) {
    static const char *const words[] = {"password", "secret", "token", "jaas", "key.pem", NULL};
    for (int i = 0; words[i]; i++)
        if (strcasestr(key, words[i]))
            return 1;
    return 0;
}

static void s_describe(const ed_conf_map_t *map, const void *base, ed_buf_t *out, int secrets) {
    for (const ed_conf_map_t *row = map; row && row->name; row++) {
        if ((row->flags & ED_CONF_SECRET && !secrets) || row->flags & ED_CONF_RESERVED ||
            row->type == ED_CONF_CUSTOM)
            continue;
        const char *sep = out->len ? " " : "";
        char ms[32];
        switch (row->type) {
        case ED_CONF_STR: {
            const char *s = *S_FIELD(base, row, char *const);
            if (s)
                ed_buf_printf(out, "%s%s=%s", sep, row->name, s);
            break;
        }
        case ED_CONF_INT:
            ed_buf_printf(out, "%s%s=%d", sep, row->name, *S_FIELD(base, row, const int));
            break;
        case ED_CONF_BOOL:
            ed_buf_printf(out, "%s%s=%s", sep, row->name,
                          *S_FIELD(base, row, const int) ? "true" : "false");
            break;
        case ED_CONF_DURATION:
            ed_conf_fmt_ms(ms, sizeof ms, *S_FIELD(base, row, const int64_t));
            ed_buf_printf(out, "%s%s=%s", sep, row->name, ms);
            break;
        case ED_CONF_SIZE:
        case ED_CONF_COUNT:
            ed_buf_printf(out, "%s%s=%llu", sep, row->name,
                          (unsigned long long)*S_FIELD(base, row, const uint64_t));
            break;
        case ED_CONF_RATE:
            ed_buf_printf(out, "%s%s=%g", sep, row->name, *S_FIELD(base, row, const double));
            break;
        case ED_CONF_ENUM: {
            int v = *S_FIELD(base, row, const int);
            for (const ed_conf_choice_t *c = row->choices; c && c->name; c++)
                if (c->value == v) {
                    ed_buf_printf(out, "%s%s=%s", sep, row->name, c->name);
                    break;
                }
            break;
        }
        case ED_CONF_STRLIST: {
            const ed_conf_strlist_t *l = S_FIELD(base, row, const ed_conf_strlist_t);
            for (int i = 0; i < l->n; i++) {
                if (i)
                    ed_buf_printf(out, ",%s", l->v[i]);
                else
                    ed_buf_printf(out, "%s%s=%s", sep, row->name, l->v[i]);
            }
            break;
        }
        case ED_CONF_KVMAP: {
            const ed_conf_kvmap_t *m = S_FIELD(base, row, const ed_conf_kvmap_t);
            if (!m->n)
                break;
            ed_buf_printf(out, "%s%s={", sep, row->name);
            for (int i = 0; i < m->n; i++)
                ed_buf_printf(out, "%s%s=%s", i ? "," : "", m->v[i].key,
                              s_credential(m->v[i].key) ? "***" : m->v[i].value);
            ed_buf_puts(out, "}");
            break;
        }
        case ED_CONF_SUBMAP: s_describe(row->sub, S_FIELD(base, row, const char), out, secrets); break;
        default: break;
        }
    }
}

void ed_conf_map_describe(const ed_conf_map_t *map, const void *base, ed_buf_t *out) {
    s_describe(map, base, out, 0);
}

const char *ed_conf_map_get(const ed_conf_map_t *map, const void *base, const char *name,
                            char *buf, size_t size) {
    const ed_conf_map_t *row = ed_conf_map_find(map, name);
    if (!row || !base || !size)
        return NULL;
    ed_buf_t b = ED_BUF_INIT;
    s_describe((const ed_conf_map_t[]){*row, {0}}, base, &b, 1);
    const char *eq = b.data ? strchr(b.data, '=') : NULL;
    if (eq)
        snprintf(buf, size, "%s", eq + 1);
    ed_buf_free(&b);
    return eq ? buf : NULL;
}

void ed_conf_plugin_describe(const ed_conf_plugin_t *type, const void *opts, ed_buf_t *out) {
    if (!type || !opts)
        return;
    if (type->describe)
        type->describe(opts, out);
    else
        ed_conf_map_describe(type->map, opts, out);
}

/* ------------------------------------------------------------------------ */
/* The registry                                                             */

static const ed_conf_plugin_t *s_find(const ed_conf_plugin_t *const *types, int n,
                                      const char *name) {
    for (int i = 0; i < n; i++)
        if (!strcmp(types[i]->name, name))
            return types[i];
    return NULL;
}

const ed_conf_plugin_t *ed_conf_registry_source(const ed_conf_registry_t *reg, const char *name) {
    return s_find(reg->sources, reg->nsources, name);
}

const ed_conf_plugin_t *ed_conf_registry_sink(const ed_conf_registry_t *reg, const char *name) {
    return s_find(reg->sinks, reg->nsinks, name);
}

/* ------------------------------------------------------------------------ */
/* The check context                                                        */

const char *ed_conf_check_name(const ed_conf_check_t *ck) {
    return ck->name;
}

const ed_conf_source_t *ed_conf_check_source(const ed_conf_check_t *ck) {
    return ck->src;
}

const ed_conf_sink_t *ed_conf_check_sink(const ed_conf_check_t *ck) {
    return ck->sink;
}

int ed_conf_check_exactly_once(const ed_conf_check_t *ck) {
    return ed_conf_ctx_conf(ck->cx)->runtime.delivery == ED_DELIVERY_EXACTLY_ONCE;
}

/* The mapping that holds option `key`: the block for the type's own
 * (inner) keys, the body for everything else. */
static const ed_node_t *s_holder(const ed_conf_check_t *ck, const char *key) {
    const ed_conf_map_t *row = ed_conf_map_find(ck->type->map, key);
    return row && !(row->flags & ED_CONF_OUTER) ? ck->block : ck->body;
}

int ed_conf_check_given(const ed_conf_check_t *ck, const char *key) {
    return ed_node_given(s_holder(ck, key), key) != NULL;
}

int ed_conf_check_ok(const ed_conf_check_t *ck, const char *key) {
    for (int i = 0; i < ck->nfailed; i++)
        if (!strcmp(ck->failed[i], key))
            return 0;
    return 1;
}

const char *ed_conf_check_where(const ed_conf_check_t *ck, const char *key) {
    const ed_conf_map_t *row = ed_conf_map_find(ck->type->map, key);
    return row && !(row->flags & ED_CONF_OUTER) ? ck->where_inner : ck->where_outer;
}

static int s_check_verr(ed_conf_check_t *ck, const char *key, int at_key, const char *fmt,
                        va_list ap) {
    const ed_node_t *m = s_holder(ck, key);
    const ed_node_t *n = at_key ? ed_node_getk(m, key) : ed_node_get(m, key);
    if (!n)
        n = m == ck->body || !m || m->type != ED_NODE_MAP ? ck->kn : m;
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    ed_conf_err(ck->cx, n, "%s", msg ? msg : "invalid setting");
    free(msg);
    if (ck->nfailed < (int)ED_ARRAY_SIZE(ck->failed))
        ck->failed[ck->nfailed++] = key;
    return ED_EINVAL;
}

int ed_conf_check_err(ed_conf_check_t *ck, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = s_check_verr(ck, key, 0, fmt, ap);
    va_end(ap);
    return rc;
}

int ed_conf_check_errk(ed_conf_check_t *ck, const char *key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = s_check_verr(ck, key, 1, fmt, ap);
    va_end(ap);
    return rc;
}

void ed_conf_check_suggest(ed_buf_t *b, const char *word, const char *const *cands, int n) {
    ed_conf_suggest(b, word, cands, n);
}

int ed_conf_check_template(ed_conf_check_t *ck, const char *key, const char *t) {
    const char *where = ed_conf_check_where(ck, key);
    for (const char *p = t; *p; p++) {
        if (*p == '}')
            return ed_conf_check_err(
                ck, key, "'%s' in %s has a '}' without '{'; expected {COLUMN} placeholders", key,
                where);
        if (*p != '{')
            continue;
        const char *close = strchr(p, '}');
        if (!close || !ed_conf_valid_ident(p + 1, (size_t)(close - p - 1)))
            return ed_conf_check_err(ck, key,
                                     "'%s' in %s has a malformed placeholder; expected {COLUMN} "
                                     "with COLUMN a key column of the aggregation",
                                     key, where);
        p = close;
    }
    return 0;
}
