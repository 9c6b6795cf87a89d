/*
 * ed_aggfn.h — the table of aggregate functions: everything eddy knows about
 * `count`, `sum(f)`, `min(f)`, `max(f)`, `avg(f)`, `first(f)`, `last(f)`,
 * `approx_distinct(f)` is one row of ed_aggfns[] (ed_aggfn.c). The config finds a function by name,
 * the aggregation table keeps and updates its state through the row, the
 * changelog carries what the row emits, and the sinks take their columns,
 * SQL merge expressions and Redis command from it. Adding a function is one
 * row and its tests.
 *
 * State: each (aggregation, window, key) entry holds, per compute, a block of
 * `state_size` bytes (a multiple of 8, 8-byte aligned, zeroed when the entry
 * is created). The entry also counts its records (n, and n at the last
 * flush); the functions receive those counts, they do not keep them.
 * A block is flat (copied and snapshotted as its bytes) unless the row has
 * `release`: then the block owns memory outside itself (approx_distinct: a
 * pointer to its HyperLogLog sketch, ed_hll.h); whoever drops such a block
 * calls release, a copy moves the ownership, and snapshots write it with
 * `save` and read it back with `load` (ed_aggfn_save / ed_aggfn_load), never
 * as raw bytes.
 *
 * Changelog values per compute (ed_change_t in actors/ed_payload.h): `emit`
 * fills a delta, a value and the previously emitted value:
 *   count  delta = records since the last flush, value = total
 *   sum    delta = sum since the last flush, value = total
 *   min, max  delta = value = current min / max
 *   avg    delta = sum of the field since the last flush (rows carry
 *          delta_n), value = current average
 *   first, last  delta = the event time (ms since the epoch) of the record
 *          whose value it is, value = that record's value
 *   approx_distinct  delta = value = the sketch's estimate of the distinct
 *          values, rounded to an integer
 * Additive functions (count, sum) add deltas everywhere (SQL `c = c + delta`,
 * Redis ZINCRBY); the others write their value (Redis ZADD) and SQL merges
 * them with the expressions of their columns.
 *
 * Threads: the table is immutable; rows are shared read-only.
 */
#ifndef ED_AGGFN_H
#define ED_AGGFN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/ed_buf.h"

/* What the keyer hands `apply` as v for a compute's field. */
typedef enum {
    ED_AGGFN_IN_NUMBER = 0, /* the field as a number (ed_val_to_num); not a number: a reject */
    ED_AGGFN_IN_HASH,       /* ed_hash64 (XXH3-64) of the field's text, as a key's text (a
                               string's decoded bytes, a number as written, true/false, other
                               JSON as written), its 64 bits carried in the double
                               (ed_aggfn_hash_v); missing or null: a reject */
} ed_aggfn_input_t;

/* What an SQL column of a compute holds (each sink names the type in its
 * dialect). */
typedef enum {
    ED_AGGFN_BIGINT = 1, /* integer, NOT NULL DEFAULT 0 */
    ED_AGGFN_DOUBLE_SUM, /* double, NOT NULL DEFAULT 0 */
    ED_AGGFN_DOUBLE,     /* double, nullable */
} ed_aggfn_sql_t;

/* One table column of a compute, in table and SET order: the compute's own
 * column first (suffix NULL), then its hidden companions. */
typedef struct {
    const char *suffix; /* NULL: the column is the compute's name; else name + suffix */
    ed_aggfn_sql_t sql; /* what it holds */
    /* The number a merged changelog row inserts into this column, from the
     * compute's merged delta and value and the row's delta_n. */
    double (*insert)(double delta, double value, int64_t delta_n);
    /* The `ON CONFLICT … SET col = <merge>` expression, in both dialects
     * unless merge_mariadb is set. Placeholders: {o} the column's current
     * value in the table, {n} the value being inserted; {o_sfx} / {n_sfx} the
     * same for the compute's column with suffix _sfx ({o_ts}). The sinks
     * assign columns in this order and an expression may read only its own
     * column and the columns after it (MariaDB assigns left to right, each
     * seeing the earlier ones updated; reading later ones sees old values in
     * both dialects). */
    const char *merge;
    const char *merge_mariadb; /* NULL: same as merge */
} ed_aggfn_col_t;

#define ED_AGGFN_MAX_COLS 3

