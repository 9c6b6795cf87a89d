/*
 * ed_conf_transforms.c — `transforms:` of a source: a list of steps, each a
 * mapping with one key (where, set, drop, lua), compiled here into an
 * ed_transforms_t (actors/decode/ed_transform.h) so that every error in an
 * expression or a Lua script is a config error with its position.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_transform.h"
#include "actors/decode/ed_transform_lua.h"
#include "config/ed_conf_sections.h"
#include "runtime/ed_common.h"

const ed_conf_map_t ed_conf_xf_lua_map[] = {
    {ED_CONF_STR, "file", NULL, offsetof(ed_xf_lua_t, file), ED_CONF_REQUIRED,
     "the Lua 5.4 script, relative to the config file's directory; read and checked when the "
     "config loads (a syntax error is a config error naming the script's line)",
     .expect = "a file name, e.g. score.lua"},
    {ED_CONF_STR, "function", NULL, offsetof(ed_xf_lua_t, function), ED_CONF_REQUIRED,
     "the global function called with each record as a table; it returns the new record (a "
     "table) or nil to drop the record (counted as filtered)",
     .expect = "a function name, e.g. score"},
    {ED_CONF_COUNT, "max_instructions", "1M", offsetof(ed_xf_lua_t, max_instructions), 0,
     "Lua VM instructions one call may run; a record that needs more is rejected",
     .min = 1000, .max = 1000000000},
    {ED_CONF_SIZE, "max_memory", "64MiB", offsetof(ed_xf_lua_t, max_memory), 0,
     "bytes one Lua state may hold (one state per decoder); a call that needs more is "
     "rejected",
     .min = 1 << 20},
    {0}};

static const char *const s_kinds[] = {"where", "set", "drop", "lua", NULL};

/* Records an error of an expression parser ("expression:LINE:COL: MSG")
 * at its position. */
static int s_expr_err(ed_conf_ctx_t *cx, const ed_node_t *v, const char *err) {
    int line = v->line, col = v->col, off = 0;
    if (sscanf(err, "expression:%d:%d: %n", &line, &col, &off) < 2 || !off)
        off = 0;
    return ed_conf_err_at(cx, line, col, "%s", err + off);
}

/* A field path written by a step: a dotted path, not a meta field. */
static int s_target(ed_conf_ctx_t *cx, const ed_node_t *n, const char *path, const char *what) {
    size_t len = strlen(path);
    if (len && path[0] == '@')
        return ed_conf_err(cx, n,
                           "%s: meta field '%s' cannot be written by a transform; transforms "
                           "change the fields of the record",
                           what, path);
    if (!len || path[0] == '.' || path[len - 1] == '.' || strstr(path, ".."))
        return ed_conf_err(cx, n, "%s: invalid field '%s'; expected a name or a dotted path "
                                  "(customer.id)",
                           what, path);
    return 0;
}

/* No path of a step may be a prefix of another's (`a` and `a.b`). */
static int s_disjoint(ed_conf_ctx_t *cx, const ed_node_t *n, char **paths, int np,
                      const char *what) {
    for (int i = 0; i < np; i++)
        for (int j = 0; j < np; j++) {
            size_t li = strlen(paths[i]);
            if (i != j && !strncmp(paths[i], paths[j], li) &&
                (paths[j][li] == '\0' || paths[j][li] == '.') && (i < j || paths[j][li]))
                return ed_conf_err(cx, n,
                                   "%s names '%s' and '%s'; one contains the other: put them in "
                                   "two steps",
                                   what, paths[i], paths[j]);
        }
    return 0;
}

