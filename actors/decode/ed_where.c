/* ed_where.c — see ed_where.h.
 *
 * A recursive-descent parser over the tokens of ed_where_lex.h builds a
 * small tree in one node array: `and` and `or` are n-ary (their operands
 * are a run of the kids[] array), so a long chain of `or` is one level
 * deep and only parentheses and `not` add depth, which ED_WHERE_MAX_DEPTH
 * bounds (the evaluator recurses). Literal lists of `in` are sorted per
 * type at parse time and searched by bisection.
 */
#define _GNU_SOURCE
#include "actors/decode/ed_where.h"
#include "actors/decode/ed_where_lex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"

/* Node kinds. */
typedef enum {
    S_OR = 1,
    S_AND,
    S_NOT,
    S_CMP,     /* field [% N] OP literal */
    S_CMPF,    /* field OP field */
    S_IN,      /* field [not] in [list] */
    S_MISSING, /* field is [not] missing */
    S_CONTAINS,
    S_STARTS,
    S_ENDS,
    S_MATCH,
} s_kind_t;

typedef struct {
    uint8_t kind; /* s_kind_t */
    uint8_t op;   /* S_CMP/S_CMPF: ed_where_op_t */
    uint8_t neg;  /* S_IN: `not in`; S_MISSING: `is not missing` */
    int field;    /* leaf: index into fields[] */
    int arg;      /* S_CMP, string ops: literal; S_CMPF: 2nd field; S_IN: list; S_MATCH: regex;
                     S_AND/S_OR/S_NOT: first operand in kids[] */
    int n;        /* S_AND/S_OR: operand count; S_NOT: 1 */
    double mod;   /* S_CMP, S_CMPF: compare `field % mod` (a number ≠ 0); 0 = the field itself */
} s_node_t;

/* A literal: a string (owned bytes), a number or a boolean. */
typedef struct {
    ed_val_type_t type; /* STRING, NUMBER or BOOL */
    double num;         /* NUMBER; BOOL: 0 or 1 */
    char *str;
    size_t len;
} s_lit_t;

/* The literals of one `in` list, sorted within each type. */
typedef struct {
    int str0, nstr; /* run of lits[] */
    int num0, nnum;
    int bools; /* bit 0: false is in the list, bit 1: true is */
} s_list_t;

typedef struct {
    char *name;
    int line, col; /* first occurrence */
} s_field_t;

struct ed_where {
    char *text;
    s_node_t *nodes;
    int nnodes, root;
    int *kids;
    int nkids;
    s_lit_t *lits;
    int nlits;
    s_list_t *lists;
    int nlists;
    pcre2_code **re;
    int nre;
    s_field_t *fields;
    int nfields;
};

struct ed_where_ctx {
    const ed_where_t *w;
    pcre2_match_data *md;    /* one pair is enough: we only ask whether it matched */
    pcre2_match_context *mc; /* carries the match limit */
    ed_where_counts_t counts;
};

/* The parser: the lexer, and the expression it fills. */
typedef struct {
    ed_where_t *w;
    ed_where_lex_t lx;
    int depth; /* of parentheses and `not` */
} s_parser_t;

/* ----------------------------------------------------------------- parser */

static int s_add_node(s_parser_t *p, s_node_t n) {
    ed_where_t *w = p->w;
    w->nodes = ed_realloc(w->nodes, sizeof *w->nodes * (size_t)(w->nnodes + 1));
    w->nodes[w->nnodes] = n;
    return w->nnodes++;
}

/* The literal of a number, string, true or false token (string copied). */
static s_lit_t s_lit_of(const ed_where_tok_t *t) {
    s_lit_t l = {0};
    if (t->kind == ED_WT_STR) {
        l.type = ED_VAL_STRING;
        l.str = ed_malloc(t->len + 1);
        memcpy(l.str, t->str, t->len);
        l.str[t->len] = '\0';
        l.len = t->len;
    } else if (t->kind == ED_WT_NUM) {
        l.type = ED_VAL_NUMBER;
        l.num = t->num;
    } else {
        l.type = ED_VAL_BOOL;
        l.num = t->str[0] == 't';
    }
    return l;
}

static int s_add_lit(ed_where_t *w, const ed_where_tok_t *t) {
    w->lits = ed_realloc(w->lits, sizeof *w->lits * (size_t)(w->nlits + 1));
    w->lits[w->nlits] = s_lit_of(t);
    return w->nlits++;
}

