/*
 * s11_common.h — what the S11 programs share (bench/baselines/s11_avro_c.c,
 * the avro-c loop, and bench/tools/s11_decode.c, eddy's decoders): the
 * input read into memory, count + sum(amount) per product_id in an
 * open-addressing table keyed by XXH3 (libxxhash), the timer and the result line that
 * bench/lib.sh's run_baseline reads ({eps, events, keys, count, sum}).
 */
#ifndef S11_COMMON_H
#define S11_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

/* One product: its key (in the arena), count and sum. */
typedef struct {
    uint64_t hash;
    uint32_t koff; /* offset in the arena + 1; 0 = empty slot */
    uint32_t klen;
    int64_t count;
    double sum;
} s11_slot_t;

typedef struct {
    s11_slot_t *slots;
    size_t mask;  /* slots - 1 (a power of two) */
    char *arena;  /* the keys, back to back */
    size_t used, cap;
    size_t keys;
    int64_t count;
    double sum;
} s11_table_t;

/* The whole file at path, malloc'd (*len bytes); exits on error. */
static char *s11_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    if (!d || fread(d, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(1);
    }
    d[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return d;
}

/* A table for up to cap/2 keys (cap a power of two). */
static void s11_table_init(s11_table_t *t, size_t cap) {
    memset(t, 0, sizeof *t);
    t->slots = malloc(cap * sizeof *t->slots);
    t->mask = cap - 1;
    t->cap = 1 << 20;
    t->arena = malloc(t->cap);
    if (!t->slots || !t->arena) {
        perror("s11_table_init");
        exit(1);
    }
    memset(t->slots, 0, cap * sizeof *t->slots); /* touched now, not in the timed loop */
    memset(t->arena, 0, t->cap);
}

/* Adds one order of product key[0..len) with amount x (open addressing,
 * linear probing, XXH3). */
static void s11_add(s11_table_t *t, const char *key, size_t len, double x) {
    uint64_t h = XXH3_64bits(key, len);
    size_t i = (size_t)h & t->mask;
    for (;; i = (i + 1) & t->mask) {
        s11_slot_t *sl = &t->slots[i];
        if (!sl->koff) {
            if (t->keys * 2 >= t->mask || t->used + len > UINT32_MAX - 1) {
                fprintf(stderr, "s11: too many keys\n");
                exit(1);
            }
            while (t->used + len > t->cap)
                t->arena = realloc(t->arena, t->cap *= 2);
            memcpy(t->arena + t->used, key, len);
            *sl = (s11_slot_t){.hash = h, .koff = (uint32_t)t->used + 1, .klen = (uint32_t)len};
            t->used += len;
            t->keys++;
        } else if (sl->hash != h || sl->klen != len ||
                   memcmp(t->arena + sl->koff - 1, key, len) != 0) {
            continue;
        }
        sl->count++;
        sl->sum += x;
        t->count++;
        t->sum += x;
        return;
    }
}

/* CPU seconds of the process: the machine is shared (2 cores, several
 * agents), so wall time would measure the neighbours; eps is per CPU-second. */
static double s11_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The result line of run_baseline (bench/lib.sh); impl names the decoder. */
static void s11_print(const s11_table_t *t, int64_t events, double secs, const char *impl) {
    printf("{\"eps\": %.1f, \"events\": %lld, \"keys\": %zu, \"count\": %lld, \"sum\": %.6f, "
           "\"seconds\": %.4f, \"implementation\": \"%s\"}\n",
           secs > 0 ? (double)events / secs : 0.0, (long long)events, t->keys,
           (long long)t->count, t->sum, secs, impl);
}

#endif
