/*
 * ed_where_lex.h — the tokenizer of the `where:` language (ed_where.h), and
 * the error reporting its parser shares: positions of tokens as
 * file:line:col counted from where the text sits in the config file.
 *
 * Tokens: ( ) [ ] , the comparisons == != < <= > >=, % (the modulo of
 * `field % N`), numbers (JSON syntax,
 * finite), strings in "double" or 'single' quotes (a backslash escapes the
 * quote and itself, any other backslash stays), and names: dotted paths,
 * @meta names, `backquoted paths` and keywords. Misspelt operators (=, <>,
 * &&, ||, !) are errors that say what to write instead.
 *
 * A lexer is a plain struct on the caller's stack: ed_where_lex_init,
 * ed_where_lex_next per token, ed_where_lex_free. It records only the first
 * error; later calls that would fail do nothing and return -1.
 */
#ifndef ED_WHERE_LEX_H
#define ED_WHERE_LEX_H

#include <stddef.h>

#include "actors/decode/ed_where.h"
#include "runtime/ed_buf.h"

typedef enum {
    ED_WT_END = 1, /* the end of the text */
    ED_WT_LPAREN,
    ED_WT_RPAREN,
    ED_WT_LBRACK,
    ED_WT_RBRACK,
    ED_WT_COMMA,
    ED_WT_OP,    /* a comparison; tok.op says which */
    ED_WT_NUM,   /* tok.num */
    ED_WT_STR,   /* tok.str/len: the decoded contents */
    ED_WT_NAME,  /* a field name or keyword: tok.str/len; tok.quoted if `backquoted` */
    ED_WT_ARITH, /* + - * / (arithmetic lexers only, ed_where_lex_init_arith) and % (both); tok.aop */
    ED_WT_ERROR, /* a lexical error, already recorded */
} ed_where_tok_kind_t;

typedef enum { ED_WOP_EQ = 1, ED_WOP_NE, ED_WOP_LT, ED_WOP_LE, ED_WOP_GT, ED_WOP_GE } ed_where_op_t;

typedef struct {
    ed_where_tok_kind_t kind;
    size_t off, end; /* byte span in the text */
    ed_where_op_t op;
    double num;
    char *str; /* STR / NAME: borrowed from the lexer, valid until the next token */
    size_t len;
    int quoted;
    char aop; /* ED_WT_ARITH: '+', '-', '*', '/' or '%' */
} ed_where_tok_t;

typedef struct {
    const char *s; /* the text (borrowed) */
    size_t n, pos;
    const ed_where_origin_t *origin; /* borrowed; may be NULL */
    ed_where_tok_t tok;              /* the current token */
    ed_buf_t sbuf;                   /* decoded string of the current token */
    char *errstr;
    size_t errsz;
    int failed; /* an error was recorded in errstr */
    int arith;  /* + - * / are ED_WT_ARITH tokens (as % always is) and numbers take no sign (ed_expr.h) */
} ed_where_lex_t;

/* Starts lexing `text` (borrowed, NUL-terminated, must outlive the lexer)
 * and reads the first token. Errors go to errstr (may be NULL). */
void ed_where_lex_init(ed_where_lex_t *lx, const char *text, const ed_where_origin_t *origin,
                       char *errstr, size_t errstr_size);

/* As ed_where_lex_init, for the arithmetic of ed_expr.h: '+', '-', '*', '/'
 * and '%' are ED_WT_ARITH tokens, and a number never starts with a sign (the
 * parser reads unary minus), so `a -1` is a subtraction. */
void ed_where_lex_init_arith(ed_where_lex_t *lx, const char *text, const ed_where_origin_t *origin,
                             char *errstr, size_t errstr_size);

/* Advances lx->tok to the next token; on a lexical error it is ED_WT_ERROR
 * and the error is recorded. */
void ed_where_lex_next(ed_where_lex_t *lx);

/* Frees the lexer's scratch (not the struct). */
void ed_where_lex_free(ed_where_lex_t *lx);

/* Line and column (1-based) of byte offset `off` of the text, counted from
 * the origin; columns count characters, not bytes. */
void ed_where_lex_linecol(const ed_where_lex_t *lx, size_t off, int *line, int *col);

/* Records "FILE:LINE:COL: in WHAT: MESSAGE" for byte offset `off`, unless an
 * error is already recorded. Returns -1. */
int ed_where_lex_fail(ed_where_lex_t *lx, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records "found TOKEN; expected WANT" at the current token, with a hint for
 * uppercase keywords and `null`. Returns -1. */
int ed_where_lex_expected(ed_where_lex_t *lx, const char *want);

/* 1 if the current token is the keyword kw (an unquoted name), else 0. */
int ed_where_lex_kw(const ed_where_lex_t *lx, const char *kw);

/* 1 if t is any keyword of the language (and, or, not, in, is, missing,
 * contains, starts_with, ends_with, matches, true, false, null), else 0. */
int ed_where_lex_is_keyword(const ed_where_tok_t *t);

/* x mod y as Python's float `%` (y ≠ 0): the remainder of floored division,
 * with the sign of y (−7 % 3 = 2, 7 % −3 = −2), so `where` and `set` agree
 * with the Python oracles of their tests. */
double ed_where_mod(double x, double y);

#endif
