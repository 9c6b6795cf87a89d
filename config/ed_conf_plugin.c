/*
 * ed_conf_plugin.c — reading a source or sink type's settings with its
 * config map: which type a body names, the type block, the keys written
 * beside it, the type's validate (see ed_conf_map.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/ed_conf_sections.h"
#include "runtime/ed_common.h"

/* "a, b, c" of the types that are not planned. */
static void s_type_list(ed_buf_t *b, const ed_conf_plugin_t *const *types, int n) {
    const char *names[64];
    int k = 0;
    for (int i = 0; i < n && k < 64; i++)
        if (!(types[i]->caps & ED_CAP_PLANNED))
            names[k++] = types[i]->name;
    ed_conf_join(b, names, k);
}

int ed_conf_find_type(ed_conf_ctx_t *cx, const ed_node_t *kn, const ed_node_t *body,
                      const char *what, const ed_conf_plugin_t *const *types, int n,
                      const ed_conf_plugin_t **type) {
    const ed_node_t *first = NULL;
    *type = NULL;
    for (int i = 0; i < n; i++) {
        const ed_node_t *k = ed_node_getk(body, types[i]->name);
        if (!k)
            continue;
        if (first) {
            ed_buf_t b = ED_BUF_INIT;
            s_type_list(&b, types, n);
            int rc =
                ed_conf_err(cx, k, "%s '%s' has both '%s' and '%s'; expected exactly one of: %s",
                            what, kn->text, first->text, types[i]->name, b.data);
            ed_buf_free(&b);
            *type = NULL;
            return rc;
        }
        first = k;
        *type = types[i];
    }
    if (!*type) {
        ed_buf_t b = ED_BUF_INIT;
        s_type_list(&b, types, n);
        int rc = ed_conf_err(cx, kn, "%s '%s' has no type; expected exactly one of: %s", what,
                             kn->text, b.data);
        ed_buf_free(&b);
        return rc;
    }
    if ((*type)->caps & ED_CAP_PLANNED) {
        ed_buf_t b = ED_BUF_INIT;
        s_type_list(&b, types, n);
        int rc = ed_conf_err(cx, first,
                             "%s type '%s' is not implemented yet (%s); expected one of: %s", what,
                             (*type)->name, (*type)->desc, b.data);
        ed_buf_free(&b);
        *type = NULL;
        return rc;
    }
    return 0;
}

void ed_conf_check_setup(ed_conf_check_t *ck, ed_conf_ctx_t *cx, const ed_conf_source_t *src,
                         const ed_conf_sink_t *sink, const ed_node_t *kn, const ed_node_t *body,
                         const ed_node_t *block) {
    const char *what = src ? "source" : "sink";
    const char *name = src ? src->name : sink->name;
    const ed_conf_plugin_t *type = src ? src->type : sink->type;
    *ck = (ed_conf_check_t){.cx = cx,
                            .name = name,
                            .src = src,
                            .sink = sink,
                            .type = type,
                            .kn = kn,
                            .body = body,
                            .block = block ? block : ed_node_get(body, type->name)};
    snprintf(ck->where_inner, sizeof ck->where_inner, "%s of %s '%s'", type->name, what, name);
    snprintf(ck->where_outer, sizeof ck->where_outer, "%s '%s'", what, name);
}

/* Whether the type block is "empty": `x:`, `x: ~`, `x: {}`, `x: true`. */
static int s_empty_block(const ed_node_t *b) {
    return !b || ed_node_is_null(b) || (b->type == ED_NODE_MAP && b->npairs == 0) ||
           (b->type == ED_NODE_SCALAR && b->plain && !strcmp(b->text, "true"));
}

int ed_conf_read_plugin(ed_conf_check_t *ck, void **opts_p) {
    ed_conf_ctx_t *cx = ck->cx;
    const ed_conf_plugin_t *t = ck->type;
    int nerr = ed_conf_nerrors(cx);
    void *opts = t->opts_size ? ed_calloc(1, t->opts_size) : NULL;
    *opts_p = opts;
    const ed_node_t *block = ck->block;
    const char *inner[64];
    int ninner = 0;
    ed_conf_map_keys(t->map, ED_MAP_INNER, inner, &ninner, 63);
    inner[ninner] = NULL;
    if (!s_empty_block(block) && block->type != ED_NODE_MAP) {
        ed_conf_err(cx, block, "'%s' in %s is %s; expected a mapping, e.g. %s", t->name,
                    ck->where_outer, ed_node_what(block), t->example ? t->example : "{}");
        block = NULL;
    } else if (!ninner && !s_empty_block(block)) {
        ed_conf_err(cx, block, "'%s' in %s takes no settings; expected %s: {} (or %s: ~)", t->name,
                    ck->where_outer, t->name, t->name);
        block = NULL;
    } else if (block && block->type == ED_NODE_MAP) {
        ed_conf_map_keys_check(cx, block, ck->where_inner, t->map, ED_MAP_INNER, NULL);
    }
    ck->block = block && block->type == ED_NODE_MAP ? block : NULL;
    if (opts) {
        ed_conf_map_defaults(cx, t->map, opts, ED_MAP_ALL);
        /* A required key missing from `x: {}` is reported at the block, one
         * missing from an absent block (`x:`) at the type key. */
        const ed_node_t *at = ck->block ? ck->block : ed_node_getk(ck->body, t->name);
        ed_conf_map_read(cx, t->map, ck->block, at, opts, ck->where_inner, ED_MAP_INNER, ck);
        ed_conf_map_read(cx, t->map, ck->body, ck->kn, opts, ck->where_outer, ED_MAP_OUTER, ck);
    }
    if (t->validate)
        t->validate(ck, opts);
    return ed_conf_nerrors(cx) > nerr ? ED_EINVAL : 0;
}
