/* ed_expr.c — see ed_expr.h.
 *
 * A recursive-descent parser over the arithmetic tokens of ed_where_lex.h
 * (ed_where_lex_init_arith) builds a binary tree in one node array; the
 * evaluator recurses over it, at most ED_WHERE_MAX_DEPTH levels of
 * parentheses and unary minus deep plus the length of a left-leaning chain,
 * which the parser also bounds. Strings made by concatenation live in the
 * caller's scratch buffer, addressed by offset while it grows.
 */
#define _GNU_SOURCE
#include "actors/decode/ed_expr.h"
#include "actors/decode/ed_where_lex.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

/* Longest chain of binary operators the evaluator recurses through. */
#define S_MAX_NODES 4096

typedef enum { S_LIT = 1, S_FIELD, S_NEG, S_BIN } s_kind_t;

typedef struct {
    uint8_t kind; /* s_kind_t */
    char op;      /* S_BIN: + - * / */
    int a, b;     /* S_BIN: operands; S_NEG: a; S_LIT: literal; S_FIELD: field */
    size_t off;   /* byte offset of the node's token, for nothing but debugging */
} s_node_t;

struct ed_expr {
    char *text;
    s_node_t *nodes;
    int nnodes, root;
    ed_val_t *lits; /* STRING literals own their ptr */
    int nlits;
    char **fields;
    int nfields;
};

typedef struct {
    ed_expr_t *e;
    ed_where_lex_t lx;
    int depth;
} s_parser_t;

static int s_add(s_parser_t *p, s_node_t n) {
    ed_expr_t *e = p->e;
    if (e->nnodes >= S_MAX_NODES)
        return ed_where_lex_fail(&p->lx, p->lx.tok.off,
                                 "expression too long (more than %d terms)", S_MAX_NODES);
    e->nodes = ed_realloc(e->nodes, sizeof *e->nodes * (size_t)(e->nnodes + 1));
    e->nodes[e->nnodes] = n;
    return e->nnodes++;
}

static int s_lit(s_parser_t *p, ed_val_t v) {
    ed_expr_t *e = p->e;
    e->lits = ed_realloc(e->lits, sizeof *e->lits * (size_t)(e->nlits + 1));
    e->lits[e->nlits] = v;
    return s_add(p, (s_node_t){.kind = S_LIT, .a = e->nlits++, .off = p->lx.tok.off});
}

static int s_field(s_parser_t *p) {
    ed_expr_t *e = p->e;
    const ed_where_tok_t *t = &p->lx.tok;
    int i = 0;
    while (i < e->nfields && !(strlen(e->fields[i]) == t->len && !memcmp(e->fields[i], t->str, t->len)))
        i++;
    if (i == e->nfields) {
        e->fields = ed_realloc(e->fields, sizeof *e->fields * (size_t)(e->nfields + 1));
        e->fields[e->nfields++] = ed_strndup(t->str, t->len);
    }
    return s_add(p, (s_node_t){.kind = S_FIELD, .a = i, .off = t->off});
}

static int s_parse_sum(s_parser_t *p);

static int s_parse_primary(s_parser_t *p) {
    const ed_where_tok_t *t = &p->lx.tok;
    int n;
    if (t->kind == ED_WT_LPAREN) {
        if (++p->depth > ED_WHERE_MAX_DEPTH)
            return ed_where_lex_fail(&p->lx, t->off, "nesting deeper than %d levels",
                                     ED_WHERE_MAX_DEPTH);
        ed_where_lex_next(&p->lx);
        if ((n = s_parse_sum(p)) < 0)
            return -1;
        if (p->lx.tok.kind != ED_WT_RPAREN)
            return ed_where_lex_expected(&p->lx, "an operator (+ - * /) or ')'");
        p->depth--;
    } else if (t->kind == ED_WT_NUM) {
        n = s_lit(p, (ed_val_t){.type = ED_VAL_NUMBER, .num = t->num});
    } else if (t->kind == ED_WT_STR) {
        char *s = ed_strndup(t->str, t->len);
        n = s_lit(p, (ed_val_t){.type = ED_VAL_STRING, .ptr = s, .len = t->len});
    } else if (ed_where_lex_kw(&p->lx, "true") || ed_where_lex_kw(&p->lx, "false")) {
        int b = t->str[0] == 't';
        n = s_lit(p, (ed_val_t){.type = ED_VAL_BOOL, .num = b, .ptr = b ? "true" : "false",
                                .len = b ? 4 : 5});
    } else if (ed_where_lex_kw(&p->lx, "null")) {
        n = s_lit(p, (ed_val_t){.type = ED_VAL_NULL, .ptr = "null", .len = 4});
    } else if (t->kind == ED_WT_NAME && !ed_where_lex_is_keyword(t)) {
        if (t->str[0] == '@')
            return ed_where_lex_fail(&p->lx, t->off,
                                     "meta field '%.*s' in a transform is not implemented yet; "
                                     "transforms read the fields of the record",
                                     (int)t->len, t->str);
        n = s_field(p);
    } else {
        return ed_where_lex_expected(&p->lx,
                                     "a value (a number, a \"string\", a field, '-' or '(')");
    }
    if (n < 0)
        return -1;
    ed_where_lex_next(&p->lx);
    return n;
}

