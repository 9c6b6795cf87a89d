/* ed_where_lex.c — see ed_where_lex.h. */
#define _GNU_SOURCE
#include "actors/decode/ed_where_lex.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

static const char *const s_keywords[] = {
    "and",         "or",        "not",     "in",   "is",    "missing", "contains",
    "starts_with", "ends_with", "matches", "true", "false", "null"};

/* Line and column of byte offset `off`, counted from the origin; columns
 * count characters (UTF-8 continuation bytes are skipped), as libyaml does. */
void ed_where_lex_linecol(const ed_where_lex_t *p, size_t off, int *line, int *col) {
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
static void s_tok_desc(const ed_where_lex_t *p, const ed_where_tok_t *t, char *buf, size_t size) {
    if (t->kind == ED_WT_END) {
        snprintf(buf, size, "the end of the expression");
        return;
    }
    size_t len = t->end - t->off;
    snprintf(buf, size, "'%.*s%s'", (int)(len > 40 ? 40 : len), p->s + t->off, len > 40 ? "…" : "");
}

/* Records the first error: "FILE:L:C: in WHAT: MESSAGE". Returns -1. */
int ed_where_lex_fail(ed_where_lex_t *p, size_t off, const char *fmt, ...) {
    if (p->failed)
        return -1;
    p->failed = 1;
    int line, col;
    ed_where_lex_linecol(p, off, &line, &col);
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
int ed_where_lex_expected(ed_where_lex_t *p, const char *want) {
    char found[96];
    s_tok_desc(p, &p->tok, found, sizeof found);
    const char *hint = "";
    const ed_where_tok_t *t = &p->tok;
    if (t->kind == ED_WT_NAME && !t->quoted) {
        static const char *const upper[] = {"AND",  "OR",    "NOT", "IN", "IS",  "MISSING",
                                            "TRUE", "FALSE", "And", "Or", "Not", "In"};
        for (size_t i = 0; i < ED_ARRAY_SIZE(upper); i++)
            if (t->len == strlen(upper[i]) && !memcmp(p->s + t->off, upper[i], t->len))
                hint = " (keywords are lowercase)";
        if (t->len == 4 && !memcmp(p->s + t->off, "null", 4))
            hint = " (to test for null write 'FIELD is missing')";
    }
    return ed_where_lex_fail(p, p->tok.off, "found %s; expected %s%s", found, want, hint);
}

static int s_is_name_start(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int s_is_name_char(int c) {
    return s_is_name_start(c) || (c >= '0' && c <= '9');
}

/* Reads a quoted string (double or single quotes) at p->pos into p->sbuf. */
static int s_lex_string(ed_where_lex_t *p, ed_where_tok_t *t) {
    char q = p->s[p->pos];
    size_t i = p->pos + 1;
    ed_buf_reset(&p->sbuf);
    for (;;) {
        if (i >= p->n)
            return ed_where_lex_fail(p, t->off,
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
    t->kind = ED_WT_STR;
    t->str = p->sbuf.data ? p->sbuf.data : "";
    t->len = p->sbuf.len;
    return 0;
}

/* Reads a number: -?digits[.digits][(e|E)[+-]digits]. */
static int s_lex_number(ed_where_lex_t *p, ed_where_tok_t *t) {
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
        return ed_where_lex_fail(p, t->off,
                                 "invalid number '%.*s'; expected digits as in 12, -3.5, 1e6",
                                 (int)(i - t->off), p->s + t->off);
    char buf[64];
    if (i - t->off >= sizeof buf)
        return ed_where_lex_fail(p, t->off, "number '%.*s' is too long", (int)(i - t->off),
                                 p->s + t->off);
    memcpy(buf, p->s + t->off, i - t->off);
    buf[i - t->off] = '\0';
    errno = 0;
    t->num = strtod(buf, NULL);
    if (!isfinite(t->num))
        return ed_where_lex_fail(p, t->off, "number '%s' is out of range", buf);
    t->kind = ED_WT_NUM;
    p->pos = i;
    return 0;
}

/* Reads a field name: name(.name)*, @name, or `anything but a backquote`. */
static int s_lex_name(ed_where_lex_t *p, ed_where_tok_t *t) {
    size_t i = p->pos;
    ed_buf_reset(&p->sbuf);
    if (p->s[i] == '`') {
        size_t j = i + 1;
        while (j < p->n && p->s[j] != '`')
            j++;
        if (j >= p->n)
            return ed_where_lex_fail(p, t->off,
                                     "unterminated `quoted field name`: no closing backquote");
        if (j == i + 1)
            return ed_where_lex_fail(p, t->off, "empty `quoted field name`");
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
            return ed_where_lex_fail(p, t->off,
                                     "'@' must be followed by a meta field name such as @key");
        ed_buf_append(&p->sbuf, p->s + p->pos, i - p->pos);
        p->pos = i;
    }
    t->kind = ED_WT_NAME;
    t->str = p->sbuf.data;
    t->len = p->sbuf.len;
    return 0;
}

/* Advances to the next token (p->tok). On a lexical error the token is
 * ED_WT_ERROR and the error is recorded. */
void ed_where_lex_next(ed_where_lex_t *p) {
    while (p->pos < p->n && strchr(" \t\r\n", p->s[p->pos]))
        p->pos++;
    ed_where_tok_t *t = &p->tok;
    *t = (ed_where_tok_t){.kind = ED_WT_END, .off = p->pos};
    if (p->pos >= p->n) {
        t->end = p->pos;
        return;
    }
    const char *c = p->s + p->pos;
    static const struct {
        const char *text;
        ed_where_tok_kind_t kind;
        ed_where_op_t op;
    } punct[] = {
        {"==", ED_WT_OP, ED_WOP_EQ}, {"!=", ED_WT_OP, ED_WOP_NE}, {"<=", ED_WT_OP, ED_WOP_LE},
        {">=", ED_WT_OP, ED_WOP_GE}, {"<", ED_WT_OP, ED_WOP_LT},  {">", ED_WT_OP, ED_WOP_GT},
        {"(", ED_WT_LPAREN, 0},      {")", ED_WT_RPAREN, 0},      {"[", ED_WT_LBRACK, 0},
        {"]", ED_WT_RBRACK, 0},      {",", ED_WT_COMMA, 0}};
    static const struct {
        const char *text, *say;
    } wrong[] = {{"<>", "'!='"},         {"=", "'=='"},  {"&&", "'and'"}, {"||", "'or'"},
                 {"!", "'not' or '!='"}, {"&", "'and'"}, {"|", "'or'"}};
    int rc = 0;
    /* '%' in both languages: `where` reads `field % N CMP value` */
    if ((p->arith && strchr("+-*/%", *c)) || *c == '%') {
        t->kind = ED_WT_ARITH;
        t->aop = *c;
        t->end = ++p->pos;
        return;
    }
    for (size_t i = 0; i < ED_ARRAY_SIZE(wrong); i++) {
        size_t l = strlen(wrong[i].text);
        if (p->pos + l <= p->n && !memcmp(c, wrong[i].text, l) &&
            !(l == 1 && p->pos + 1 < p->n && c[1] == '=')) {
            t->kind = ED_WT_ERROR;
            t->end = p->pos + l;
            ed_where_lex_fail(p, t->off, "found '%s'; did you mean %s?", wrong[i].text,
                              wrong[i].say);
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
             (!p->arith && (*c == '-' || *c == '+') && p->pos + 1 < p->n && c[1] >= '0' && c[1] <= '9'))
        rc = s_lex_number(p, t);
    else if (s_is_name_start((unsigned char)*c) || *c == '@' || *c == '`')
        rc = s_lex_name(p, t);
    else {
        unsigned char u = (unsigned char)*c;
        size_t l = 1;
        while (u >= 0x80 && p->pos + l < p->n && ((unsigned char)c[l] & 0xC0) == 0x80)
            l++;
        rc = ed_where_lex_fail(p, t->off,
                               "unexpected character '%.*s'; expected a field name, a value, a "
                               "comparison, '(' or ')'",
                               (int)l, c);
    }
    if (rc < 0) {
        t->kind = ED_WT_ERROR;
        return;
    }
    t->end = p->pos;
}

/* 1 if the current token is the keyword kw (not a `quoted` name). */
int ed_where_lex_kw(const ed_where_lex_t *p, const char *kw) {
    const ed_where_tok_t *t = &p->tok;
    return t->kind == ED_WT_NAME && !t->quoted && t->len == strlen(kw) &&
           !memcmp(t->str, kw, t->len);
}

int ed_where_lex_is_keyword(const ed_where_tok_t *t) {
    if (t->kind != ED_WT_NAME || t->quoted)
        return 0;
    for (size_t i = 0; i < ED_ARRAY_SIZE(s_keywords); i++)
        if (t->len == strlen(s_keywords[i]) && !memcmp(t->str, s_keywords[i], t->len))
            return 1;
    return 0;
}

void ed_where_lex_init(ed_where_lex_t *p, const char *text, const ed_where_origin_t *origin,
                       char *errstr, size_t errstr_size) {
    *p = (ed_where_lex_t){
        .s = text, .n = strlen(text), .origin = origin, .errstr = errstr, .errsz = errstr_size};
    ed_where_lex_next(p);
}

void ed_where_lex_init_arith(ed_where_lex_t *p, const char *text, const ed_where_origin_t *origin,
                             char *errstr, size_t errstr_size) {
    *p = (ed_where_lex_t){.s = text,
                          .n = strlen(text),
                          .origin = origin,
                          .errstr = errstr,
                          .errsz = errstr_size,
                          .arith = 1};
    ed_where_lex_next(p);
}

void ed_where_lex_free(ed_where_lex_t *p) {
    ed_buf_free(&p->sbuf);
}

double ed_where_mod(double x, double y) {
    double r = fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0)))
        r += y;
    else if (r == 0)
        r = copysign(0.0, y); /* Python: -0.0 % 3 == 0.0, 0.0 % -3 == -0.0 */
    return r;
}