static int s_read_set(ed_conf_state_t *st, const ed_node_t *v, const char *what, int si,
                      ed_xf_step_t *s) {
    ed_conf_ctx_t *cx = st->cx;
    if (!v || v->type != ED_NODE_MAP || !v->npairs)
        return ed_conf_err(cx, v, "%s: expected a mapping of fields to expressions, e.g. set: "
                                  "{ price_eur: \"price * 0.908\" }",
                           what);
    s->paths = ed_calloc((size_t)v->npairs, sizeof *s->paths);
    s->exprs = ed_calloc((size_t)v->npairs, sizeof *s->exprs);
    int rc = 0;
    for (int i = 0; i < v->npairs; i++) {
        const ed_node_t *k = v->pairs[i].key, *e = v->pairs[i].value;
        char w[600];
        snprintf(w, sizeof w, "'%.150s' of %s", k->text, what);
        char *text = NULL;
        if (s_target(cx, k, k->text, what) < 0 ||
            ed_conf_scalar(cx, e, k->text, what, "an expression, e.g. \"price * 0.908\"", 0,
                           &text) < 0) {
            rc = ED_EINVAL;
            free(text);
            continue;
        }
        ed_where_origin_t o = {NULL, e->line, e->col + !e->plain, w};
        char err[1024];
        ed_expr_t *x = NULL;
        if (ed_expr_parse(text, &o, &x, err, sizeof err) < 0) {
            rc = s_expr_err(cx, e, err);
        } else {
            for (int f = 0; f < ed_expr_nfields(x); f++)
                if (ed_conf_check_field(st, e, ed_expr_field(x, f), w, what, si) < 0)
                    rc = ED_EINVAL;
        }
        free(text);
        s->paths[s->n] = ed_strdup(k->text);
        s->exprs[s->n++] = x;
    }
    if (!rc)
        rc = s_disjoint(cx, v, s->paths, s->n, what);
    return rc;
}

static int s_read_drop(ed_conf_ctx_t *cx, const ed_node_t *v, const char *what, ed_xf_step_t *s) {
    ed_conf_strlist_t l = {0};
    int rc = ed_conf_val_strlist(cx, v, "drop", what, "a field or a list of fields", &l);
    s->paths = l.v;
    s->n = l.n;
    for (int i = 0; i < l.n && !rc; i++)
        rc = s_target(cx, v, l.v[i], what);
    if (!rc)
        rc = s_disjoint(cx, v, s->paths, s->n, what);
    return rc;
}

/* The script's path: as written if absolute, else beside the config file. */
static char *s_script_path(const char *conf_path, const char *file) {
    const char *slash = conf_path ? strrchr(conf_path, '/') : NULL;
    if (file[0] == '/' || !slash)
        return ed_strdup(file);
    ed_buf_t b = ED_BUF_INIT;
    ed_buf_append(&b, conf_path, (size_t)(slash - conf_path) + 1);
    ed_buf_puts(&b, file);
    return b.data;
}

static int s_read_lua(ed_conf_ctx_t *cx, const ed_node_t *v, const char *what, ed_xf_step_t *s) {
    ed_xf_lua_t *l = &s->lua;
    ed_conf_map_defaults(cx, ed_conf_xf_lua_map, l, ED_MAP_ALL);
    if (ed_conf_want_map(cx, v, "lua", what, "lua: { file: score.lua, function: score }") < 0)
        return ED_EINVAL;
    if (ed_conf_map_keys_check(cx, v, what, ed_conf_xf_lua_map, ED_MAP_ALL, NULL) < 0 ||
        ed_conf_map_read(cx, ed_conf_xf_lua_map, v, v, l, what, ED_MAP_ALL, NULL) < 0 ||
        !l->file || !l->function)
        return ED_EINVAL;
    l->path = s_script_path(ed_conf_ctx_conf(cx)->path, l->file);
    FILE *f = fopen(l->path, "rb");
    ed_buf_t b = ED_BUF_INIT;
    char chunk[65536];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ed_buf_append(&b, chunk, n);
    if (!f || ferror(f)) {
        if (f)
            fclose(f);
        ed_buf_free(&b);
        return ed_conf_err(cx, ed_node_get(v, "file"),
                           "%s: cannot read Lua script %s; expected a readable file (relative "
                           "paths are relative to the config file)",
                           what, l->path);
    }
    fclose(f);
    l->code = b.data ? b.data : ed_strdup("");
    l->code_len = b.len;
    ed_xlua_t *x = NULL;
    char err[768];
    if (ed_xlua_new(l, &x, err, sizeof err) < 0)
        return ed_conf_err(cx, ed_node_get(v, "file"), "%s: %s", what, err);
    ed_xlua_destroy(&x);
    return 0;
}