static int s_parse_unary(s_parser_t *p) {
    if (p->lx.tok.kind == ED_WT_ARITH && p->lx.tok.aop == '-') {
        size_t off = p->lx.tok.off;
        if (++p->depth > ED_WHERE_MAX_DEPTH)
            return ed_where_lex_fail(&p->lx, off, "nesting deeper than %d levels",
                                     ED_WHERE_MAX_DEPTH);
        ed_where_lex_next(&p->lx);
        int a = s_parse_unary(p);
        p->depth--;
        return a < 0 ? -1 : s_add(p, (s_node_t){.kind = S_NEG, .a = a, .off = off});
    }
    return s_parse_primary(p);
}

/* term := unary (('*' | '/' | '%') unary)*; sum := term (('+' | '-') term)* */
static int s_parse_level(s_parser_t *p, int sum) {
    int a = sum ? s_parse_level(p, 0) : s_parse_unary(p);
    while (a >= 0 && p->lx.tok.kind == ED_WT_ARITH &&
           (sum ? strchr("+-", p->lx.tok.aop) : strchr("*/%", p->lx.tok.aop))) {
        char op = p->lx.tok.aop;
        size_t off = p->lx.tok.off;
        ed_where_lex_next(&p->lx);
        int b = sum ? s_parse_level(p, 0) : s_parse_unary(p);
        if (b < 0)
            return -1;
        a = s_add(p, (s_node_t){.kind = S_BIN, .op = op, .a = a, .b = b, .off = off});
    }
    return a;
}

static int s_parse_sum(s_parser_t *p) {
    return s_parse_level(p, 1);
}

int ed_expr_parse(const char *text, const ed_where_origin_t *origin, ed_expr_t **e_p,
                  char *errstr, size_t errstr_size) {
    *e_p = NULL;
    ed_expr_t *e = ed_calloc(1, sizeof *e);
    e->text = ed_strdup(text);
    s_parser_t p = {.e = e};
    ed_where_lex_init_arith(&p.lx, e->text, origin, errstr, errstr_size);
    int root = p.lx.tok.kind == ED_WT_ERROR ? -1 : s_parse_sum(&p);
    if (root >= 0 && p.lx.tok.kind != ED_WT_END)
        root = ed_where_lex_expected(&p.lx, "an operator (+ - * /) or the end of the expression");
    ed_where_lex_free(&p.lx);
    if (root < 0) {
        ed_expr_destroy(&e);
        return ED_EINVAL;
    }
    e->root = root;
    *e_p = e;
    return 0;
}

void ed_expr_destroy(ed_expr_t **e_p) {
    if (!e_p || !*e_p)
        return;
    ed_expr_t *e = *e_p;
    for (int i = 0; i < e->nlits; i++)
        if (e->lits[i].type == ED_VAL_STRING)
            free((char *)e->lits[i].ptr);
    for (int i = 0; i < e->nfields; i++)
        free(e->fields[i]);
    free(e->lits);
    free(e->fields);
    free(e->nodes);
    free(e->text);
    free(e);
    *e_p = NULL;
}

int ed_expr_nfields(const ed_expr_t *e) {
    return e->nfields;
}

const char *ed_expr_field(const ed_expr_t *e, int i) {
    return e->fields[i];
}

/* ------------------------------------------------------------- evaluator */

/* A value during evaluation: strings made here live in the scratch buffer
 * at `off` (its data may move as it grows). */
typedef struct {
    ed_val_t v;
    int inbuf;
    size_t off;
} s_v_t;

typedef struct {
    const ed_expr_t *e;
    const ed_val_t *vals;
    ed_buf_t *buf;
    char *why;
    size_t whysz;
} s_eval_t;

static const char *s_type_name(ed_val_type_t t) {
    switch (t) {
    case ED_VAL_STRING: return "a string";
    case ED_VAL_NUMBER: return "a number";
    case ED_VAL_BOOL: return "a boolean";
    case ED_VAL_NULL: return "null";
    case ED_VAL_OTHER: return "an object or array";
    default: return "missing";
    }
}

/* "(field 'x') " of an operand that is a field, else "". */
static void s_operand_desc(const s_eval_t *ev, int node, char *buf, size_t size) {
    const s_node_t *n = &ev->e->nodes[node];
    if (n->kind == S_FIELD)
        snprintf(buf, size, " (field '%s')", ev->e->fields[n->a]);
    else
        buf[0] = '\0';
}

