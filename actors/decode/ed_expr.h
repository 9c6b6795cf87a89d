/*
 * ed_expr.h — value expressions of the `set:` transform step: arithmetic on
 * the fields of a record, parsed once at load and evaluated per record.
 *
 *   price * 0.908
 *   (net + tax) / qty
 *   auction % 123               (modulo, as Python's float %)
 *   first + " " + last          (strings concatenate with +)
 *   customer.id                 (a field alone copies its value, any type)
 *
 * Grammar (shares the tokens and error reporting of ed_where_lex.h: names,
 * dotted paths, `backquoted paths`, numbers, 'strings', true, false, null):
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/' | '%') unary)*
 *   unary   := '-' unary | primary
 *   primary := number | string | 'true' | 'false' | 'null' | field | '(' expr ')'
 *
 * Operators are left-associative; *, / and % bind tighter than + and -;
 * unary minus tightest. Arithmetic is IEEE 754 double, evaluated in that
 * order (the same results as Python's float over the same expression; %
 * is ed_where_mod, the sign of the divisor).
 *
 * Types are strict, as in `where`: + - * / take two numbers, + also two
 * strings (concatenation); a JSON string that holds digits is a string. An
 * evaluation fails, with a sentence saying why, when a field it reads is
 * missing or null, an operand has another type, a division or modulo is by zero, or
 * a result is not finite (JSON has no inf/NaN): the caller rejects the
 * record. A field alone is copied as it is (object, array, null included;
 * only a missing field fails).
 *
 * Threads: an ed_expr_t is immutable after parsing and may be shared; the
 * scratch buffer of ed_expr_eval belongs to the caller.
 */
#ifndef ED_EXPR_H
#define ED_EXPR_H

#include <stddef.h>

#include "actors/decode/ed_val.h"
#include "actors/decode/ed_where.h"
#include "runtime/ed_buf.h"

typedef struct ed_expr ed_expr_t;

/* Parses `text` (copied). Returns 0 and an owned *e_p, or ED_EINVAL with
 * errstr "FILE:LINE:COL: in WHAT: found TOKEN; expected …" (positions
 * counted from `origin`, as ed_where_parse). Nesting deeper than
 * ED_WHERE_MAX_DEPTH is an error too. */
int ed_expr_parse(const char *text, const ed_where_origin_t *origin, ed_expr_t **e_p,
                  char *errstr, size_t errstr_size);

/* Frees the expression and NULLs *e_p. NULL-safe. */
void ed_expr_destroy(ed_expr_t **e_p);

/* Number of distinct fields the expression reads (≥ 0); ed_expr_eval takes
 * their values in this order (first named first). */
int ed_expr_nfields(const ed_expr_t *e);

/* Field i as a dotted path (borrowed, lives as long as e). */
const char *ed_expr_field(const ed_expr_t *e, int i);

/* Evaluates over vals[ed_expr_nfields(e)] (borrowed). Returns 0 and *out:
 * NUMBER (num; ptr/len the field's own text when the expression is that
 * field alone, else NULL/0), STRING (ptr/len, possibly into *scratch,
 * which is reset first and must outlive the use of *out), BOOL, NULL or
 * OTHER (raw JSON text). Returns -1 with a sentence in why (why_size bytes)
 * naming the field or operator: "field 'price' is missing", "'*' needs two
 * numbers; its right operand (field 'qty') is a string", "division by
 * zero", "the result is not a finite number". */
int ed_expr_eval(const ed_expr_t *e, const ed_val_t *vals, ed_buf_t *scratch, ed_val_t *out,
                 char *why, size_t why_size);

#endif
