/*
 * ed_source_generator.c — built-in synthetic events, for tests and benchmarks.
 *
 * Event i (0-based) has
 *   key    "k<j>" with j drawn uniformly from [0, keys) by splitmix64(seed)
 *   num    a value in [0, 1000) with two decimals, from the same stream
 *   offset i,  ts_ms the wall clock when emitted,  data NULL / len 0.
 * The same seed always yields the same sequence of keys and values.
 *
 * Pacing: with rate > 0 the driver emits, on each read, the events that are
 * due since the first read (i < elapsed × rate), so the long-run rate matches
 * even if reads are irregular; a read that finds nothing due returns 0 at once
 * (the actor polls it by timer: fd() is -1). A reader that falls behind
 * (pause, backpressure) catches up at full speed, like a lagging consumer.
 * checkpoint/commit do nothing: there is no position to keep.
 */
#include "actors/sources/ed_source.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t events;  /* total to emit; 0 = unbounded */
    uint64_t keys;    /* distinct keys, ≥ 1 */
    double rate;      /* events per second; 0 = as fast as possible */
    uint64_t rng;     /* splitmix64 state */
    uint64_t next;    /* index of the next event */
    int64_t start_us; /* ed_now_us() of the first read; 0 before it */
    int paused;
} ed_gen_t;

/* splitmix64 (Steele, Lea, Flood 2014): one add and three xor-multiply steps;
 * passes BigCrush, which is far more than key spreading needs. */
static inline uint64_t s_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Maps a uniform 64-bit value onto [0, n) without a division (Lemire). */
static inline uint64_t s_range(uint64_t r, uint64_t n) {
    return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

/* Writes "k<v>" into buf (≥ 22 bytes) and returns its length. */
static size_t s_key(char *buf, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf[0] = 'k';
    for (size_t i = 0; i < n; i++)
        buf[1 + i] = tmp[n - 1 - i];
    buf[1 + n] = '\0';
    return 1 + n;
}

static int s_open(void **ctx_p, const ed_config_t *conf, const ed_conf_source_t *src, char *errstr,
                  size_t errstr_size) {
    (void)conf;
    if (src->generator.rate < 0)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "source '%s': generator rate must be >= 0 events/s, got %g", src->name,
                         src->generator.rate);
    ed_gen_t *g = ed_calloc(1, sizeof *g);
    g->events = src->generator.events;
    g->keys = src->generator.keys ? src->generator.keys : 1;
    g->rate = src->generator.rate;
    g->rng = src->generator.seed;
    *ctx_p = g;
    return 0;
}

static int s_read(void *ctx, int max, ed_input_emit_fn emit, void *ud, int *eof, char *errstr,
                  size_t errstr_size) {
    (void)errstr;
    (void)errstr_size;
    ed_gen_t *g = ctx;
    if (g->events && g->next >= g->events) {
        *eof = 1;
        return 0;
    }
    if (g->paused || max <= 0)
        return 0;

    uint64_t n = (uint64_t)max;
    if (g->events && g->events - g->next < n)
        n = g->events - g->next;
    if (g->rate > 0) {
        int64_t now = ed_now_us();
        if (!g->start_us)
            g->start_us = now;
        /* Events due by now: the first one at once, then one per 1/rate s. */
        double due_f = (double)(now - g->start_us) * g->rate / 1e6 + 1.0;
        uint64_t due = due_f >= 1.8e19 ? UINT64_MAX : (uint64_t)due_f;
        if (due <= g->next)
            return 0;
        if (due - g->next < n)
            n = due - g->next;
    }

    char key[24];
    ed_input_t in;
    memset(&in, 0, sizeof in);
    in.partition = -1;
    in.key = key;
    in.ts_ms = ed_wall_ms(); /* one clock read per batch: the events share a millisecond */
    for (uint64_t i = 0; i < n; i++) {
        in.key_len = s_key(key, s_range(s_next(&g->rng), g->keys));
        in.num = (double)s_range(s_next(&g->rng), 100000) / 100.0;
        in.offset = (int64_t)g->next++;
        emit(ud, &in);
    }
    if (g->events && g->next >= g->events)
        *eof = 1;
    return (int)n;
}

static int s_fd(void *ctx) {
    (void)ctx;
    return -1;
}

static int s_checkpoint(void *ctx, uint64_t n) {
    (void)ctx;
    (void)n;
    return 0;
}

static int s_commit(void *ctx, uint64_t n, char *errstr, size_t errstr_size) {
    (void)ctx;
    (void)n;
    (void)errstr;
    (void)errstr_size;
    return 0;
}

static void s_pause(void *ctx, int paused) {
    ((ed_gen_t *)ctx)->paused = paused;
}

static void s_close(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    free(*ctx_p);
    *ctx_p = NULL;
}

const ed_source_type_t ed_source_generator = {
    .name = "generator",
    .kind = ED_SRC_GENERATOR,
    .open = s_open,
    .read = s_read,
    .fd = s_fd,
    .checkpoint = s_checkpoint,
    .commit = s_commit,
    .pause = s_pause,
    .close = s_close,
};