static int s_eval(s_eval_t *ev, int node, s_v_t *out);

static int s_type_err(s_eval_t *ev, const s_node_t *n, const char *side, int child,
                      const s_v_t *v) {
    char d[300];
    s_operand_desc(ev, child, d, sizeof d);
    if (n->kind == S_NEG)
        snprintf(ev->why, ev->whysz, "unary '-' needs a number; its operand%s is %s", d,
                 s_type_name(v->v.type));
    else
        snprintf(ev->why, ev->whysz, "'%c' needs two numbers%s; its %s operand%s is %s", n->op,
                 n->op == '+' ? " or two strings" : "", side, d, s_type_name(v->v.type));
    return -1;
}

static int s_finite(s_eval_t *ev, double x, s_v_t *out) {
    if (!isfinite(x)) {
        snprintf(ev->why, ev->whysz, "the result is not a finite number");
        return -1;
    }
    *out = (s_v_t){.v = {.type = ED_VAL_NUMBER, .num = x}};
    return 0;
}

static int s_eval_bin(s_eval_t *ev, const s_node_t *n, s_v_t *out) {
    s_v_t a, b;
    if (s_eval(ev, n->a, &a) < 0 || s_eval(ev, n->b, &b) < 0)
        return -1;
    if (n->op == '+' && a.v.type == ED_VAL_STRING && b.v.type == ED_VAL_STRING) {
        ed_buf_t *buf = ev->buf;
        /* Grow first: a or b may live in the buffer, which may move. */
        size_t off = buf->len, need = off + a.v.len + b.v.len + 1;
        if (buf->cap < need) {
            buf->data = ed_realloc(buf->data, need);
            buf->cap = need;
        }
        const char *pa = a.inbuf ? buf->data + a.off : a.v.ptr;
        const char *pb = b.inbuf ? buf->data + b.off : b.v.ptr;
        memcpy(buf->data + off, pa, a.v.len);
        memcpy(buf->data + off + a.v.len, pb, b.v.len);
        buf->len = off + a.v.len + b.v.len;
        buf->data[buf->len] = '\0';
        *out = (s_v_t){.v = {.type = ED_VAL_STRING, .len = a.v.len + b.v.len}, .inbuf = 1, .off = off};
        return 0;
    }
    if (a.v.type != ED_VAL_NUMBER)
        return s_type_err(ev, n, "left", n->a, &a);
    if (b.v.type != ED_VAL_NUMBER)
        return s_type_err(ev, n, "right", n->b, &b);
    double x = a.v.num, y = b.v.num;
    switch (n->op) {
    case '+': return s_finite(ev, x + y, out);
    case '-': return s_finite(ev, x - y, out);
    case '*': return s_finite(ev, x * y, out);
    case '%':
        if (y == 0) {
            snprintf(ev->why, ev->whysz, "modulo by zero");
            return -1;
        }
        return s_finite(ev, ed_where_mod(x, y), out);
    default:
        if (y == 0) {
            snprintf(ev->why, ev->whysz, "division by zero");
            return -1;
        }
        return s_finite(ev, x / y, out);
    }
}

static int s_eval(s_eval_t *ev, int node, s_v_t *out) {
    const s_node_t *n = &ev->e->nodes[node];
    switch (n->kind) {
    case S_LIT: *out = (s_v_t){.v = ev->e->lits[n->a]}; return 0;
    case S_FIELD: {
        const ed_val_t *v = &ev->vals[n->a];
        if (v->type == ED_VAL_MISSING) {
            snprintf(ev->why, ev->whysz, "field '%s' is missing", ev->e->fields[n->a]);
            return -1;
        }
        *out = (s_v_t){.v = *v};
        return 0;
    }
    case S_NEG: {
        s_v_t a;
        if (s_eval(ev, n->a, &a) < 0)
            return -1;
        if (a.v.type != ED_VAL_NUMBER)
            return s_type_err(ev, n, "", n->a, &a);
        return s_finite(ev, -a.v.num, out);
    }
    default: return s_eval_bin(ev, n, out);
    }
}

int ed_expr_eval(const ed_expr_t *e, const ed_val_t *vals, ed_buf_t *scratch, ed_val_t *out,
                 char *why, size_t why_size) {
    ed_buf_reset(scratch);
    s_eval_t ev = {e, vals, scratch, why, why_size};
    s_v_t v;
    if (s_eval(&ev, e->root, &v) < 0)
        return -1;
    if (v.inbuf)
        v.v.ptr = scratch->data + v.off;
    if (v.v.type == ED_VAL_NUMBER && e->nodes[e->root].kind != S_FIELD) {
        v.v.ptr = NULL;
        v.v.len = 0;
    }
    *out = v.v;
    return 0;
}
