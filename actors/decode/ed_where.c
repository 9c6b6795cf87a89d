/* ed_where.c — see ed_where.h.
 *
 * A recursive-descent parser builds a small tree in one node array: `and`
 * and `or` are n-ary (their operands are a run of the kids[] array), so a
 * long chain of `or` is one level deep and only parentheses and `not` add
 * depth, which ED_WHERE_MAX_DEPTH bounds (the evaluator recurses). Literal
 * lists of `in` are sorted per type at parse time and searched by bisection.
 */
#define _GNU_SOURCE
#include "actors/decode/ed_where.h"

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
    S_CMP,     /* field OP literal */
    S_CMPF,    /* field OP field */
    S_IN,      /* field [not] in [list] */
    S_MISSING, /* field is [not] missing */
    S_CONTAINS,
    S_STARTS,
    S_ENDS,
    S_MATCH,
} s_kind_t;

typedef enum { S_EQ = 1, S_NE, S_LT, S_LE, S_GT, S_GE } s_op_t;

typedef struct {
    uint8_t kind; /* s_kind_t */
    uint8_t op;   /* S_CMP/S_CMPF: s_op_t */
    uint8_t neg;  /* S_IN: `not in`; S_MISSING: `is not missing` */
    int field;    /* leaf: index into fields[] */
    int arg;      /* S_CMP, string ops: literal; S_CMPF: 2nd field; S_IN: list; S_MATCH: regex;
                     S_AND/S_OR/S_NOT: first operand in kids[] */
    int n;        /* S_AND/S_OR: operand count; S_NOT: 1 */
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

/* ------------------------------------------------------------------ lexer */

typedef enum {
    T_END = 1,
    T_LPAREN,
    T_RPAREN,
    T_LBRACK,
    T_RBRACK,
    T_COMMA,
    T_OP,    /* comparison; op in tok.op */
    T_NUM,   /* num */
    T_STR,   /* str/len (decoded) */
    T_NAME,  /* a field name or keyword: text/len; quoted = from `backquotes` */
    T_ERROR, /* a lexical error; the message is already in the parser */
} s_tok_kind_t;

typedef struct {
    s_tok_kind_t kind;
    size_t off, end; /* byte span in the text */
    s_op_t op;
    double num;
    char *str; /* T_STR / quoted T_NAME: decoded (owned by the parser's scratch) */
    size_t len;
    int quoted;
} s_tok_t;

typedef struct {
    ed_where_t *w;
    const char *s;
    size_t n, pos;
    const ed_where_origin_t *origin;
    s_tok_t tok;     /* the current token */
    ed_buf_t sbuf;   /* decoded string of the current token */
    int depth;
    char *errstr;
    size_t errsz;
    int failed;
} s_parser_t;

static const char *const s_keywords[] = {"and",     "or",          "not",       "in",
                                         "is",      "missing",     "contains",  "starts_with",
                                         "ends_with", "matches",   "true",      "false",
                                         "null"};

/* Line and column of byte offset `off`, counted from the origin; columns
 * count characters (UTF-8 continuation bytes are skipped), as libyaml does. */
static void s_linecol(const s_parser_t *p, size_t off, int *line, int *col) {
    int l = p->origin && p->origin->line > 0 ? p->origin->line : 1;
    int c = p->origin && p->origin->col > 0 ? p->origin->col : 1;
    for (size_t i = 0; i < off && i < p->n; i++) {
        unsigned char ch = (unsigned char)p->s[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* How the token at hand reads in an error: 'text' or "the end of the expression". */
static void s_tok_desc(const s_parser_t *p, const s_tok_t *t, char *buf, size_t size) {
    if (t->kind == T_END) {
        snprintf(buf, size, "the end of the expression");
        return;
    }
    size_t len = t->end - t->off;
    snprintf(buf, size, "'%.*s%s'", (int)(len > 40 ? 40 : len), p->s + t->off,
             len > 40 ? "…" : "");
}

/* Records the first error: "FILE:L:C: in WHAT: MESSAGE". Returns -1. */
static int s_fail_at(s_parser_t *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail_at(s_parser_t *p, size_t off, const char *fmt, ...) {
    if (p->failed)
        return -1;
    p->failed = 1;
    int line, col;
    s_linecol(p, off, &line, &col);
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *what = p->origin ? p->origin->what : NULL;
    ed_seterr(p->errstr, p->errsz, ED_EINVAL, "%s:%d:%d: %s%s%s%s",
              p->origin && p->origin->file ? p->origin->file : "expression", line, col,
              what ? "in " : "", what ? what : "", what ? ": " : "", msg);
    return -1;
}

/* "found X; expected WANT[HINT]" at the current token. */
static int s_expected(s_parser_t *p, const char *want) {
    char found[96];
    s_tok_desc(p, &p->tok, found, sizeof found);
    const char *hint = "";
    const s_tok_t *t = &p->tok;
    if (t->kind == T_NAME && !t->quoted) {
        static const char *const upper[] = {"AND", "OR", "NOT", "IN", "IS", "MISSING", "TRUE",
                                            "FALSE", "And", "Or", "Not", "In"};
        for (size_t i = 0; i < ED_ARRAY_SIZE(upper); i++)
            if (t->len == strlen(upper[i]) && !memcmp(p->s + t->off, upper[i], t->len))
                hint = " (keywords are lowercase)";
        if (t->len == 4 && !memcmp(p->s + t->off, "null", 4))
            hint = " (to test for null write 'FIELD is missing')";
    }
    return s_fail_at(p, p->tok.off, "found %s; expected %s%s", found, want, hint);
}

static int s_is_name_start(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int s_is_name_char(int c) {
    return s_is_name_start(c) || (c >= '0' && c <= '9');
}

/* Reads a quoted string (double or single quotes) at p->pos into p->sbuf. */
static int s_lex_string(s_parser_t *p, s_tok_t *t) {
    char q = p->s[p->pos];
    size_t i = p->pos + 1;
    ed_buf_reset(&p->sbuf);
    for (;;) {
        if (i >= p->n)
            return s_fail_at(p, t->off,
                             "unterminated string: the %s quote here has no closing quote",
                             q == '"' ? "double" : "single");
        char c = p->s[i];
        if (c == q)
            break;
        /* A backslash escapes the quote and itself; any other stays, so a
         * regex like "\d+" reads as PCRE2 would read it. */
        if (c == '\\' && i + 1 < p->n && (p->s[i + 1] == q || p->s[i + 1] == '\\')) {
            ed_buf_append(&p->sbuf, &p->s[i + 1], 1);
            i += 2;
            continue;
        }
        ed_buf_append(&p->sbuf, &c, 1);
        i++;
    }
    p->pos = i + 1;
    t->kind = T_STR;
    t->str = p->sbuf.data ? p->sbuf.data : "";
    t->len = p->sbuf.len;
    return 0;
}

/* Reads a number: -?digits[.digits][(e|E)[+-]digits]. */
static int s_lex_number(s_parser_t *p, s_tok_t *t) {
    size_t i = p->pos;
    if (p->s[i] == '-' || p->s[i] == '+')
        i++;
    size_t d0 = i;
    while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
        i++;
    int ok = i > d0;
    if (i < p->n && p->s[i] == '.') {
        size_t f0 = ++i;
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
        ok = ok && i > f0;
    }
    if (ok && i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        size_t e = i + 1;
        if (e < p->n && (p->s[e] == '+' || p->s[e] == '-'))
            e++;
        size_t e0 = e;
        while (e < p->n && p->s[e] >= '0' && p->s[e] <= '9')
            e++;
        if (e > e0)
            i = e;
        else
            ok = 0;
    }
    if (ok && i < p->n && s_is_name_char((unsigned char)p->s[i]))
        ok = 0; /* 12abc */
    while (!ok && i < p->n && (s_is_name_char((unsigned char)p->s[i]) || p->s[i] == '.'))
        i++;
    t->end = i;
    if (!ok)
        return s_fail_at(p, t->off, "invalid number '%.*s'; expected digits as in 12, -3.5, 1e6",
                         (int)(i - t->off), p->s + t->off);
    char buf[64];
    if (i - t->off >= sizeof buf)
        return s_fail_at(p, t->off, "number '%.*s' is too long", (int)(i - t->off),
                         p->s + t->off);
    memcpy(buf, p->s + t->off, i - t->off);
    buf[i - t->off] = '\0';
    errno = 0;
    t->num = strtod(buf, NULL);
    if (!isfinite(t->num))
        return s_fail_at(p, t->off, "number '%s' is out of range", buf);
    t->kind = T_NUM;
    p->pos = i;
    return 0;
}

/* Reads a field name: name(.name)*, @name, or `anything but a backquote`. */
static int s_lex_name(s_parser_t *p, s_tok_t *t) {
    size_t i = p->pos;
    ed_buf_reset(&p->sbuf);
    if (p->s[i] == '`') {
        size_t j = i + 1;
        while (j < p->n && p->s[j] != '`')
            j++;
        if (j >= p->n)
            return s_fail_at(p, t->off, "unterminated `quoted field name`: no closing backquote");
        if (j == i + 1)
            return s_fail_at(p, t->off, "empty `quoted field name`");
        ed_buf_append(&p->sbuf, p->s + i + 1, j - i - 1);
        p->pos = j + 1;
        t->quoted = 1;
    } else {
        if (p->s[i] == '@')
            i++;
        for (;;) {
            while (i < p->n && s_is_name_char((unsigned char)p->s[i]))
                i++;
            if (i + 1 < p->n && p->s[i] == '.' && s_is_name_char((unsigned char)p->s[i + 1]))
                i++;
            else
                break;
        }
        if (i == p->pos + 1 && p->s[p->pos] == '@')
            return s_fail_at(p, t->off, "'@' must be followed by a meta field name such as @key");
        ed_buf_append(&p->sbuf, p->s + p->pos, i - p->pos);
        p->pos = i;
    }
    t->kind = T_NAME;
    t->str = p->sbuf.data;
    t->len = p->sbuf.len;
    return 0;
}

/* Advances to the next token (p->tok). On a lexical error the token is
 * T_ERROR and the error is recorded. */
static void s_next(s_parser_t *p) {
    while (p->pos < p->n && strchr(" \t\r\n", p->s[p->pos]))
        p->pos++;
    s_tok_t *t = &p->tok;
    *t = (s_tok_t){.kind = T_END, .off = p->pos};
    if (p->pos >= p->n) {
        t->end = p->pos;
        return;
    }
    const char *c = p->s + p->pos;
    static const struct {
        const char *text;
        s_tok_kind_t kind;
        s_op_t op;
    } punct[] = {{"==", T_OP, S_EQ}, {"!=", T_OP, S_NE},    {"<=", T_OP, S_LE},
                 {">=", T_OP, S_GE}, {"<", T_OP, S_LT},     {">", T_OP, S_GT},
                 {"(", T_LPAREN, 0}, {")", T_RPAREN, 0},    {"[", T_LBRACK, 0},
                 {"]", T_RBRACK, 0}, {",", T_COMMA, 0}};
    static const struct {
        const char *text, *say;
    } wrong[] = {{"<>", "'!='"}, {"=", "'=='"}, {"&&", "'and'"}, {"||", "'or'"},
                 {"!", "'not' or '!='"}, {"&", "'and'"}, {"|", "'or'"}};
    int rc = 0;
    for (size_t i = 0; i < ED_ARRAY_SIZE(wrong); i++) {
        size_t l = strlen(wrong[i].text);
        if (p->pos + l <= p->n && !memcmp(c, wrong[i].text, l) &&
            !(l == 1 && p->pos + 1 < p->n && c[1] == '=')) {
            t->kind = T_ERROR;
            t->end = p->pos + l;
            s_fail_at(p, t->off, "found '%s'; did you mean %s?", wrong[i].text, wrong[i].say);
            return;
        }
    }
    for (size_t i = 0; i < ED_ARRAY_SIZE(punct); i++) {
        size_t l = strlen(punct[i].text);
        if (p->pos + l <= p->n && !memcmp(c, punct[i].text, l)) {
            t->kind = punct[i].kind;
            t->op = punct[i].op;
            p->pos += l;
            t->end = p->pos;
            return;
        }
    }
    if (*c == '"' || *c == '\'')
        rc = s_lex_string(p, t);
    else if ((*c >= '0' && *c <= '9') ||
             ((*c == '-' || *c == '+') && p->pos + 1 < p->n && c[1] >= '0' && c[1] <= '9'))
        rc = s_lex_number(p, t);
    else if (s_is_name_start((unsigned char)*c) || *c == '@' || *c == '`')
        rc = s_lex_name(p, t);
    else {
        unsigned char u = (unsigned char)*c;
        size_t l = 1;
        while (u >= 0x80 && p->pos + l < p->n && ((unsigned char)c[l] & 0xC0) == 0x80)
            l++;
        rc = s_fail_at(p, t->off,
                       "unexpected character '%.*s'; expected a field name, a value, a "
                       "comparison, '(' or ')'",
                       (int)l, c);
    }
    if (rc < 0) {
        t->kind = T_ERROR;
        return;
    }
    t->end = p->pos;
}

/* 1 if the current token is the keyword kw (not a `quoted` name). */
static int s_kw(const s_parser_t *p, const char *kw) {
    const s_tok_t *t = &p->tok;
    return t->kind == T_NAME && !t->quoted && t->len == strlen(kw) && !memcmp(t->str, kw, t->len);
}

static int s_is_keyword(const s_tok_t *t) {
    if (t->kind != T_NAME || t->quoted)
        return 0;
    for (size_t i = 0; i < ED_ARRAY_SIZE(s_keywords); i++)
        if (t->len == strlen(s_keywords[i]) && !memcmp(t->str, s_keywords[i], t->len))
            return 1;
    return 0;
}

/* ----------------------------------------------------------------- parser */

static int s_add_node(s_parser_t *p, s_node_t n) {
    ed_where_t *w = p->w;
    w->nodes = ed_realloc(w->nodes, sizeof *w->nodes * (size_t)(w->nnodes + 1));
    w->nodes[w->nnodes] = n;
    return w->nnodes++;
}

/* The literal of a number, string, true or false token (string copied). */
static s_lit_t s_lit_of(const s_tok_t *t) {
    s_lit_t l = {0};
    if (t->kind == T_STR) {
        l.type = ED_VAL_STRING;
        l.str = ed_malloc(t->len + 1);
        memcpy(l.str, t->str, t->len);
        l.str[t->len] = '\0';
        l.len = t->len;
    } else if (t->kind == T_NUM) {
        l.type = ED_VAL_NUMBER;
        l.num = t->num;
    } else {
        l.type = ED_VAL_BOOL;
        l.num = t->str[0] == 't';
    }
    return l;
}

static int s_add_lit(ed_where_t *w, const s_tok_t *t) {
    w->lits = ed_realloc(w->lits, sizeof *w->lits * (size_t)(w->nlits + 1));
    w->lits[w->nlits] = s_lit_of(t);
    return w->nlits++;
}

/* Field index for the name token at hand (added on first use). */
static int s_field(s_parser_t *p) {
    ed_where_t *w = p->w;
    for (int i = 0; i < w->nfields; i++)
        if (strlen(w->fields[i].name) == p->tok.len && !memcmp(w->fields[i].name, p->tok.str, p->tok.len))
            return i;
    w->fields = ed_realloc(w->fields, sizeof *w->fields * (size_t)(w->nfields + 1));
    s_field_t *f = &w->fields[w->nfields];
    f->name = ed_strndup(p->tok.str, p->tok.len);
    s_linecol(p, p->tok.off, &f->line, &f->col);
    return w->nfields++;
}

/* 1 if the token is a literal value (number, string, true, false). */
static int s_is_literal(const s_parser_t *p) {
    return p->tok.kind == T_NUM || p->tok.kind == T_STR || s_kw(p, "true") || s_kw(p, "false");
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
    if (p->tok.kind != T_LBRACK)
        return s_expected(p, "'[' starting a list of values, e.g. in [\"a\", \"b\"]");
    s_next(p);
    s_list_t list = {0};
    s_lit_t *tmp = NULL;
    int ntmp = 0;
    for (;;) {
        if (p->tok.kind == T_RBRACK && ntmp + list.bools > 0)
            break; /* a trailing comma */
        if (!s_is_literal(p)) {
            s_expected(p, "a value in the list (a number, a \"string\", true or false)");
            goto fail;
        }
        if (p->tok.kind == T_NAME) {
            list.bools |= 1 << (p->tok.str[0] == 't');
        } else {
            tmp = ed_realloc(tmp, sizeof *tmp * (size_t)(ntmp + 1));
            tmp[ntmp++] = s_lit_of(&p->tok);
        }
        s_next(p);
        if (p->tok.kind == T_COMMA) {
            s_next(p);
            continue;
        }
        if (p->tok.kind == T_RBRACK)
            break;
        s_expected(p, "',' or ']'");
        goto fail;
    }
    s_next(p);
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
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)p->tok.str, p->tok.len,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &errcode,
                                   &erroff, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        return s_fail_at(p, p->tok.off,
                         "invalid regular expression %.*s: %s at offset %zu of the pattern",
                         (int)(p->tok.end - p->tok.off), p->s + p->tok.off, (const char *)msg,
                         (size_t)erroff);
    }
    /* JIT where the library has it; without it pcre2_match interprets. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    w->re = ed_realloc(w->re, sizeof *w->re * (size_t)(w->nre + 1));
    w->re[w->nre] = re;
    return w->nre++;
}

static int s_parse_or(s_parser_t *p);

/* predicate := field (CMP operand | [not] in [...] | is [not] missing | STROP string) */
static int s_parse_predicate(s_parser_t *p) {
    if (p->tok.kind != T_NAME || s_is_keyword(&p->tok)) {
        if (s_is_literal(p))
            return s_expected(p, "a field name (the field goes on the left: amount > 100)");
        return s_expected(p, "a field name, 'not' or '('");
    }
    s_node_t n = {.field = s_field(p)};
    s_next(p);
    if (p->tok.kind == T_OP) {
        n.op = (uint8_t)p->tok.op;
        size_t op_off = p->tok.off, op_len = p->tok.end - p->tok.off;
        s_next(p);
        if (s_is_literal(p)) {
            if (p->tok.kind == T_NAME && n.op != S_EQ && n.op != S_NE)
                return s_fail_at(p, op_off,
                                 "booleans compare with == and != only, not with '%.*s'",
                                 (int)op_len, p->s + op_off);
            n.kind = S_CMP;
            n.arg = s_add_lit(p->w, &p->tok);
        } else if (p->tok.kind == T_NAME && !s_is_keyword(&p->tok)) {
            n.kind = S_CMPF;
            n.arg = s_field(p);
        } else {
            return s_expected(p, "a value (a number, a \"string\", true or false) or a field");
        }
        s_next(p);
        return s_add_node(p, n);
    }
    if (s_kw(p, "not") || s_kw(p, "in")) {
        if (s_kw(p, "not")) {
            s_next(p);
            if (!s_kw(p, "in"))
                return s_expected(p, "'in' after 'not' (FIELD not in [...])");
            n.neg = 1;
        }
        s_next(p);
        n.kind = S_IN;
        if ((n.arg = s_parse_list(p)) < 0)
            return -1;
        return s_add_node(p, n);
    }
    if (s_kw(p, "is")) {
        s_next(p);
        if (s_kw(p, "not")) {
            n.neg = 1;
            s_next(p);
        }
        if (!s_kw(p, "missing"))
            return s_expected(p, n.neg ? "'missing'" : "'missing' or 'not missing'");
        s_next(p);
        n.kind = S_MISSING;
        return s_add_node(p, n);
    }
    static const struct {
        const char *kw;
        s_kind_t kind;
    } strops[] = {{"contains", S_CONTAINS}, {"starts_with", S_STARTS}, {"ends_with", S_ENDS},
                  {"matches", S_MATCH}};
    for (size_t i = 0; i < ED_ARRAY_SIZE(strops); i++) {
        if (!s_kw(p, strops[i].kw))
            continue;
        s_next(p);
        if (p->tok.kind != T_STR) {
            char want[96];
            snprintf(want, sizeof want, "a \"string\" after '%s'", strops[i].kw);
            return s_expected(p, want);
        }
        n.kind = (uint8_t)strops[i].kind;
        n.arg = strops[i].kind == S_MATCH ? s_compile_regex(p) : s_add_lit(p->w, &p->tok);
        if (n.arg < 0)
            return -1;
        s_next(p);
        return s_add_node(p, n);
    }
    return s_expected(p, "a comparison (==, !=, <, <=, >, >=), 'in', 'not in', 'is missing', "
                         "'contains', 'starts_with', 'ends_with' or 'matches' after the field");
}

static int s_parse_unary(s_parser_t *p) {
    if (p->tok.kind == T_ERROR)
        return -1;
    if (s_kw(p, "not") || p->tok.kind == T_LPAREN) {
        if (++p->depth > ED_WHERE_MAX_DEPTH)
            return s_fail_at(p, p->tok.off, "expression nested deeper than %d levels",
                             ED_WHERE_MAX_DEPTH);
        int rc;
        if (p->tok.kind == T_LPAREN) {
            size_t open = p->tok.off;
            s_next(p);
            if ((rc = s_parse_or(p)) < 0)
                return -1;
            if (p->tok.kind != T_RPAREN) {
                int line, col;
                s_linecol(p, open, &line, &col);
                char want[96];
                snprintf(want, sizeof want, "')' closing the '(' at %d:%d", line, col);
                return s_expected(p, want);
            }
            s_next(p);
        } else {
            s_next(p);
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
static int s_parse_chain(s_parser_t *p, const char *kw, s_kind_t kind,
                         int (*sub)(s_parser_t *)) {
    int first = sub(p);
    if (first < 0 || !s_kw(p, kw))
        return first;
    int *ops = ed_malloc(sizeof *ops);
    int nops = 1;
    ops[0] = first;
    while (s_kw(p, kw)) {
        s_next(p);
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
    s_parser_t p = {.w = w, .s = w->text, .n = strlen(w->text), .origin = origin,
                    .errstr = errstr, .errsz = errstr_size};
    s_next(&p);
    int root = -1;
    if (p.tok.kind == T_END)
        s_fail_at(&p, 0, "empty expression; expected a condition such as status == \"failed\"");
    else if ((root = s_parse_or(&p)) >= 0 && p.tok.kind != T_END)
        s_expected(&p, "'and', 'or' or the end of the expression");
    ed_buf_free(&p.sbuf);
    if (p.failed) {
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
    case S_EQ: return c == 0;
    case S_NE: return c != 0;
    case S_LT: return c < 0;
    case S_LE: return c <= 0;
    case S_GT: return c > 0;
    default: return c >= 0;
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
    case ED_VAL_NUMBER: return s_op_holds(op, (an > bn) - (an < bn));
    case ED_VAL_STRING: return s_op_holds(op, s_bytes_cmp(as, al, bs, bl));
    case ED_VAL_BOOL:
        if (op != S_EQ && op != S_NE)
            return -2;
        return s_op_holds(op, (an > bn) - (an < bn));
    default: return -2;
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
    case S_NOT: return !s_eval(cx, w->kids[n->arg], vals);
    default: break;
    }
    const ed_val_t *v = &vals[n->field];
    if (n->kind == S_MISSING)
        return s_is_absent(v) != n->neg;
    if (s_is_absent(v) || (n->kind == S_CMPF && s_is_absent(&vals[n->arg]))) {
        cx->counts.missing++;
        return 0;
    }
    int r;
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
