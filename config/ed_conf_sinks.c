/*
 * ed_conf_sinks.c — the `sinks:` section: which type a sink is, its type
 * block and the type's keys written beside it (both read with the type's
 * config map), and the common sink keys. What feeds a sink is checked later,
 * in ed_conf_graph.c.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ed_conf_sections.h"
#include "runtime/ed_common.h"

const ed_conf_map_t ed_conf_sink_map[] = {
    {ED_CONF_INT, "batch_rows", "1000", offsetof(ed_conf_sink_t, batch_rows), 0,
     "rows per statement / pipeline chunk", .min = 1, .max = 1000000},
    {ED_CONF_DURATION, "retry_max", "1s", offsetof(ed_conf_sink_t, retry_max_ms), 0,
     "longest backoff between retries while the server is failing (1 s so that a sink catches "
     "up within seconds of its server's return; raise it to knock less often on a server that "
     "stays down)",
     .min = 10},
    {0}};

/* "postgres and mariadb sinks": the types whose OUTER keys include key. */
static void s_types_with(ed_buf_t *b, const ed_conf_registry_t *reg, const char *key) {
    const char *names[64];
    int n = 0;
    for (int i = 0; i < reg->nsinks && n < 64; i++) {
        const ed_conf_map_t *row = ed_conf_map_find(reg->sinks[i]->map, key);
        if (row && (row->flags & ED_CONF_OUTER) && !(reg->sinks[i]->caps & ED_CAP_PLANNED))
            names[n++] = reg->sinks[i]->name;
    }
    for (int i = 0; i < n; i++)
        ed_buf_printf(b, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ", names[i]);
    ed_buf_puts(b, n == 1 ? " sinks" : " sinks");
}

/* Checks the keys of a sink body: type names, the common keys, the OUTER
 * keys of its type; a key of another type is named as such. */
static void s_sink_keys(ed_conf_ctx_t *cx, const ed_node_t *body, const char *w,
                        const ed_conf_plugin_t *type) {
    const ed_conf_registry_t *reg = ed_conf_ctx_registry(cx);
    const char *listed[128]; /* what the message offers: no planned types or keys */
    int nl = 0;
    for (int i = 0; i < reg->nsinks && nl < 64; i++)
        if (!(reg->sinks[i]->caps & ED_CAP_PLANNED))
            listed[nl++] = reg->sinks[i]->name;
    for (int i = 0; i < reg->nsinks; i++) {
        if (reg->sinks[i]->caps & ED_CAP_PLANNED)
            continue;
        for (const ed_conf_map_t *row = reg->sinks[i]->map; row && row->name; row++) {
            int dup = 0;
            for (int j = 0; j < nl; j++)
                dup |= !strcmp(listed[j], row->name);
            if ((row->flags & ED_CONF_OUTER) && !(row->flags & ED_CONF_RESERVED) && !dup &&
                nl < 120)
                listed[nl++] = row->name;
        }
    }
    ed_conf_map_keys(ed_conf_sink_map, ED_MAP_ALL, listed, &nl, 127);
    for (int p = 0; body && p < body->npairs; p++) {
        const ed_node_t *k = body->pairs[p].key;
        if (k->type != ED_NODE_SCALAR) {
            ed_conf_err(cx, k, "a key in %s is %s; expected a plain name", w, ed_node_what(k));
            continue;
        }
        int dup = 0;
        for (int q = 0; q < p && !dup; q++)
            if (body->pairs[q].key->type == ED_NODE_SCALAR &&
                !strcmp(body->pairs[q].key->text, k->text)) {
                ed_conf_err(cx, k,
                            "duplicate key '%s' in %s (first at line %d); expected each key once",
                            k->text, w, body->pairs[q].key->line);
                dup = 1;
            }
        if (dup || ed_conf_registry_sink(reg, k->text) || ed_conf_map_find(ed_conf_sink_map, k->text))
            continue;
        const ed_conf_map_t *own = type ? ed_conf_map_find(type->map, k->text) : NULL;
        if (own && (own->flags & ED_CONF_OUTER))
            continue;
        int other = 0;
        for (int i = 0; i < reg->nsinks && !other; i++) {
            const ed_conf_map_t *row = ed_conf_map_find(reg->sinks[i]->map, k->text);
            other = row && (row->flags & ED_CONF_OUTER) && !(reg->sinks[i]->caps & ED_CAP_PLANNED);
        }
        if (other && type) {
            ed_buf_t b = ED_BUF_INIT;
            s_types_with(&b, reg, k->text);
            ed_conf_err(cx, k, "key '%s' in %s does not apply to a %s sink; expected it in %s only",
                        k->text, w, type->name, b.data);
            ed_buf_free(&b);
            continue;
        }
        if (other)
            continue; /* no type: that error is reported already */
        ed_buf_t b = ED_BUF_INIT;
        ed_conf_join(&b, listed, nl);
        ed_conf_suggest(&b, k->text, listed, nl);
        ed_conf_err(cx, k, "unknown key '%s' in %s; expected one of: %s", k->text, w, b.data);
        ed_buf_free(&b);
    }
}

int ed_conf_read_sink(ed_conf_state_t *st, int i, const ed_node_t *kn, const ed_node_t *body) {
    ed_conf_ctx_t *cx = st->cx;
    ed_conf_sink_t *s = &ed_conf_ctx_conf(cx)->sinks[i];
    const ed_conf_registry_t *reg = ed_conf_ctx_registry(cx);
    int nerr = ed_conf_nerrors(cx);
    s->name = ed_strdup(kn->text);
    s->pos = ed_conf_pos(cx, kn);
    s->from_agg = -1;
    char w[300];
    snprintf(w, sizeof w, "sink '%s'", s->name);
    ed_conf_find_type(cx, kn, body, "sink", reg->sinks, reg->nsinks, &s->type);
    s_sink_keys(cx, body, w, s->type);
    ed_conf_map_defaults(cx, ed_conf_sink_map, s, ED_MAP_ALL);
    ed_conf_map_read(cx, ed_conf_sink_map, body, kn, s, w, ED_MAP_ALL, NULL);
    st->sinkn[i] = (ed_conf_nodes_t){kn, body, NULL};
    if (s->type) {
        ed_conf_check_t ck;
        ed_conf_check_setup(&ck, cx, NULL, s, kn, body, NULL);
        ed_conf_read_plugin(&ck, &s->opts);
        st->sinkn[i].block = ck.block;
    }
    st->sink_bad[i] = ed_conf_nerrors(cx) > nerr;
    return st->sink_bad[i] ? ED_EINVAL : 0;
}
