/* ed_transform.c — see ed_transform.h.
 *
 * The record travels through the steps as JSON text: a step that changes
 * it writes a new text (ed_json_edit.h) into one of two buffers, in turn,
 * so the text a step reads is never the one it writes; the next step that
 * reads fields parses it again. Text rather than a tree keeps unchanged
 * members as their bytes (a 64-bit integer stays exact) and costs one parse
 * per changing step.
 */
#define _GNU_SOURCE
#include "actors/decode/ed_transform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_json.h"
#include "actors/decode/ed_json_edit.h"
#include "actors/decode/ed_json_fields.h"
#include "actors/decode/ed_transform_lua.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"

/* What a runner keeps per step. */
typedef struct {
    ed_json_fields_t *fields; /* WHERE: the expression's fields */
    ed_val_t *vals;
    ed_where_ctx_t *cx;
    ed_json_fields_t **efields; /* SET: per expression */
    ed_val_t **evals;
    ed_val_t *results;
    ed_buf_t *scratch;
    ed_json_edit_t *edits; /* SET, DROP */
    ed_xlua_t *lua;        /* LUA */
} s_step_t;

struct ed_xrun {
    const ed_transforms_t *t;
    s_step_t *steps;
    ed_json_t *json;
    ed_buf_t buf[2];
};

static const char *const s_kind_names[] = {"?", "where", "set", "drop", "lua"};

const char *ed_transform_kind_name(ed_xf_kind_t kind) {
    return kind >= ED_XF_WHERE && kind <= ED_XF_LUA ? s_kind_names[kind] : "?";
}

void ed_transforms_destroy(ed_transforms_t **t_p) {
    if (!t_p || !*t_p)
        return;
    ed_transforms_t *t = *t_p;
    for (int i = 0; i < t->n; i++) {
        ed_xf_step_t *s = &t->steps[i];
        ed_where_destroy(&s->where);
        for (int j = 0; j < s->n; j++) {
            free(s->paths[j]);
            if (s->exprs)
                ed_expr_destroy(&s->exprs[j]);
        }
        free(s->paths);
        free(s->exprs);
        free(s->lua.file);
        free(s->lua.function);
        free(s->lua.path);
        free(s->lua.code);
    }
    free(t->steps);
    free(t->file);
    free(t);
    *t_p = NULL;
}

/* A field reader for the n names of `name_at`. */
static ed_json_fields_t *s_fields(int n, const char *(*name_at)(const void *, int), const void *o,
                                  ed_val_t **vals) {
    const char **names = ed_calloc((size_t)n + 1, sizeof *names);
    for (int i = 0; i < n; i++)
        names[i] = name_at(o, i);
    ed_json_fields_t *f = ed_json_fields_new(names, n);
    free(names);
    *vals = ed_calloc((size_t)n + 1, sizeof **vals);
    return f;
}

static const char *s_where_field(const void *w, int i) {
    return ed_where_field(w, i);
}

static const char *s_expr_field(const void *e, int i) {
    return ed_expr_field(e, i);
}

int ed_xrun_new(const ed_transforms_t *t, ed_xrun_t **r_p, char *errstr, size_t errstr_size) {
    ed_xrun_t *r = ed_calloc(1, sizeof *r);
    r->t = t;
    r->json = ed_json_new();
    r->steps = ed_calloc((size_t)t->n + 1, sizeof *r->steps);
    *r_p = NULL;
    for (int i = 0; i < t->n; i++) {
        const ed_xf_step_t *s = &t->steps[i];
        s_step_t *rs = &r->steps[i];
        switch (s->kind) {
        case ED_XF_WHERE:
            rs->fields = s_fields(ed_where_nfields(s->where), s_where_field, s->where, &rs->vals);
            rs->cx = ed_where_ctx_new(s->where);
            break;
        case ED_XF_SET:
            rs->efields = ed_calloc((size_t)s->n, sizeof *rs->efields);
            rs->evals = ed_calloc((size_t)s->n, sizeof *rs->evals);
            rs->results = ed_calloc((size_t)s->n, sizeof *rs->results);
            rs->scratch = ed_calloc((size_t)s->n, sizeof *rs->scratch);
            for (int j = 0; j < s->n; j++)
                rs->efields[j] = s_fields(ed_expr_nfields(s->exprs[j]), s_expr_field,
                                          s->exprs[j], &rs->evals[j]);
            __attribute__((fallthrough)); /* SET and DROP both edit */
        case ED_XF_DROP:
            rs->edits = ed_calloc((size_t)s->n, sizeof *rs->edits);
            for (int j = 0; j < s->n; j++)
                rs->edits[j] = (ed_json_edit_t){s->paths[j],
                                                s->kind == ED_XF_SET ? &rs->results[j] : NULL};
            break;
        case ED_XF_LUA: {
            char err[512];
            if (ed_xlua_new(&s->lua, &rs->lua, err, sizeof err) < 0) {
                ed_seterr(errstr, errstr_size, ED_EINVAL, "%s:%d:%d: transform %d (lua): %s",
                          t->file ? t->file : "config", s->line, s->col, i + 1, err);
                ed_xrun_destroy(&r);
                return ED_EINVAL;
            }
            break;
        }
        }
    }
    *r_p = r;
    return 0;
}