void ed_conf_transforms_free(void *field) {
    ed_transforms_destroy((ed_transforms_t **)field);
}

int ed_conf_read_transforms(ed_conf_state_t *st, int si, const ed_node_t *body, const char *w) {
    ed_conf_ctx_t *cx = st->cx;
    ed_conf_source_t *src = &ed_conf_ctx_conf(cx)->sources[si];
    const ed_node_t *v = ed_node_given(body, "transforms");
    if (!v)
        return 0;
    if (v->type != ED_NODE_SEQ)
        return ed_conf_err(cx, v,
                           "'transforms' of %s: expected a list of steps, e.g. transforms: [ "
                           "{ where: 'amount > 0' }, { set: { eur: \"amount * 0.908\" } } ]",
                           w);
    if (src->type && (src->type->caps & ED_CAP_PAYLOAD) && src->format != ED_FMT_JSON)
        return ed_conf_err(cx, ed_node_getk(body, "transforms"),
                           "'transforms' of %s need 'format: json' (transforms edit the fields "
                           "of JSON records)",
                           w);
    if (src->type && !(src->type->caps & ED_CAP_PAYLOAD))
        return ed_conf_err(cx, ed_node_getk(body, "transforms"),
                           "'transforms' of %s: a %s source has no record to transform (only "
                           "meta fields)",
                           w, src->type->name);
    ed_transforms_t *t = ed_calloc(1, sizeof *t);
    t->file = ed_strdup(ed_conf_ctx_conf(cx)->path ? ed_conf_ctx_conf(cx)->path : "config");
    t->steps = ed_calloc((size_t)v->nitems + 1, sizeof *t->steps);
    src->transforms = t;
    int rc = 0;
    for (int i = 0; i < v->nitems; i++) {
        const ed_node_t *item = v->items[i];
        ed_xf_step_t *s = &t->steps[t->n++];
        s->line = item->line;
        s->col = item->col;
        char what[400];
        snprintf(what, sizeof what, "transform %d of %s", i + 1, w);
        if (item->type != ED_NODE_MAP || item->npairs != 1) {
            rc = ed_conf_err(cx, item,
                             "%s: expected a mapping with one key (where, set, drop or lua), "
                             "e.g. - where: 'amount > 0'; found %s",
                             what, item->type == ED_NODE_MAP ? "several keys" : ed_node_what(item));
            continue;
        }
        if (ed_conf_keys(cx, item, what, s_kinds) < 0) {
            rc = ED_EINVAL;
            continue;
        }
        const char *kind = item->pairs[0].key->text;
        const ed_node_t *val = item->pairs[0].value;
        int r = 0;
        if (!strcmp(kind, "where")) {
            s->kind = ED_XF_WHERE;
            r = ed_conf_get_where(st, item, what, si, &s->where);
            if (!r && !s->where)
                r = ed_conf_err(cx, val, "%s: expected a filter expression", what);
            for (int f = 0; !r && f < ed_where_nfields(s->where); f++) {
                int line, col;
                ed_where_field_pos(s->where, f, &line, &col);
                if (ed_where_field(s->where, f)[0] == '@')
                    r = ed_conf_err_at(cx, line, col,
                                       "%s: meta field '%s' in a transform is not implemented "
                                       "yet; transforms read the fields of the record (filter "
                                       "on meta fields with the 'where' of an aggregation or "
                                       "alert)",
                                       what, ed_where_field(s->where, f));
            }
        } else if (!strcmp(kind, "set")) {
            s->kind = ED_XF_SET;
            r = s_read_set(st, val, what, si, s);
        } else if (!strcmp(kind, "drop")) {
            s->kind = ED_XF_DROP;
            r = s_read_drop(cx, val, what, s);
        } else {
            s->kind = ED_XF_LUA;
            r = s_read_lua(cx, val, what, s);
        }
        if (r < 0)
            rc = ED_EINVAL;
    }
    return rc;
}
