/* ed_json_edit.c — see ed_json_edit.h.
 *
 * One recursive walk over the objects the edits reach: at each level the
 * edits still active are (edit, rest of its path) pairs; a member whose key
 * is the first segment of some rest is set, dropped or descended into, any
 * other member is copied as its bytes. Recursion depth is the depth of the
 * edited paths, not of the record.
 */
#define _GNU_SOURCE
#include "actors/decode/ed_json_edit.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_json_fields.h"
#include "runtime/ed_common.h"

/* Edits per object handled with stack scratch (more use the heap). */
#define S_STACK 16

typedef struct {
    int e;            /* index into the edits */
    const char *rest; /* the path below the current object */
} s_act_t;

typedef struct {
    const ed_json_tok_t *T;
    const char *d;
    const ed_json_edit_t *E;
    ed_buf_t *out;
    char *why;
    size_t whysz;
} s_ed_t;

void ed_json_put_num(ed_buf_t *out, double x) {
    if (!isfinite(x) || (x == (double)(int64_t)x && fabs(x) < 9.007199254740992e15)) {
        ed_buf_json_num(out, x);
        return;
    }
    /* Most doubles read back from 15 digits (every decimal of ≤ 15 digits
     * does); the others need 16 or 17. */
    char buf[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (prec == 17 || ed_val_strtod(buf, NULL) == x)
            break;
    }
    ed_buf_append(out, buf, (size_t)n);
}

void ed_json_put_val(ed_buf_t *out, const ed_val_t *v) {
    switch (v->type) {
    case ED_VAL_STRING: ed_buf_json_str(out, v->ptr, v->len); break;
    case ED_VAL_NUMBER:
        if (v->ptr && v->len)
            ed_buf_append(out, v->ptr, v->len);
        else
            ed_json_put_num(out, v->num);
        break;
    case ED_VAL_BOOL: ed_buf_puts(out, v->num != 0 ? "true" : "false"); break;
    case ED_VAL_OTHER: ed_buf_append(out, v->ptr, v->len); break;
    default: ed_buf_puts(out, "null"); break;
    }
}

static const char *s_tok_type(const ed_json_tok_t *t, const char *d) {
    switch (t->type) {
    case ED_JSON_ARR: return "an array";
    case ED_JSON_STR: return "a string";
    default:
        if (d[t->start] == 'n')
            return "null";
        return d[t->start] == 't' || d[t->start] == 'f' ? "a boolean" : "a number";
    }
}

/* The member's raw value text (strings with their quotes). */
static void s_put_raw(s_ed_t *x, int v) {
    const ed_json_tok_t *t = &x->T[v];
    int q = t->type == ED_JSON_STR;
    ed_buf_append(x->out, x->d + t->start - q, t->end - t->start + 2 * (size_t)q);
}

static void s_sep(s_ed_t *x, int *first) {
    if (!*first)
        ed_buf_append(x->out, ",", 1);
    *first = 0;
}

static int s_write(s_ed_t *x, int o, s_act_t *act, int nact);

/* Writes `"seg":{…}` for the not-yet-done set edits whose rest starts with
 * the same segment as act[i] (a parent object that does not exist yet). */
static int s_write_new(s_ed_t *x, s_act_t *act, unsigned char *done, int nact, int i, int *first) {
    const char *r = act[i].rest;
    size_t sl = strcspn(r, ".");
    s_act_t *sub = ed_calloc((size_t)nact, sizeof *sub);
    int nsub = 0;
    for (int j = i; j < nact; j++) {
        const char *rj = act[j].rest;
        if (done[j] || !x->E[act[j].e].val || strncmp(rj, r, sl) || rj[sl] != '.')
            continue;
        done[j] = 1;
        sub[nsub++] = (s_act_t){act[j].e, rj + sl + 1};
    }
    s_sep(x, first);
    ed_buf_json_str(x->out, r, sl);
    ed_buf_append(x->out, ":", 1);
    int rc = s_write(x, -1, sub, nsub);
    free(sub);
    return rc;
}

/* Writes object o (a tape index; -1 = an empty object to create) with the
 * edits act[nact] applied below it. */