void ed_xrun_destroy(ed_xrun_t **r_p) {
    if (!r_p || !*r_p)
        return;
    ed_xrun_t *r = *r_p;
    for (int i = 0; i < r->t->n; i++) {
        s_step_t *rs = &r->steps[i];
        ed_json_fields_destroy(&rs->fields);
        free(rs->vals);
        ed_where_ctx_destroy(&rs->cx);
        for (int j = 0; rs->efields && j < r->t->steps[i].n; j++) {
            ed_json_fields_destroy(&rs->efields[j]);
            free(rs->evals[j]);
            ed_buf_free(&rs->scratch[j]);
        }
        free(rs->efields);
        free(rs->evals);
        free(rs->results);
        free(rs->scratch);
        free(rs->edits);
        ed_xlua_destroy(&rs->lua);
    }
    free(r->steps);
    ed_json_destroy(&r->json);
    ed_buf_free(&r->buf[0]);
    ed_buf_free(&r->buf[1]);
    free(r);
    *r_p = NULL;
}

/* Puts "transform N (KIND, line L): " before the sentence in why; only on
 * failure, so that a record that passes formats nothing. Returns REJECT. */
static ed_xr_t s_fail(const ed_xrun_t *r, int i, char *why, size_t why_size) {
    const ed_xf_step_t *s = &r->t->steps[i];
    char msg[768];
    snprintf(msg, sizeof msg, "%s", why);
    snprintf(why, why_size, "transform %d (%s, line %d): %s", i + 1, s_kind_names[s->kind],
             s->line, msg);
    return ED_XR_REJECT;
}

ed_xr_t ed_xrun_apply(ed_xrun_t *r, const char *d, size_t len, const char **out, size_t *out_len,
                      char *why, size_t why_size) {
    const char *txt = d;
    size_t n = len;
    int parsed = 0, w = 0;
    for (int i = 0; i < r->t->n; i++) {
        const ed_xf_step_t *s = &r->t->steps[i];
        s_step_t *rs = &r->steps[i];
        if (!parsed) {
            /* The input's own JSON errors read as the decoder's do. */
            if (ed_json_parse(r->json, txt, n, why, why_size) < 0)
                return i ? s_fail(r, i - 1, why, why_size) : ED_XR_REJECT;
            parsed = 1;
        }
        const ed_json_tok_t *T = ed_json_tape(r->json);
        ed_buf_t *ob = &r->buf[w];
        ed_buf_reset(ob);
        switch (s->kind) {
        case ED_XF_WHERE:
            ed_json_fields_get(rs->fields, T, txt, rs->vals);
            if (!ed_where_eval(rs->cx, rs->vals))
                return ED_XR_FILTERED;
            continue;
        case ED_XF_SET:
            for (int j = 0; j < s->n; j++) {
                ed_json_fields_get(rs->efields[j], T, txt, rs->evals[j]);
                if (ed_expr_eval(s->exprs[j], rs->evals[j], &rs->scratch[j], &rs->results[j],
                                 why, why_size) < 0) {
                    size_t l = strlen(why);
                    snprintf(why + l, why_size - l, " (setting '%s')", s->paths[j]);
                    return s_fail(r, i, why, why_size);
                }
            }
            __attribute__((fallthrough));
        case ED_XF_DROP:
            if (ed_json_edit(T, txt, rs->edits, s->n, ob, why, why_size) < 0)
                return s_fail(r, i, why, why_size);
            break;
        case ED_XF_LUA: {
            int rc = ed_xlua_call(rs->lua, T, txt, ob, why, why_size);
            if (rc == 1)
                return ED_XR_FILTERED;
            if (rc < 0)
                return s_fail(r, i, why, why_size);
            break;
        }
        }
        txt = ob->data;
        n = ob->len;
        parsed = 0;
        w ^= 1;
    }
    *out = txt;
    *out_len = n;
    return ED_XR_PASS;
}
