/*
 * ed_source_generator.c — built-in synthetic events, for tests and benchmarks.
 *
 * Event i (0-based) has
 *   key    "k<j>" with j drawn uniformly from [0, keys) by splitmix64(seed)
 *   num    a value in [0, 1000) with two decimals, from the same stream
 *   offset i,  data NULL / len 0,
 *   ts_ms  (@timestamp) the wall clock when emitted; with event_rate R > 0
 *          a synthetic event time instead, event_start + ⌊i · 1000 / R⌋ ms
 *          (the same for every run: windowed benchmarks and tests read it
 *          with `time: { field: "@timestamp" }`).
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

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t events;  /* total to emit; 0 = unbounded */
    uint64_t keys;    /* distinct keys, ≥ 1 */
    double rate;      /* events per second; 0 = as fast as possible */
    double event_rate;   /* events per second of event time; 0 = ts is the wall clock */
    int64_t event_start; /* event time of event 0, ms since the epoch */
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

/* ---- options (the config map; see config/ed_conf_map.h) ---- */

typedef struct {
    uint64_t events; /* total events, 0 = unbounded */
    uint64_t keys;   /* distinct keys */
    double rate;     /* events per second, 0 = as fast as possible */
    uint64_t seed;   /* random seed */
    double event_rate;    /* events per second of event time, 0 = wall clock */
    uint64_t event_start; /* event time of event 0, ms since the epoch */
} s_gen_opts_t;

static const ed_conf_map_t s_gen_map[] = {
    {ED_CONF_COUNT, "events", "0", offsetof(s_gen_opts_t, events), 0,
     "total events; `0` = unbounded", .min = 0},
    {ED_CONF_COUNT, "keys", "1000", offsetof(s_gen_opts_t, keys), 0, "distinct keys", .min = 1},
    {ED_CONF_RATE, "rate", "0", offsetof(s_gen_opts_t, rate), 0,
     "events per second; `0` = as fast as possible", .min = 0},
    {ED_CONF_COUNT, "seed", "1", offsetof(s_gen_opts_t, seed), 0, "random seed", .min = 0},
    {ED_CONF_RATE, "event_rate", "0", offsetof(s_gen_opts_t, event_rate), 0,
     "events per second of **event time**: `@timestamp` of event *i* is `event_start + ⌊i · "
     "1000 / event_rate⌋` ms, the same in every run (for windows: `time: { field: "
     "\"@timestamp\" }`); `0` = the wall clock when generated",
     .min = 0},
    {ED_CONF_COUNT, "event_start", "1767225600000", offsetof(s_gen_opts_t, event_start), 0,
     "with `event_rate`: the event time of event 0, ms since the epoch (default "
     "2026-01-01T00:00:00Z, as `eddy gen`)",
     .min = 0},
    {0}};

static const ed_conf_meta_t s_gen_meta[] = {
    {"@key", "the generated key, `k<n>`"},
    {"@value", "a number from 0 to 999.99"},
    {"@offset", "the event's sequence number"},
    {"@timestamp", "the time it was generated, ms since the epoch (with `event_rate`: its "
                   "synthetic event time)"},
    {NULL, NULL}};

/* Each instance needs at least one event: one with 0 would run unbounded. */
static int s_gen_validate(ed_conf_check_t *ck, void *opts) {
    return ed_source_check_instance_events(ck, ((const s_gen_opts_t *)opts)->events);
}

/* Instances split the events evenly, draw from different seeds and share
 * the rate and the event rate (together they advance event time at
 * event_rate). */
static void s_gen_instance(void *opts, int instance, int n) {
    s_gen_opts_t *o = opts;
    uint64_t ev = o->events;
    o->events = ev / (uint64_t)n + ((uint64_t)instance < ev % (uint64_t)n ? 1 : 0);
    o->seed += (uint64_t)instance * 0x9E3779B97F4A7C15ull;
    o->rate /= (double)n;
    o->event_rate /= (double)n;
}

static int s_open(void **ctx_p, const ed_config_t *conf, const ed_conf_source_t *src, char *errstr,
                  size_t errstr_size) {
    (void)conf;
    const s_gen_opts_t *o = src->opts;
    if (!o || o->rate < 0)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "source '%s': generator rate must be >= 0 events/s, got %g", src->name,
                         o ? o->rate : -1.0);
    ed_gen_t *g = ed_calloc(1, sizeof *g);
    g->events = o->events;
    g->keys = o->keys ? o->keys : 1;
    g->rate = o->rate;
    g->event_rate = o->event_rate;
    g->event_start = (int64_t)o->event_start;
    g->rng = o->seed;
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
    if (!(n = ed_source_due(&g->start_us, g->rate, g->next, n)))
        return 0;

    char key[24];
    ed_input_t in;
    memset(&in, 0, sizeof in);
    in.partition = -1;
    in.key = key;
    in.ts_ms = ed_wall_ms(); /* one clock read per batch: the events share a millisecond */
    for (uint64_t i = 0; i < n; i++) {
        in.key_len = s_key(key, s_range(s_next(&g->rng), g->keys));
        in.num = (double)s_range(s_next(&g->rng), 100000) / 100.0;
        if (g->event_rate > 0) /* the same expression as bench/baselines/s7_loop.c */
            in.ts_ms = g->event_start + (int64_t)floor((double)g->next * 1000.0 / g->event_rate);
        in.offset = (int64_t)g->next++;
        emit(ud, &in);
    }
    if (g->events && g->next >= g->events)
        *eof = 1;
    return (int)n;
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
    .conf = {.name = "generator",
             .desc = "synthetic events, for tests and benchmarks: keys and values of its own, no "
                     "payload to decode (`format` does not apply)",
             .map = s_gen_map,
             .opts_size = sizeof(s_gen_opts_t),
             .caps = ED_CAP_INSTANCES,
             .meta = s_gen_meta,
             .example = "generator: { events: 1M, keys: 1000 }",
             .validate = s_gen_validate},
    .instance = s_gen_instance,
    .open = s_open,
    .read = s_read,
    .fd = ed_source_fd_none,
    .checkpoint = ed_source_checkpoint_none,
    .commit = ed_source_commit_none,
    .pause = s_pause,
    .close = s_close,
};