/* Field index for the name token at hand (added on first use). */
static int s_field(s_parser_t *p) {
    ed_where_t *w = p->w;
    for (int i = 0; i < w->nfields; i++)
        if (strlen(w->fields[i].name) == p->lx.tok.len &&
            !memcmp(w->fields[i].name, p->lx.tok.str, p->lx.tok.len))
            return i;
    w->fields = ed_realloc(w->fields, sizeof *w->fields * (size_t)(w->nfields + 1));
    s_field_t *f = &w->fields[w->nfields];
    f->name = ed_strndup(p->lx.tok.str, p->lx.tok.len);
    ed_where_lex_linecol(&p->lx, p->lx.tok.off, &f->line, &f->col);
    return w->nfields++;
}

/* 1 if the token is a literal value (number, string, true, false). */
static int s_is_literal(const s_parser_t *p) {
    return p->lx.tok.kind == ED_WT_NUM || p->lx.tok.kind == ED_WT_STR ||
           ed_where_lex_kw(&p->lx, "true") || ed_where_lex_kw(&p->lx, "false");
}

static int s_cmp_lit(const void *a, const void *b) {
    const s_lit_t *x = a, *y = b;
    if (x->type == ED_VAL_NUMBER)
        return (x->num > y->num) - (x->num < y->num);
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->str, y->str, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* `[lit, lit, …]` after `in`: sorted into strings, then numbers. */
static int s_parse_list(s_parser_t *p) {
    ed_where_t *w = p->w;
    if (p->lx.tok.kind != ED_WT_LBRACK)
        return ed_where_lex_expected(&p->lx,
                                     "'[' starting a list of values, e.g. in [\"a\", \"b\"]");
    ed_where_lex_next(&p->lx);
    s_list_t list = {0};
    s_lit_t *tmp = NULL;
    int ntmp = 0;
    for (;;) {
        if (p->lx.tok.kind == ED_WT_RBRACK && ntmp + list.bools > 0)
            break; /* a trailing comma */
        if (!s_is_literal(p)) {
            ed_where_lex_expected(&p->lx,
                                  "a value in the list (a number, a \"string\", true or false)");
            goto fail;
        }
        if (p->lx.tok.kind == ED_WT_NAME) {
            list.bools |= 1 << (p->lx.tok.str[0] == 't');
        } else {
            tmp = ed_realloc(tmp, sizeof *tmp * (size_t)(ntmp + 1));
            tmp[ntmp++] = s_lit_of(&p->lx.tok);
        }
        ed_where_lex_next(&p->lx);
        if (p->lx.tok.kind == ED_WT_COMMA) {
            ed_where_lex_next(&p->lx);
            continue;
        }
        if (p->lx.tok.kind == ED_WT_RBRACK)
            break;
        ed_where_lex_expected(&p->lx, "',' or ']'");
        goto fail;
    }
    ed_where_lex_next(&p->lx);
    /* Strings first, then numbers, each sorted for bisection. */
    for (int pass = 0; pass < 2; pass++) {
        ed_val_type_t want = pass ? ED_VAL_NUMBER : ED_VAL_STRING;
        int first = w->nlits, count = 0;
        for (int i = 0; i < ntmp; i++)
            if (tmp[i].type == want) {
                w->lits = ed_realloc(w->lits, sizeof *w->lits * (size_t)(w->nlits + 1));
                w->lits[w->nlits++] = tmp[i];
                count++;
            }
        if (count > 1)
            qsort(w->lits + first, (size_t)count, sizeof *w->lits, s_cmp_lit);
        if (pass) {
            list.num0 = first;
            list.nnum = count;
        } else {
            list.str0 = first;
            list.nstr = count;
        }
    }
    free(tmp);
    w->lists = ed_realloc(w->lists, sizeof *w->lists * (size_t)(w->nlists + 1));
    w->lists[w->nlists] = list;
    return w->nlists++;
fail:
    for (int i = 0; i < ntmp; i++)
        free(tmp[i].str);
    free(tmp);
    return -1;
}

static int s_compile_regex(s_parser_t *p) {
    ed_where_t *w = p->w;
    int errcode;
    PCRE2_SIZE erroff;
    pcre2_code *re =
        pcre2_compile((PCRE2_SPTR)p->lx.tok.str, p->lx.tok.len,
                      PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &errcode, &erroff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        return ed_where_lex_fail(&p->lx, p->lx.tok.off,
                                 "invalid regular expression %.*s: %s at offset %zu of the pattern",
                                 (int)(p->lx.tok.end - p->lx.tok.off), p->lx.s + p->lx.tok.off,
                                 (const char *)msg, (size_t)erroff);
    }
    /* JIT where the library has it; without it pcre2_match interprets. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    w->re = ed_realloc(w->re, sizeof *w->re * (size_t)(w->nre + 1));
    w->re[w->nre] = re;
    return w->nre++;
}

static int s_parse_or(s_parser_t *p);

/* predicate := field (['%' number] CMP operand | [not] in [...] | is [not] missing
 *                     | STROP string) */
static int s_parse_predicate(s_parser_t *p) {
    if (p->lx.tok.kind != ED_WT_NAME || ed_where_lex_is_keyword(&p->lx.tok)) {
        if (s_is_literal(p))
            return ed_where_lex_expected(&p->lx,
                                         "a field name (the field goes on the left: amount > 100)");
        return ed_where_lex_expected(&p->lx, "a field name, 'not' or '('");
    }
    s_node_t n = {.field = s_field(p)};
    ed_where_lex_next(&p->lx);
    if (p->lx.tok.kind == ED_WT_ARITH) { /* '%': the lexer makes no other here */
        ed_where_lex_next(&p->lx);
        if (p->lx.tok.kind != ED_WT_NUM || p->lx.tok.num == 0)
            return ed_where_lex_expected(&p->lx, "a number other than 0 after '%' (auction % 123 == 0)");
        n.mod = p->lx.tok.num;
        ed_where_lex_next(&p->lx);
        if (p->lx.tok.kind != ED_WT_OP)
            return ed_where_lex_expected(&p->lx, "a comparison (==, !=, <, <=, >, >=) after 'FIELD % N'");
    }
    if (p->lx.tok.kind == ED_WT_OP) {
        n.op = (uint8_t)p->lx.tok.op;
        size_t op_off = p->lx.tok.off, op_len = p->lx.tok.end - p->lx.tok.off;
        ed_where_lex_next(&p->lx);
        if (s_is_literal(p)) {
            if (p->lx.tok.kind == ED_WT_NAME && n.op != ED_WOP_EQ && n.op != ED_WOP_NE)
                return ed_where_lex_fail(&p->lx, op_off,
                                         "booleans compare with == and != only, not with '%.*s'",
                                         (int)op_len, p->lx.s + op_off);
            n.kind = S_CMP;
            n.arg = s_add_lit(p->w, &p->lx.tok);
        } else if (p->lx.tok.kind == ED_WT_NAME && !ed_where_lex_is_keyword(&p->lx.tok)) {
            n.kind = S_CMPF;
            n.arg = s_field(p);
        } else {
            return ed_where_lex_expected(
                &p->lx, "a value (a number, a \"string\", true or false) or a field");
        }
        ed_where_lex_next(&p->lx);
        return s_add_node(p, n);
    }
    if (ed_where_lex_kw(&p->lx, "not") || ed_where_lex_kw(&p->lx, "in")) {
        if (ed_where_lex_kw(&p->lx, "not")) {
            ed_where_lex_next(&p->lx);
            if (!ed_where_lex_kw(&p->lx, "in"))
                return ed_where_lex_expected(&p->lx, "'in' after 'not' (FIELD not in [...])");
            n.neg = 1;
        }
        ed_where_lex_next(&p->lx);
        n.kind = S_IN;
        if ((n.arg = s_parse_list(p)) < 0)
            return -1;
        return s_add_node(p, n);
    }
    if (ed_where_lex_kw(&p->lx, "is")) {
        ed_where_lex_next(&p->lx);
        if (ed_where_lex_kw(&p->lx, "not")) {
            n.neg = 1;
            ed_where_lex_next(&p->lx);
        }
        if (!ed_where_lex_kw(&p->lx, "missing"))
            return ed_where_lex_expected(&p->lx,
                                         n.neg ? "'missing'" : "'missing' or 'not missing'");
        ed_where_lex_next(&p->lx);
        n.kind = S_MISSING;
        return s_add_node(p, n);
    }
    static const struct {
        const char *kw;
        s_kind_t kind;
    } strops[] = {{"contains", S_CONTAINS},
                  {"starts_with", S_STARTS},
                  {"ends_with", S_ENDS},
                  {"matches", S_MATCH}};
    for (size_t i = 0; i < ED_ARRAY_SIZE(strops); i++) {
        if (!ed_where_lex_kw(&p->lx, strops[i].kw))
            continue;
        ed_where_lex_next(&p->lx);
        if (p->lx.tok.kind != ED_WT_STR) {
            char want[96];
            snprintf(want, sizeof want, "a \"string\" after '%s'", strops[i].kw);
            return ed_where_lex_expected(&p->lx, want);
        }
        n.kind = (uint8_t)strops[i].kind;
        n.arg = strops[i].kind == S_MATCH ? s_compile_regex(p) : s_add_lit(p->w, &p->lx.tok);
        if (n.arg < 0)
            return -1;
        ed_where_lex_next(&p->lx);
        return s_add_node(p, n);
    }
    return ed_where_lex_expected(
        &p->lx, "a comparison (==, !=, <, <=, >, >=), 'in', 'not in', 'is missing', "
                "'contains', 'starts_with', 'ends_with' or 'matches' after the field");
}

static int s_parse_unary(s_parser_t *p) {
    if (p->lx.tok.kind == ED_WT_ERROR)
        return -1;
    if (ed_where_lex_kw(&p->lx, "not") || p->lx.tok.kind == ED_WT_LPAREN) {
        if (++p->depth > ED_WHERE_MAX_DEPTH)
            return ed_where_lex_fail(&p->lx, p->lx.tok.off,
                                     "expression nested deeper than %d levels", ED_WHERE_MAX_DEPTH);
        int rc;
        if (p->lx.tok.kind == ED_WT_LPAREN) {
            size_t open = p->lx.tok.off;
            ed_where_lex_next(&p->lx);
            if ((rc = s_parse_or(p)) < 0)
                return -1;
            if (p->lx.tok.kind != ED_WT_RPAREN) {
                int line, col;
                ed_where_lex_linecol(&p->lx, open, &line, &col);
                char want[96];
                snprintf(want, sizeof want, "')' closing the '(' at %d:%d", line, col);
                return ed_where_lex_expected(&p->lx, want);
            }
            ed_where_lex_next(&p->lx);
        } else {
            ed_where_lex_next(&p->lx);
            if ((rc = s_parse_unary(p)) < 0)
                return -1;
            ed_where_t *w = p->w;
            w->kids = ed_realloc(w->kids, sizeof *w->kids * (size_t)(w->nkids + 1));
            w->kids[w->nkids] = rc;
            rc = s_add_node(p, (s_node_t){.kind = S_NOT, .arg = w->nkids++, .n = 1});
        }
        p->depth--;
        return rc;
    }
    return s_parse_predicate(p);
}

/* A run of operands joined by `kw` (and / or), each parsed by `sub`. */
static int s_parse_chain(s_parser_t *p, const char *kw, s_kind_t kind, int (*sub)(s_parser_t *)) {
    int first = sub(p);
    if (first < 0 || !ed_where_lex_kw(&p->lx, kw))
        return first;
    int *ops = ed_malloc(sizeof *ops);
    int nops = 1;
    ops[0] = first;
    while (ed_where_lex_kw(&p->lx, kw)) {
        ed_where_lex_next(&p->lx);
        int o = sub(p);
        if (o < 0) {
            free(ops);
            return -1;
        }
        ops = ed_realloc(ops, sizeof *ops * (size_t)(nops + 1));
        ops[nops++] = o;
    }
    ed_where_t *w = p->w;
    w->kids = ed_realloc(w->kids, sizeof *w->kids * (size_t)(w->nkids + nops));
    memcpy(w->kids + w->nkids, ops, sizeof *ops * (size_t)nops);
    free(ops);
    int rc = s_add_node(p, (s_node_t){.kind = (uint8_t)kind, .arg = w->nkids, .n = nops});
    w->nkids += nops;
    return rc;
}

static int s_parse_and(s_parser_t *p) {
    return s_parse_chain(p, "and", S_AND, s_parse_unary);
}

static int s_parse_or(s_parser_t *p) {
    return s_parse_chain(p, "or", S_OR, s_parse_and);
}

int ed_where_parse(const char *text, const ed_where_origin_t *origin, ed_where_t **w_p,
                   char *errstr, size_t errstr_size) {
    ed_where_t *w = ed_calloc(1, sizeof *w);
    w->text = ed_strdup(text ? text : "");
    s_parser_t p = {.w = w};
    ed_where_lex_init(&p.lx, w->text, origin, errstr, errstr_size);
    int root = -1;
    if (p.lx.tok.kind == ED_WT_END)
        ed_where_lex_fail(&p.lx, 0,
                          "empty expression; expected a condition such as status == \"failed\"");
    else if ((root = s_parse_or(&p)) >= 0 && p.lx.tok.kind != ED_WT_END)
        ed_where_lex_expected(&p.lx, "'and', 'or' or the end of the expression");
    ed_where_lex_free(&p.lx);
    if (p.lx.failed) {
        ed_where_destroy(&w);
        return ED_EINVAL;
    }
    w->root = root;
    *w_p = w;
    return 0;
}

void ed_where_destroy(ed_where_t **w_p) {
    if (!w_p || !*w_p)
        return;
    ed_where_t *w = *w_p;
    for (int i = 0; i < w->nlits; i++)
        free(w->lits[i].str);
    for (int i = 0; i < w->nre; i++)
        pcre2_code_free(w->re[i]);
    for (int i = 0; i < w->nfields; i++)
        free(w->fields[i].name);
    free(w->lits);
    free(w->lists);
    free(w->re);
    free(w->fields);
    free(w->nodes);
    free(w->kids);
    free(w->text);
    free(w);
    *w_p = NULL;
}

const char *ed_where_text(const ed_where_t *w) {
    return w->text;
}

int ed_where_nfields(const ed_where_t *w) {
    return w->nfields;
}

const char *ed_where_field(const ed_where_t *w, int i) {
    return w->fields[i].name;
}

void ed_where_field_pos(const ed_where_t *w, int i, int *line, int *col) {
    *line = w->fields[i].line;
    *col = w->fields[i].col;
}

/* -------------------------------------------------------------- evaluator */

ed_where_ctx_t *ed_where_ctx_new(const ed_where_t *w) {
    ed_where_ctx_t *cx = ed_calloc(1, sizeof *cx);
    cx->w = w;
    if (w->nre) {
        cx->md = pcre2_match_data_create(1, NULL);
        cx->mc = pcre2_match_context_create(NULL);
        if (!cx->md || !cx->mc) {
            ED_LOG_E("where", "out of memory creating PCRE2 match data");
            abort();
        }
        pcre2_set_match_limit(cx->mc, ED_WHERE_MATCH_LIMIT);
    }
    return cx;
}

void ed_where_ctx_destroy(ed_where_ctx_t **cx_p) {
    if (!cx_p || !*cx_p)
        return;
    pcre2_match_data_free((*cx_p)->md);
    pcre2_match_context_free((*cx_p)->mc);
    free(*cx_p);
    *cx_p = NULL;
}

const ed_where_counts_t *ed_where_ctx_counts(const ed_where_ctx_t *cx) {
    return &cx->counts;
}

static int s_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* Applies op to the ordering c (<0, 0, >0). */
static int s_op_holds(int op, int c) {
    switch (op) {
    case ED_WOP_EQ:
        return c == 0;
    case ED_WOP_NE:
        return c != 0;
    case ED_WOP_LT:
        return c < 0;
    case ED_WOP_LE:
        return c <= 0;
    case ED_WOP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static int s_is_absent(const ed_val_t *v) {
    return v->type == ED_VAL_MISSING || v->type == ED_VAL_NULL;
}

/* Compares two present values of one comparable type; -2 if they are not
 * comparable under op (another type, an object, ordered booleans). */
static int s_compare(int op, ed_val_type_t at, double an, const char *as, size_t al,
                     ed_val_type_t bt, double bn, const char *bs, size_t bl) {
    if (at != bt)
        return -2;
    switch (at) {
    case ED_VAL_NUMBER:
        return s_op_holds(op, (an > bn) - (an < bn));
    case ED_VAL_STRING:
        return s_op_holds(op, s_bytes_cmp(as, al, bs, bl));
    case ED_VAL_BOOL:
        if (op != ED_WOP_EQ && op != ED_WOP_NE)
            return -2;
        return s_op_holds(op, (an > bn) - (an < bn));
    default:
        return -2;
    }
}

/* 1 if the list holds a value equal to v (of v's type); -2 if the list has
 * no value of that type at all. */
static int s_in_list(const ed_where_t *w, const s_list_t *l, const ed_val_t *v) {
    if (v->type == ED_VAL_BOOL)
        return l->bools ? (l->bools >> (v->num != 0)) & 1 : -2;
    if (v->type != ED_VAL_NUMBER && v->type != ED_VAL_STRING)
        return -2;
    int lo = v->type == ED_VAL_STRING ? l->str0 : l->num0;
    int n = v->type == ED_VAL_STRING ? l->nstr : l->nnum;
    if (!n)
        return -2;
    s_lit_t key = {.type = v->type, .num = v->num, .str = (char *)v->ptr, .len = v->len};
    int hi = lo + n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = s_cmp_lit(&key, &w->lits[mid]);
        if (!c)
            return 1;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return 0;
}

static int s_eval(ed_where_ctx_t *cx, int ni, const ed_val_t *vals) {
    const ed_where_t *w = cx->w;
    const s_node_t *n = &w->nodes[ni];
    switch (n->kind) {
    case S_OR:
        for (int i = 0; i < n->n; i++)
            if (s_eval(cx, w->kids[n->arg + i], vals))
                return 1;
        return 0;
    case S_AND:
        for (int i = 0; i < n->n; i++)
            if (!s_eval(cx, w->kids[n->arg + i], vals))
                return 0;
        return 1;
    case S_NOT:
        return !s_eval(cx, w->kids[n->arg], vals);
    default:
        break;
    }
    const ed_val_t *v = &vals[n->field];
    if (n->kind == S_MISSING)
        return s_is_absent(v) != n->neg;
    if (s_is_absent(v) || (n->kind == S_CMPF && s_is_absent(&vals[n->arg]))) {
        cx->counts.missing++;
        return 0;
    }
    int r;
    ed_val_t modded;
    if (n->mod != 0 && (n->kind == S_CMP || n->kind == S_CMPF)) {
        if (v->type != ED_VAL_NUMBER) {
            cx->counts.wrong_type++;
            return 0;
        }
        modded = (ed_val_t){.type = ED_VAL_NUMBER, .num = ed_where_mod(v->num, n->mod)};
        v = &modded;
    }
    switch (n->kind) {
    case S_CMP: {
        const s_lit_t *l = &w->lits[n->arg];
        r = s_compare(n->op, v->type, v->num, v->ptr, v->len, l->type, l->num, l->str, l->len);
        break;
    }
    case S_CMPF: {
        const ed_val_t *b = &vals[n->arg];
        r = s_compare(n->op, v->type, v->num, v->ptr, v->len, b->type, b->num, b->ptr, b->len);
        break;
    }
    case S_IN:
        r = s_in_list(w, &w->lists[n->arg], v);
        if (r >= 0)
            r = r != n->neg;
        break;
    case S_MATCH: {
        if (v->type != ED_VAL_STRING) {
            r = -2;
            break;
        }
        int rc = pcre2_match(w->re[n->arg], (PCRE2_SPTR)(v->ptr ? v->ptr : ""), v->len, 0, 0,
                             cx->md, cx->mc);
        if (rc >= 0 || rc == PCRE2_ERROR_NOMATCH)
            return rc >= 0;
        cx->counts.regex_failed++;
        return 0;
    }
    default: { /* contains, starts_with, ends_with */
        if (v->type != ED_VAL_STRING) {
            r = -2;
            break;
        }
        const s_lit_t *l = &w->lits[n->arg];
        if (l->len > v->len)
            return 0;
        if (n->kind == S_STARTS)
            return !memcmp(v->ptr, l->str, l->len);
        if (n->kind == S_ENDS)
            return !memcmp(v->ptr + v->len - l->len, l->str, l->len);
        return !l->len || memmem(v->ptr, v->len, l->str, l->len) != NULL;
    }
    }
    if (r == -2) {
        cx->counts.wrong_type++;
        return 0;
    }
    return r;
}

int ed_where_eval(ed_where_ctx_t *cx, const ed_val_t *vals) {
    cx->counts.evals++;
    int r = s_eval(cx, cx->w->root, vals);
    cx->counts.passed += (uint64_t)r;
    return r;
}