static int s_write(s_ed_t *x, int o, s_act_t *act, int nact) {
    const ed_json_tok_t *T = x->T;
    /* Steps name a few fields: scratch on the stack unless they are many. */
    unsigned char done_s[S_STACK] = {0};
    s_act_t sub_s[S_STACK];
    int subi_s[S_STACK];
    int heap = nact > S_STACK;
    unsigned char *done = heap ? ed_calloc((size_t)nact, 1) : done_s;
    s_act_t *sub = heap ? ed_calloc((size_t)nact, sizeof *sub) : sub_s;
    int *subi = heap ? ed_calloc((size_t)nact, sizeof *subi) : subi_s;
    ed_buf_t kb = ED_BUF_INIT;
    int first = 1, rc = 0;
    ed_buf_append(x->out, "{", 1);
    for (int key = o + 1, end = o >= 0 ? T[o].skip : 0; o >= 0 && key < end && !rc;
         key = T[key + 1].skip) {
        const char *ks = x->d + T[key].start;
        size_t kn = T[key].end - T[key].start;
        if (T[key].esc) {
            ed_buf_reset(&kb);
            ed_buf_append(&kb, ks, kn);
            kn = ed_json_unescape(ks, kn, kb.data);
            ks = kb.data;
        }
        int v = key + 1, term = -1, seen = 0, nsub = 0;
        for (int i = 0; i < nact; i++) {
            const char *r = act[i].rest;
            size_t sl = strcspn(r, ".");
            if (sl != kn || memcmp(r, ks, kn))
                continue;
            seen |= done[i];
            if (r[sl] == '\0') {
                term = i;
            } else {
                subi[nsub] = i;
                sub[nsub++] = (s_act_t){act[i].e, r + sl + 1};
            }
        }
        if (seen)
            continue; /* a later duplicate of an edited key */
        if (term >= 0) {
            done[term] = 1;
            const ed_val_t *val = x->E[act[term].e].val;
            if (!val)
                continue;
            s_sep(x, &first);
            ed_buf_json_str(x->out, ks, kn);
            ed_buf_append(x->out, ":", 1);
            ed_json_put_val(x->out, val);
            continue;
        }
        s_sep(x, &first);
        ed_buf_append(x->out, x->d + T[key].start - 1, T[key].end - T[key].start + 2);
        ed_buf_append(x->out, ":", 1);
        for (int s = 0; s < nsub; s++)
            done[subi[s]] = 1;
        if (nsub && T[v].type == ED_JSON_OBJ) {
            rc = s_write(x, v, sub, nsub);
            continue;
        }
        for (int s = 0; s < nsub && !rc; s++)
            if (x->E[sub[s].e].val) {
                const char *p = x->E[sub[s].e].path;
                size_t pl = (size_t)(sub[s].rest - p) - 1;
                snprintf(x->why, x->whysz, "cannot set '%s': '%.*s' is %s, not an object", p,
                         (int)pl, p, s_tok_type(&T[v], x->d));
                rc = -1;
            }
        s_put_raw(x, v);
    }
    for (int i = 0; i < nact && !rc; i++) {
        if (done[i] || !x->E[act[i].e].val)
            continue;
        const char *r = act[i].rest;
        if (strchr(r, '.')) {
            rc = s_write_new(x, act, done, nact, i, &first);
            continue;
        }
        done[i] = 1;
        s_sep(x, &first);
        ed_buf_json_str(x->out, r, strlen(r));
        ed_buf_append(x->out, ":", 1);
        ed_json_put_val(x->out, x->E[act[i].e].val);
    }
    ed_buf_append(x->out, "}", 1);
    ed_buf_free(&kb);
    if (heap) {
        free(done);
        free(sub);
        free(subi);
    }
    return rc;
}

int ed_json_edit(const ed_json_tok_t *T, const char *d, const ed_json_edit_t *edits, int n,
                 ed_buf_t *out, char *why, size_t why_size) {
    s_ed_t x = {T, d, edits, out, why, why_size};
    s_act_t act_s[S_STACK];
    s_act_t *act = n > S_STACK ? ed_calloc((size_t)n, sizeof *act) : act_s;
    for (int i = 0; i < n; i++)
        act[i] = (s_act_t){i, edits[i].path};
    int rc = s_write(&x, 0, act, n);
    if (act != act_s)
        free(act);
    return rc;
}
