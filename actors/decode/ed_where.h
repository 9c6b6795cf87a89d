/*
 * ed_where.h — the filter language of `where:` (and of alert conditions):
 * boolean expressions over the fields of a record, parsed once at load and
 * evaluated per record without allocating.
 *
 *   status == "failed" and amount > 1000
 *   category in ["books", "toys"] and not (customer.tier is missing)
 *   text matches "(?i)\b(data science|machine learning|big data)\b"
 *
 * Grammar (the reference with examples is docs/config.md, "where"):
 *
 *   expr      := and ('or' and)*
 *   and       := unary ('and' unary)*
 *   unary     := 'not' unary | '(' expr ')' | predicate
 *   predicate := field ['%' number] CMP (literal | field)   CMP: == != < <= > >=
 *              | field ['not'] 'in' '[' literal (',' literal)* [','] ']'
 *              | field 'is' ['not'] 'missing'
 *              | field ('contains' | 'starts_with' | 'ends_with' | 'matches') string
 *   literal   := number | string | 'true' | 'false'
 *   field     := name ('.' name)* | '@'name | `backquoted path`
 *
 * Precedence, tightest first: predicates, not, and, or; so
 * `not a == 1 or b == 2 and c == 3` is `(not (a == 1)) or ((b == 2) and (c == 3))`.
 * Keywords are lowercase. Strings take "double" or 'single' quotes; a
 * backslash escapes the quote and itself, every other backslash stays as
 * written (so regexes read as in PCRE2: matches "\d{3}").
 *
 * Types are strict. A number compares with numbers, a string with strings
 * (bytewise, UTF-8), true/false with booleans (== and != only). A predicate
 * over a field that is missing or JSON null is false and counted as
 * `missing`; over a value of another type (a string against a number, an
 * object, …) it is false and counted as `wrong_type`. Only `is missing`
 * sees null and absent fields as true. `!=` and `not in` are predicates
 * too: false on a missing field, whereas `not (a == 1)` is true there.
 *
 * `matches` is a PCRE2 search (unanchored; use ^ and $), UTF-8 with Unicode
 * properties (PCRE2_UTF | PCRE2_UCP: \w, \d, \b and (?i) are Unicode-aware);
 * invalid UTF-8 in a subject never matches where it is invalid. Patterns are
 * compiled (and JIT-compiled where available) by ed_where_parse; a match
 * that exceeds PCRE2's match limit (ED_WHERE_MATCH_LIMIT) is false and
 * counted as `regex_failed`.
 *
 * Threads: an ed_where_t is immutable after parsing and may be shared; each
 * thread that evaluates it needs its own ed_where_ctx_t.
 */
#ifndef ED_WHERE_H
#define ED_WHERE_H

#include <stddef.h>
#include <stdint.h>

#include "actors/decode/ed_val.h"

/* PCRE2 match limit per `matches` evaluation (backtracking steps). */
#define ED_WHERE_MATCH_LIMIT 1000000

/* Deepest nesting of parentheses and `not` an expression may have. */
#define ED_WHERE_MAX_DEPTH 64

typedef struct ed_where ed_where_t;
typedef struct ed_where_ctx ed_where_ctx_t;

/* Where an expression's text comes from, for errors. */
typedef struct {
    const char *file; /* config file name; NULL prints "expression" */
    int line;         /* line of the text's first character, 1-based */
    int col;          /* its column, 1-based: for a quoted YAML scalar, one past the quote */
    const char *what; /* what it is, e.g. "where of aggregation 'revenue'"; may be NULL */
} ed_where_origin_t;

/* Counters of one evaluation context, since ed_where_ctx_new. */
typedef struct {
    uint64_t evals;        /* ed_where_eval calls */
    uint64_t passed;       /* of which returned 1 */
    uint64_t missing;      /* predicates that were false because a field was missing or null */
    uint64_t wrong_type;   /* predicates that were false because a value had another type */
    uint64_t regex_failed; /* `matches` that hit the match limit or failed in PCRE2 */
} ed_where_counts_t;

/* Parses and compiles `text` (copied). Returns 0 and an owned *w_p, or
 * ED_EINVAL with errstr "FILE:LINE:COL: in WHAT: found TOKEN; expected …"
 * naming the position of the offending token (lines and columns counted
 * from `origin`, columns in characters), e.g.
 *   pipeline.yaml:9:30: in where of aggregation 'big': found 'AND'; expected
 *   'and', 'or' or the end of the expression (keywords are lowercase)
 * Also ED_EINVAL for an invalid regular expression (PCRE2's message and the
 * offset in the pattern), nesting deeper than ED_WHERE_MAX_DEPTH, and an
 * ordering of booleans. */
int ed_where_parse(const char *text, const ed_where_origin_t *origin, ed_where_t **w_p,
                   char *errstr, size_t errstr_size);

/* Frees the expression and NULLs *w_p. NULL-safe. Contexts made from it
 * must be destroyed first. */
void ed_where_destroy(ed_where_t **w_p);

/* The expression's text as given to ed_where_parse (borrowed). */
const char *ed_where_text(const ed_where_t *w);

/* Number of distinct fields the expression reads (≥ 1). ed_where_eval
 * takes their values in this order: field 0 is the first one named in the
 * text, and so on. */
int ed_where_nfields(const ed_where_t *w);

/* Field i (0 ≤ i < ed_where_nfields) as a dotted path or @meta name,
 * without backquotes (borrowed, lives as long as w). */
const char *ed_where_field(const ed_where_t *w, int i);

/* Position of field i's first occurrence, for the caller's errors about it
 * ("no such compute"): *line and *col as in ed_where_parse's errors. */
void ed_where_field_pos(const ed_where_t *w, int i, int *line, int *col);

/* Creates an evaluation context for w (borrowed: w must outlive it): the
 * scratch PCRE2 needs and the counters. Returns an owned context. */
ed_where_ctx_t *ed_where_ctx_new(const ed_where_t *w);

/* Frees the context and NULLs *cx_p. NULL-safe. */
void ed_where_ctx_destroy(ed_where_ctx_t **cx_p);

/* Evaluates the expression over vals[ed_where_nfields(w)] (the values of
 * ed_where_field(w, 0..n-1), borrowed for the call). Returns 1 if the
 * record passes, 0 if not; updates the counters. And and or evaluate left
 * to right and stop at the first operand that decides. Does not allocate
 * (PCRE2's interpreter may grow its scratch on the first matches only). */
int ed_where_eval(ed_where_ctx_t *cx, const ed_val_t *vals);

/* The context's counters (borrowed; updated by every ed_where_eval). */
const ed_where_counts_t *ed_where_ctx_counts(const ed_where_ctx_t *cx);

#endif
