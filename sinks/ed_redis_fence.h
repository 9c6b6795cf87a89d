/*
 * ed_redis_fence.h — the fence of a redis sink under `runtime.delivery:
 * exactly_once` (docs/sinks-redis-kafka.md, "Exactly-once"; actors/ed_eo.h).
 *
 * The fence is one hash per (pipeline, sink, zset template), at key
 * "eddy:eo:PIPELINE:SINK:ZSET" in the sink's database (a new template, as a
 * new SQL table, starts a new fence):
 *   id, positions            the last checkpoint id whose chunks were all
 *                            applied, and the input positions it covers
 *   pend_id, pend_done,      a flush applied in part: its id, how many of
 *   pend_n, pend_positions   its pend_n chunks are applied, its positions
 * Each chunk of a flush is one Lua script (EVALSHA; EVAL when the server
 * lost it) that reads the fence, applies the chunk's rows only if the fence
 * says they are not applied yet, and advances the fence — all atomically,
 * so a replayed flush or chunk is a no-op, whether the earlier attempt was
 * in this process (a lost reply) or before a restart.
 *
 * Threads: a fence is used by one sink instance, on its thread.
 */
#ifndef ED_REDIS_FENCE_H
#define ED_REDIS_FENCE_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/ed_buf.h"

/* What the fence holds (ed_redis_fence_read). */
typedef struct {
    uint64_t id;          /* last checkpoint id fully applied; 0: none */
    char *positions;      /* its positions, owned; NULL when id is 0 */
    uint64_t pend_id;     /* a flush applied in part; 0: none */
    uint64_t pend_done;   /* chunks of it applied (< pend_n) */
    uint64_t pend_n;      /* its number of chunks */
    char *pend_positions; /* its positions, owned; NULL when pend_id is 0 */
} ed_redis_fence_t;

/* Appends the fence key of (pipeline, sink, zset template) to b:
 * "eddy:eo:PIPELINE:SINK:ZSET". */
void ed_redis_fence_key(ed_buf_t *b, const char *pipeline, const char *sink, const char *zset);

/* Reads the fence at `key` (HMGET) into *f (overwritten: clear it first if it
 * held anything). A missing key reads as all zero. Returns 0; -1 on an I/O
 * error (the connection is unusable: errstr says what failed); -2 when the
 * server refused (e.g. WRONGTYPE: the key holds another type; errstr has
 * its answer). */
int ed_redis_fence_read(redisContext *rc, const char *key, ed_redis_fence_t *f, char *errstr,
                        size_t errstr_size);

/* Frees what f owns and zeroes it. */
void ed_redis_fence_clear(ed_redis_fence_t *f);

/* One chunk of a flush. All borrowed for the call. */
typedef struct {
    const char *key;       /* the fence key */
    uint64_t id;           /* the flush's checkpoint id */
    uint64_t chunk;        /* this chunk's index, 0-based */
    uint64_t nchunks;      /* chunks of the flush (>= 1); the last one completes it */
    const char *positions; /* the flush's input positions */
    const char *op;        /* "ZINCRBY" (add the score), "ZADD" (set it), "GT" / "LT"
                              (ZADD GT / LT: keep the larger / smaller) */
    const char *ttl;       /* PEXPIRE ms of each set the chunk writes, or "" */
    size_t nrows;          /* rows of the chunk (may be 0: the fence still advances) */
    const char *const *argv; /* per row: zset, member, score (3 × nrows) */
    const size_t *argl;      /* their lengths */
} ed_redis_fence_chunk_t;

/* What the server did with a chunk. */
typedef struct {
    int applied;       /* 1: applied now; 0: the fence says it was applied before */
    uint64_t failed;   /* rows the server refused (WRONGTYPE…): not applied, not retried */
    char err[256];     /* the first refusal */
    uint64_t replaced; /* a partial flush of another id the fence held and this one
                          replaced (0: none) — should not happen; the caller logs it */
} ed_redis_fence_res_t;

/* Applies chunk c through the fence script. `sha` (41 bytes, "" at first and
 * after a reconnect) caches the script's SHA1 for this connection: it is
 * loaded when empty, and sent again with EVAL when the server lost it
 * (NOSCRIPT). Returns 0 with *res filled; -1 on an I/O error (the chunk may
 * or may not have run: read the fence again on a new connection); -2 when
 * the server refused the script as a whole (errstr has its answer; nothing
 * of the chunk was applied). Counts the commands sent into *statements. */
int ed_redis_fence_apply(redisContext *rc, char sha[41], const ed_redis_fence_chunk_t *c,
                         ed_redis_fence_res_t *res, uint64_t *statements, char *errstr,
                         size_t errstr_size);

/* Puts nrows rows into n chunks (n >= 1) by ed_hash64 of their zset and
 * member — a replayed flush holds the same rows but maybe not in the same
 * order, and each chunk must hold the same rows again. Row i is the bytes
 * of `arena` at off[3i] … off[3i+1] (zset), … off[3i+2] (member), …
 * off[3i+3] (score). Fills argv/argl (3 × nrows: the rows in chunk order,
 * as ed_redis_fence_chunk_t takes them) and start (n + 1: chunk k is rows
 * start[k] … start[k+1]); chunk_of (nrows) is scratch. */
void ed_redis_fence_order(const char *arena, const size_t *off, size_t nrows, size_t n,
                          uint32_t *chunk_of, const char **argv, size_t *argl, size_t *start);

/* The Lua script (for docs and tests). */
extern const char ed_redis_fence_lua[];

#endif
