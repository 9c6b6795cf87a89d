/*
 * ed_top_board.h — the model behind `eddy top`: one board per KEY or PATTERN
 * on the command line, holding the last good snapshot of a sorted set and,
 * against the snapshot before it, each member's rank movement and change
 * per second. No I/O: ed_top_fetch.c fills boards from Redis, ed_top_text.c
 * and ed_top_screen.c draw them, tests/unit/test_top.c drives them by hand.
 *
 * Patterns: an argument with an unescaped glob character (* ? [) is a Redis
 * MATCH pattern and the board follows the *newest* matching sorted set (see
 * ed_top_key_newer); anything else is a literal key, with backslash escapes
 * removed ("top:\*" is the key "top:*").
 */
#ifndef ED_TOP_BOARD_H
#define ED_TOP_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* One member of a snapshot, in rank order (rank = index + 1). */
typedef struct {
    char *member; /* owned, the member's bytes as stored (may hold any byte) */
    size_t len;   /* bytes in member */
    char *score;  /* owned, NUL-terminated: the score as Redis wrote it ("42", "2.5") */
    double value; /* score as a number */
} ed_top_entry_t;

/* One read of one sorted set. */
typedef struct {
    char *key;         /* owned; NULL when a pattern matched no sorted set */
    size_t key_len;    /* bytes in key */
    ed_top_entry_t *v; /* owned, highest score first */
    size_t n;          /* entries in v (at most the rows asked for) */
    size_t asked;      /* rows asked for: members below that rank were not read */
    long long card;    /* ZCARD: members in the set */
    long long pttl_ms; /* PTTL: ms to expiry; -1 no expiry; -2 the key does not exist */
    int64_t at_ms;     /* when it was read (monotonic ms, ed_now_ms) */
} ed_top_snap_t;

/* How a member moved between the previous snapshot and this one. */
typedef enum {
    ED_TOP_MOVE_UNKNOWN = 0, /* no previous snapshot of this key to compare with */
    ED_TOP_MOVE_SAME,        /* same rank */
    ED_TOP_MOVE_UP,          /* rank improved by `by` places */
    ED_TOP_MOVE_DOWN,        /* rank dropped by `by` places */
    ED_TOP_MOVE_NEW,         /* not among the previous snapshot's rows */
} ed_top_move_t;

typedef struct {
    ed_top_move_t move; /* see above */
    int by;             /* places moved (UP, DOWN) */
    int has_rate;       /* rate is known: the member was in the previous snapshot */
    double rate;        /* (score - previous score) / seconds between the snapshots */
} ed_top_delta_t;

/* A board. Fields are read by the views; only ed_top_board_* and the
 * fetcher (the pattern-following fields) write them. */
typedef struct {
    char *spec;     /* owned: the argument as given */
    int is_pattern; /* 1: spec is a MATCH pattern; 0: literal key */
    char *literal;  /* owned: the key (escapes removed) when !is_pattern */
    size_t literal_len;
    int has_data;      /* cur holds a good snapshot */
    ed_top_snap_t cur; /* the last good snapshot */
    ed_top_delta_t *d; /* owned, cur.n entries: movement and rate of each row */
    double dt_s;       /* seconds between cur and the snapshot it was compared with; 0: none */
    char err[256];     /* "" or why the last read of this board failed (WRONGTYPE …) */
    /* pattern following (ed_top_fetch.c) */
    char *cursor; /* owned: SCAN cursor of the pass in progress; NULL: none */
    char *cand;   /* owned: newest key seen in the pass in progress */
    size_t cand_len;
    char *follow; /* owned: the key followed; NULL until a pass found one */
    size_t follow_len;
} ed_top_board_t;

/* Returns a new board for one command-line argument (copied). Sets
 * is_pattern and literal as described at the top. Never NULL. */
ed_top_board_t *ed_top_board_new(const char *spec);

/* Frees the board and NULLs *b_p. NULL or *b_p == NULL: no-op. */
void ed_top_board_destroy(ed_top_board_t **b_p);

/* Installs `snap` (its contents are taken: *snap is zeroed) as the board's
 * current snapshot and computes each row's movement and rate against the
 * previous one when both read the same key; a different key (a pattern that
 * moved to a newer window) or no previous snapshot gives MOVE_UNKNOWN and no
 * rate. A member the previous snapshot did not hold is MOVE_NEW when its
 * rank is within the rows the previous snapshot asked for, else UNKNOWN
 * (after `+` the new bottom rows were simply not read before). Clears err. */
void ed_top_board_set(ed_top_board_t *b, ed_top_snap_t *snap);

/* Records why reading the board failed (keeps the last good snapshot). */
void ed_top_board_fail(ed_top_board_t *b, const char *why);

/* Frees what a snapshot holds and zeroes it. */
void ed_top_snap_clear(ed_top_snap_t *s);

/* Appends one entry (member and score copied) to a snapshot being built. */
void ed_top_snap_add(ed_top_snap_t *s, const char *member, size_t len, const char *score,
                     size_t score_len);

/* The newest-key rule for patterns: 1 if key a is newer than key b, else 0.
 * A key is "numbered" when it ends in a decimal digit; its number is the
 * run of digits at its end (eddy's window keys end in the window start in
 * epoch ms, "top:products:1733097600000"). A numbered key is newer than an
 * unnumbered one; between numbered keys the larger number wins (compared as
 * digit strings, any length, leading zeros ignored); on equal numbers, or
 * between unnumbered keys, the greater key in byte order wins. */
int ed_top_key_newer(const char *a, size_t alen, const char *b, size_t blen);

#endif
