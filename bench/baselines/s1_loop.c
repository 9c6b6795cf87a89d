/*
 * s1_loop.c — the S1 baseline: one thread generating exactly the events of
 * eddy's generator source (actors/sources/ed_source_generator.c) and aggregating
 * count + sum per key in an open-addressing hash table, as fast as it can.
 * It is the "machine limit" eddy's S1 figure is divided by.
 *
 *   s1_loop EVENTS KEYS SEED
 *
 * Prints one JSON object: events, distinct keys, total count, sum of sums,
 * seconds, events/s, table bytes. Everything from table allocation to the
 * last event is timed (eddy's active_ms also covers its start-up).
 *
 * Same stream as eddy: splitmix64 seeded by SEED, one draw for the key index
 * (Lemire's multiply-shift onto [0, KEYS)), key text "k<index>", one draw
 * for the value (onto [0, 100000), / 100). Same hash: XXH3_64bits, inlined.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "loop_gen.h"

/* One slot, 32 bytes, half a cache line: the key is stored inline, so an
 * event costs one cache miss (the slot) however large the table. Generator
 * keys are "k" + at most 10 digits, which fits. klen 0 = empty slot. */
#define KEY_INLINE 11
typedef struct {
    uint32_t tag; /* high 32 bits of the key hash */
    uint8_t klen;
    char key[KEY_INLINE];
    int64_t count;
    double sum;
} slot_t;

/* An event generated but not yet added to the table. */
#define AHEAD 16
typedef struct {
    uint64_t hash;
    double num;
    uint8_t klen;
    char key[24];
} pending_t;

/* Adds one event; returns 1 if its key is new. */
static inline int s_add(slot_t *slots, size_t mask, const pending_t *p) {
    uint32_t tag = (uint32_t)(p->hash >> 32);
    size_t at = (size_t)p->hash & mask;
    for (;;) {
        slot_t *s = &slots[at];
        if (!s->klen) {
            memcpy(s->key, p->key, p->klen);
            s->tag = tag;
            s->klen = p->klen;
            s->count = 1;
            s->sum = p->num;
            return 1;
        }
        if (s->tag == tag && s->klen == p->klen && memcmp(s->key, p->key, p->klen) == 0) {
            s->count++;
            s->sum += p->num;
            return 0;
        }
        at = (at + 1) & mask;
    }
}

static double s_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t s_count_arg(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'M')
        v *= 1e6, end++;
    else if (*end == 'G')
        v *= 1e9, end++;
    if (*end || v < 0) {
        fprintf(stderr, "s1_loop: bad count '%s'\n", s);
        exit(64);
    }
    return (uint64_t)v;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: s1_loop EVENTS KEYS SEED\n");
        return 64;
    }
    uint64_t events = s_count_arg(argv[1]), keys = s_count_arg(argv[2]);
    uint64_t rng = strtoull(argv[3], NULL, 10);
    if (!keys)
        keys = 1;
    if (keys > 10000000000ULL) {
        fprintf(stderr, "s1_loop: at most 10G keys (keys are stored inline)\n");
        return 64;
    }

    double t0 = s_now();
    /* Load ≤ 0.5 at the expected number of keys: the table never resizes,
     * which is what a hand-written loop that knows its key count does. */
    size_t cap = 16;
    while (cap < 2 * keys)
        cap <<= 1;
    size_t mask = cap - 1;
    slot_t *slots = calloc(cap, sizeof *slots);
    if (!slots) {
        fprintf(stderr, "s1_loop: out of memory\n");
        return 1;
    }
    /* Software pipeline: event i is generated, hashed and its slot
     * prefetched AHEAD events before it is added, so the cache misses of
     * consecutive events overlap instead of queuing (memory-level
     * parallelism). This is what makes the loop a fair "machine limit" for
     * tables larger than the caches. */
    uint64_t distinct = 0;
    pending_t ring[AHEAD];
    for (uint64_t i = 0; i < events + AHEAD; i++) {
        pending_t *p = &ring[i % AHEAD];
        if (i >= AHEAD)
            distinct += s_add(slots, mask, p);
        if (i < events) {
            p->klen = (uint8_t)s_key(p->key, s_range(s_next(&rng), keys));
            p->num = (double)s_range(s_next(&rng), 100000) / 100.0;
            p->hash = XXH3_64bits(p->key, p->klen);
            __builtin_prefetch(&slots[(size_t)p->hash & mask], 1);
        }
    }
    double t1 = s_now();

    /* Totals over the table: prove the work was done (and keep the compiler
     * from dropping it). */
    int64_t total = 0;
    double sum = 0;
    for (size_t i = 0; i < cap; i++)
        if (slots[i].klen) {
            total += slots[i].count;
            sum += slots[i].sum;
        }
    double secs = t1 - t0;
    printf("{\"events\":%" PRIu64 ",\"keys\":%" PRIu64 ",\"count\":%" PRId64
           ",\"sum\":%.17g,\"seconds\":%.6f,\"eps\":%.1f,\"table_bytes\":%zu}\n",
           events, distinct, total, sum, secs, secs > 0 ? (double)events / secs : 0.0,
           cap * sizeof *slots);
    free(slots);
    return total == (int64_t)events ? 0 : 1;
}
