/*
 * ed_top_screen.h — the full-screen view of `eddy top` (ncursesw): boards
 * side by side, a header line, a status line, and the keys. All curses calls
 * of eddy live in ed_top_screen.c; ed_top.c runs the loop.
 *
 * Layout (docs/top.md):
 *   line 0        eddy top · redis HOST:PORT/DB · every 1s · 20 rows · updated HH:MM:SS (Δt 1.00s)
 *   per board     its key (highlighted when focused), "N members · ttl T"
 *                 (or the pattern and the error), the column titles
 *                 "# member score Δ/s move", then one line per member
 *   last line     the keys, or the connection problem
 * Boards are separated by a vertical line; as many as fit at 40 columns
 * each are shown, the focused one always among them.
 */
#ifndef ED_TOP_SCREEN_H
#define ED_TOP_SCREEN_H

#include <stdint.h>

#include "actors/top/ed_top_board.h"

/* What the view shows; owned by the caller, read by ed_top_screen_draw. */
typedef struct {
    ed_top_board_t *const *boards; /* borrowed */
    int nboards;
    int focus;           /* index of the focused board */
    int zoom;            /* 1: only the focused board, full width */
    int rows;            /* rows asked for per board */
    int paused;          /* 1: no refresh until p is pressed again */
    int64_t interval_ms; /* refresh interval */
    const char *addr;    /* "redis HOST:PORT/DB" */
    char updated[16];    /* wall time of the last good refresh ("12:00:01"), "" if none */
    double dt_s;         /* seconds the rates are computed over; 0: none yet */
    char status[512];    /* "" when connected, else what is wrong and when the next try is */
} ed_top_view_t;

/* Keys, as ed_top_screen_key returns them. */
typedef enum {
    ED_TOP_KEY_NONE = 0, /* time-out or a key with no meaning */
    ED_TOP_KEY_QUIT,     /* q, Q, Ctrl-C when it reaches us as a key */
    ED_TOP_KEY_NEXT,     /* Tab, →, ↓ */
    ED_TOP_KEY_PREV,     /* Shift-Tab, ←, ↑ */
    ED_TOP_KEY_PAUSE,    /* p, space */
    ED_TOP_KEY_MORE,     /* + or = */
    ED_TOP_KEY_FEWER,    /* - */
    ED_TOP_KEY_ZOOM,     /* z, Enter */
    ED_TOP_KEY_REFRESH,  /* r */
    ED_TOP_KEY_RESIZE,   /* the terminal changed size */
} ed_top_key_t;

/* Takes over the terminal (initscr, no echo, cursor hidden, colours when
 * the terminal has them). Call setlocale(LC_ALL, "") first for UTF-8.
 * Returns 0, or -1 when the terminal cannot be used (TERM unknown). */
int ed_top_screen_open(void);

/* Gives the terminal back as it was. Safe to call when not open. */
void ed_top_screen_close(void);

/* Redraws the whole screen from `v`. */
void ed_top_screen_draw(const ed_top_view_t *v);

/* Waits up to timeout_ms (>= 0) for a key and returns its meaning;
 * ED_TOP_KEY_NONE on time-out or when a signal interrupted the wait. */
ed_top_key_t ed_top_screen_key(int timeout_ms);

#endif
