/*
 * ed_top_text.h — how `eddy top` writes numbers, TTLs, movements and
 * members, and the plain-text snapshot of `eddy top --once`. No curses:
 * ed_top_screen.c draws with these.
 */
#ifndef ED_TOP_TEXT_H
#define ED_TOP_TEXT_H

#include <stddef.h>
#include <stdio.h>

#include "actors/top/ed_top_board.h"
#include "runtime/ed_buf.h"

/* A change per second with its sign and 3 significant digits: "+12.5",
 * "-0.333", "+1.23k", "+45.6M" (k, M, G, T: powers of 1000). Zero gives ""
 * (an unchanged score is left blank). Writes at most n bytes (NUL included). */
void ed_top_fmt_rate(double rate, char *out, size_t n);

/* A PTTL in ms as a person reads it: "none" (-1, no expiry), "missing"
 * (-2, no such key), "45s", "59m59s", "23h59m", "3d04h" (truncated, never
 * rounded up). */
void ed_top_fmt_ttl(long long pttl_ms, char *out, size_t n);

/* A rank movement: "↑3", "↓1" ("^3", "v1" when utf8 is 0), "new", or ""
 * (same rank, or nothing to compare with). */
void ed_top_fmt_move(const ed_top_delta_t *d, int utf8, char *out, size_t n);

/* Escaping modes for ed_top_escape. */
enum {
    ED_TOP_ESC_SCREEN = 0, /* control bytes and invalid UTF-8 as \xNN */
    ED_TOP_ESC_ASCII = 1,  /* also every byte >= 0x80 as \xNN (a terminal that is not UTF-8) */
    ED_TOP_ESC_LINE = 2,   /* --once: as SCREEN, plus \\ \t \n \r, so a row stays one line */
};

/* Appends the n bytes at s to out as printable text (see the modes above).
 * The output is always valid UTF-8. */
void ed_top_escape(const char *s, size_t n, int mode, ed_buf_t *out);

/* Terminal cells taken by the valid UTF-8 text s[0..n) (wide characters
 * count 2, combining marks 0), in the current LC_CTYPE. */
int ed_top_cells(const char *s, size_t n);

/* The longest prefix of the valid UTF-8 text s[0..n) that fits in `cols`
 * cells, in bytes; *used gets its cells. */
size_t ed_top_fit(const char *s, size_t n, int cols, int *used);

/* Writes the snapshot of every board as plain text (docs/top.md):
 *
 *   # KEY<TAB>members=N<TAB>ttl=T[<TAB>pattern=P][<TAB>error=E]
 *   RANK<TAB>SCORE<TAB>MEMBER          (at most `rows` lines)
 *   <blank line between boards>
 *
 * KEY and MEMBER are escaped with ED_TOP_ESC_LINE; T is seconds ("3599s"),
 * "none" or "missing"; a pattern that matches no sorted set shows KEY as
 * "-". Returns 0, or 1 when a board has an error (its line says which). */
int ed_top_print_once(ed_top_board_t *const *boards, int nboards, int rows, FILE *out);

#endif