typedef struct ed_aggfn {
    const char *name;    /* as written in `compute:` ("sum") */
    const char *summary; /* one line for docs and errors */
    int takes_field;     /* 1: name(FIELD); 0: name or name() */
    ed_aggfn_input_t input; /* what apply's v is */
    uint32_t state_size; /* bytes of state per entry, multiple of 8 (0: none) */
    int additive;        /* deltas add up across flushes and processes */
    const char *redis;   /* the sorted-set command of the redis sink's score_mode auto for a
                            cumulative aggregation: "ZINCRBY" (adds the delta; additive
                            only) or "ZADD" (sets the value); windows always ZADD */
    /* One record: its value v (0 without a field) and time ts_ms (event
     * time, or arrival time at the aggregator when the source has no
     * `time`); n_before = the entry's records before this one. NULL: nothing
     * to do (count). */
    void (*apply)(void *st, int64_t n_before, double v, int64_t ts_ms);
    /* Merges partial state src (n_src records, the later part) into dst
     * (n_dst records, the earlier part), e.g. two session windows joining;
     * ties in time go to the earlier part for first and the later for last.
     * What dst emitted before is kept as its previous value. src is only
     * read: the caller still releases it. */
    void (*merge)(void *dst, const void *src, int64_t n_dst, int64_t n_src);
    /* The changelog values (see the file comment) of state st with n
     * records, n_flushed of them at the last flush. */
    void (*emit)(const void *st, int64_t n, int64_t n_flushed, double *delta, double *value,
                 double *prev);
    /* After a flush emitted `value`: remembers it as the previous value and
     * restarts what is counted since the last flush. NULL: nothing to do. */
    void (*flushed)(void *st, double value);
    /* Merges a later changelog row of the same key (delta2, value2) into an
     * earlier one (*delta, *value) within one sink flush. */
    void (*merge_row)(double *delta, double *value, double delta2, double value2);
    /* Frees what block st owns; the block is then as a zeroed one. NULL:
     * the block is flat. A row with release has save and load too. */
    void (*release)(void *st);
    /* Appends block st's encoding to b (self-delimiting). */
    void (*save)(const void *st, ed_buf_t *b);
    /* Reads an encoding of at most len bytes at p into zeroed block st and
     * sets *used to its length. Returns 0, or ED_EINVAL with errstr saying
     * what is wrong (st then owns nothing). */
    int (*load)(void *st, const uint8_t *p, size_t len, size_t *used, char *errstr,
                size_t errstr_size);
    int ncols;                               /* SQL columns, 1 … ED_AGGFN_MAX_COLS */
    ed_aggfn_col_t cols[ED_AGGFN_MAX_COLS]; /* see ed_aggfn_col_t */
} ed_aggfn_t;

/* Every function, in documentation order; ed_naggfns rows. */
extern const ed_aggfn_t ed_aggfns[];
extern const int ed_naggfns;

/* The function named by the `len` bytes at `name` (ASCII case ignored), or
 * NULL. Borrowed (static). */
const ed_aggfn_t *ed_aggfn_find(const char *name, size_t len);

/* The 64 bits of hash h as apply's v (ED_AGGFN_IN_HASH), and back. The bits
 * pass through batches and calls unchanged: nothing computes with them. */
static inline double ed_aggfn_hash_v(uint64_t h) {
    double v;
    memcpy(&v, &h, sizeof v);
    return v;
}

static inline uint64_t ed_aggfn_v_hash(double v) {
    uint64_t h;
    memcpy(&h, &v, sizeof h);
    return h;
}

/* The blocks of n computes fns[0..n) laid out one after the other (each at
 * the sum of the earlier ones' state_size), as the aggregation table and
 * the session windows hold them: */

/* 1 if a block of these computes owns memory (a row has release). */
int ed_aggfn_owns(const ed_aggfn_t *const *fns, int n);

/* Releases every compute's block in `state` (those with release). */
void ed_aggfn_release(const ed_aggfn_t *const *fns, int n, uint8_t *state);

/* Appends the blocks' encoding to b: a flat block as its state_size bytes,
 * the others by their save. Without owning rows the bytes equal `state`. */
void ed_aggfn_save(const ed_aggfn_t *const *fns, int n, const uint8_t *state, ed_buf_t *b);

/* Reads what ed_aggfn_save wrote, at most len bytes at p, into `state`
 * (the sum of the state_size bytes, overwritten) and sets *used. Returns 0
 * (state then owns what it holds), or ED_EINVAL with errstr (nothing
 * owned, `state` zeroed). */
int ed_aggfn_load(const ed_aggfn_t *const *fns, int n, uint8_t *state, const uint8_t *p,
                  size_t len, size_t *used, char *errstr, size_t errstr_size);

/* Writes "count, sum(FIELD), …" (every function as written in a config)
 * into buf (n bytes), for error messages; returns buf. */
const char *ed_aggfn_list(char *buf, size_t n);

#endif
