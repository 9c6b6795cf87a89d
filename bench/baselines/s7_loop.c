/*
 * s7_loop.c — the S7 baseline: one thread generating exactly the events of
 * eddy's generator source with a synthetic event time
 * (actors/sources/ed_source_generator.c, `event_rate`) and windowing them
 * in event time, as fast as it can: the "machine limit" eddy's S7 figures
 * are divided by.
 *
 *   s7_loop tumbling SIZE_MS EVENTS KEYS SEED EVENT_RATE [RSS_EVERY_MS]
 *       count and max(value) per key and tumbling window (Nexmark q7's shape)
 *   s7_loop hopping SIZE_MS SLIDE_MS EVENTS KEYS SEED EVENT_RATE [RSS_EVERY_MS]
 *       count per key and hopping window (Nexmark q5's shape); each event
 *       belongs to SIZE / SLIDE windows
 *
 * Events (the generator's): splitmix64 seeded by SEED; per event one draw for
 * the key index (Lemire's multiply-shift onto [0, KEYS)), key text "k<index>",
 * one draw for the value (onto [0, 100000), / 100); event i has event time
 * 1767225600000 + floor(i · 1000 / EVENT_RATE) ms (in order, so the
 * watermark is the latest event time and nothing is late). Hash: XXH3_64bits.
 *
 * Windowing as eddy does it (actors/aggregate/ed_window.h): windows aligned
 * to the epoch, [start, end); a record updates every window containing it;
 * when the watermark reaches a window's end the window is complete: its rows
 * are emitted (summed into checksums: emitting to nowhere, as the null
 * sink) and its state is freed — its table is cleared and reused for a later
 * window. End of input closes every window. The tables are open-addressing
 * with the key inline (32-byte slots, as s1_loop), sized for the keys one
 * window can hold at load ≤ 0.5, and slots are prefetched 16 events ahead.
 *
 * Prints one JSON object: events, keys (most distinct keys in one window),
 * windows closed, rows emitted, count (sum of the emitted counts = events ×
 * windows per event), max_sum (sum of the emitted maxima, tumbling), seconds,
 * eps, table_bytes (state allocated), entries_peak (most live (key, window)
 * entries), bytes_per_entry (table_bytes / entries_peak), rss_kb (peak).
 * With RSS_EVERY_MS, every RSS_EVERY_MS of event time one line
 * "EVENT_MS_SINCE_START RSS_KB" goes to stderr (the RSS-over-an-hour chart).
 *
 * With the environment variable S7_ROWS=FILE, every emitted row is also
 * written to FILE as one tab-separated line: window start (ms since the
 * epoch), key, count, and with tumbling the max with 2 decimals (values are
 * hundredths) — the rows the scenario compares with eddy's, sorted, line
 * for line. Writing them costs time: a run with S7_ROWS is not a timed one.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define EVENT_START INT64_C(1767225600000) /* the generator's default event_start */

#include "loop_gen.h"

/* One slot, 32 bytes: key inline ("k" + at most 10 digits), count, max. */
#define KEY_INLINE 11
typedef struct {
    uint32_t tag; /* high 32 bits of the key hash */
    uint8_t klen; /* 0 = empty */
    char key[KEY_INLINE];
    int64_t count;
    double max;
} slot_t;

/* The state of one window: a table, reused once the window is freed. */
typedef struct {
    int64_t start; /* window start, ms; INT64_MIN = free */
    size_t used;   /* distinct keys */
    slot_t *slots;
} win_t;

#define AHEAD 16
typedef struct {
    uint64_t hash;
    int64_t ts;
    double num;
    uint8_t klen;
    char key[24];
} pending_t;

typedef struct {
    int64_t size, slide;
    int nper;      /* windows per event: size / slide */
    int nwin;      /* tables: nper + 1 (the newest window opens before the oldest is freed) */
    win_t *wins;
    size_t cap, mask;
    int with_max;  /* tumbling: count and max; hopping: count only */
    /* results */
    uint64_t closed, rows, max_keys, live, live_peak;
    int64_t count;
    double max_sum;
    FILE *rows_out; /* S7_ROWS, or NULL */
} ctx_t;

/* The newest window containing the current time and the index of its
 * table: window k·slide lives in table k mod nwin. */
typedef struct {
    int64_t start; /* INT64_MIN before the first event */
    int table;
} cursor_t;

static int64_t s_floor(int64_t t, int64_t step);

static inline void s_cursor(const ctx_t *c, cursor_t *cu, int64_t ts) {
    if (cu->start != INT64_MIN && ts < cu->start + c->slide)
        return; /* the common case: the same slide as the last event */
    cu->start = s_floor(ts, c->slide);
    int64_t k = cu->start / c->slide, i = k % c->nwin;
    cu->table = (int)(i < 0 ? i + c->nwin : i);
}

static int64_t s_floor(int64_t t, int64_t step) {
    int64_t q = t / step;
    if ((t % step != 0) && ((t < 0) != (step < 0)))
        q--;
    return q * step;
}

/* Emits and frees one window. */
static void s_close(ctx_t *c, win_t *w) {
    if (w->used > c->max_keys)
        c->max_keys = w->used;
    for (size_t i = 0; i < c->cap; i++) {
        slot_t *s = &w->slots[i];
        if (!s->klen)
            continue;
        c->rows++;
        c->count += s->count;
        if (c->with_max)
            c->max_sum += s->max;
        if (c->rows_out) {
            fprintf(c->rows_out, "%" PRId64 "\t%.*s\t%" PRId64, w->start, (int)s->klen, s->key,
                    s->count);
            if (c->with_max)
                fprintf(c->rows_out, "\t%.2f", s->max);
            fputc('\n', c->rows_out);
        }
    }
    memset(w->slots, 0, c->cap * sizeof *w->slots);
    c->live -= w->used;
    w->used = 0;
    w->start = INT64_MIN;
    c->closed++;
}

/* Closes every window with end <= watermark (oldest first). */
static void s_advance(ctx_t *c, int64_t watermark) {
    for (int i = 0; i < c->nwin; i++) {
        /* few tables: a scan is cheaper than keeping them ordered */
        int64_t oldest = INT64_MAX;
        win_t *ow = NULL;
        for (int j = 0; j < c->nwin; j++)
            if (c->wins[j].start != INT64_MIN && c->wins[j].start < oldest)
                oldest = c->wins[j].start, ow = &c->wins[j];
        if (!ow || (watermark != INT64_MAX && oldest + c->size > watermark))
            return;
        s_close(c, ow);
    }
}

static inline void s_add(ctx_t *c, win_t *w, const pending_t *p) {
    uint32_t tag = (uint32_t)(p->hash >> 32);
    size_t at = (size_t)p->hash & c->mask;
    for (;;) {
        slot_t *s = &w->slots[at];
        if (!s->klen) {
            memcpy(s->key, p->key, p->klen);
            s->tag = tag;
            s->klen = p->klen;
            s->count = 1;
            s->max = p->num;
            w->used++;
            if (++c->live > c->live_peak)
                c->live_peak = c->live;
            return;
        }
        if (s->tag == tag && s->klen == p->klen && memcmp(s->key, p->key, p->klen) == 0) {
            s->count++;
            if (p->num > s->max)
                s->max = p->num;
            return;
        }
        at = (at + 1) & c->mask;
    }
}

static double s_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double s_num_arg(const char *s, const char *what) {
    char *end;
    double v = strtod(s, &end);
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'M')
        v *= 1e6, end++;
    else if (*end == 'G')
        v *= 1e9, end++;
    if (*end || !(v >= 0)) {
        fprintf(stderr, "s7_loop: bad %s '%s' (a number, optionally with k, M or G)\n", what, s);
        exit(64);
    }
    return v;
}

static long s_rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss * 4;
}

static int s_usage(void) {
    fprintf(stderr, "usage: s7_loop tumbling SIZE_MS EVENTS KEYS SEED EVENT_RATE [RSS_EVERY_MS]\n"
                    "       s7_loop hopping SIZE_MS SLIDE_MS EVENTS KEYS SEED EVENT_RATE "
                    "[RSS_EVERY_MS]\n");
    return 64;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return s_usage();
    ctx_t c;
    memset(&c, 0, sizeof c);
    int a = 2;
    if (strcmp(argv[1], "tumbling") == 0) {
        if (argc != 7 && argc != 8)
            return s_usage();
        c.size = c.slide = (int64_t)s_num_arg(argv[a++], "size");
        c.with_max = 1;
    } else if (strcmp(argv[1], "hopping") == 0) {
        if (argc != 8 && argc != 9)
            return s_usage();
        c.size = (int64_t)s_num_arg(argv[a++], "size");
        c.slide = (int64_t)s_num_arg(argv[a++], "slide");
    } else {
        return s_usage();
    }
    uint64_t events = (uint64_t)s_num_arg(argv[a++], "events");
    uint64_t keys = (uint64_t)s_num_arg(argv[a++], "keys");
    uint64_t rng = strtoull(argv[a++], NULL, 10);
    double rate = s_num_arg(argv[a++], "event rate");
    int64_t rss_every = a < argc ? (int64_t)s_num_arg(argv[a++], "rss interval") : 0;
    if (c.size <= 0 || c.slide <= 0 || c.slide > c.size || c.size % c.slide || rate <= 0) {
        fprintf(stderr, "s7_loop: sizes must be > 0, the slide must divide the size, and the "
                        "event rate must be > 0\n");
        return 64;
    }
    if (!keys)
        keys = 1;
    if (keys > 10000000000ULL) {
        fprintf(stderr, "s7_loop: at most 10G keys (keys are stored inline)\n");
        return 64;
    }
    c.nper = (int)(c.size / c.slide);
    c.nwin = c.nper + 1;
    const char *rows_path = getenv("S7_ROWS");
    if (rows_path && *rows_path && !(c.rows_out = fopen(rows_path, "w"))) {
        fprintf(stderr, "s7_loop: cannot write S7_ROWS=%s: %m\n", rows_path);
        return 1;
    }

    double t0 = s_now();
    /* A window holds at most min(KEYS, its events) keys; load ≤ 0.5. */
    double per_win = ceil((double)c.size * rate / 1000.0) + 1;
    uint64_t want = keys < per_win ? keys : (uint64_t)per_win;
    c.cap = 16;
    while (c.cap < 2 * want)
        c.cap <<= 1;
    c.mask = c.cap - 1;
    c.wins = calloc((size_t)c.nwin, sizeof *c.wins);
    for (int i = 0; c.wins && i < c.nwin; i++) {
        c.wins[i].start = INT64_MIN;
        c.wins[i].slots = calloc(c.cap, sizeof(slot_t));
        if (!c.wins[i].slots) {
            free(c.wins);
            c.wins = NULL;
        }
    }
    if (!c.wins) {
        fprintf(stderr, "s7_loop: out of memory\n");
        return 1;
    }

    int64_t next_close = INT64_MIN; /* the smallest end of an open window */
    int64_t next_rss = EVENT_START;
    /* The newest window of the current event and its table, for the adding
     * side (cur) and the generating side (gen), advanced when the time
     * crosses a slide: no division per event. */
    cursor_t cur = {INT64_MIN, 0}, gen = {INT64_MIN, 0};
    pending_t ring[AHEAD];
    for (uint64_t i = 0; i < events + AHEAD; i++) {
        pending_t *p = &ring[i % AHEAD];
        if (i >= AHEAD) {
            if (p->ts >= next_close) { /* the watermark reached a window's end */
                s_advance(&c, p->ts);
                next_close = INT64_MAX;
                for (int j = 0; j < c.nwin; j++)
                    if (c.wins[j].start != INT64_MIN && c.wins[j].start + c.size < next_close)
                        next_close = c.wins[j].start + c.size;
            }
            s_cursor(&c, &cur, p->ts);
            int t = cur.table;
            for (int k = 0; k < c.nper; k++) {
                int64_t start = cur.start - (int64_t)k * c.slide;
                win_t *w = &c.wins[t];
                t = t ? t - 1 : c.nwin - 1;
                if (w->start != start) {
                    if (w->start != INT64_MIN) { /* cannot happen with in-order times */
                        fprintf(stderr, "s7_loop: window table still holds [%" PRId64 ", +%" PRId64
                                        ") at event time %" PRId64 "\n",
                                w->start, c.size, p->ts);
                        return 1;
                    }
                    w->start = start; /* its previous window was freed (in order) */
                    if (start + c.size < next_close)
                        next_close = start + c.size;
                }
                s_add(&c, w, p);
            }
            if (rss_every && p->ts >= next_rss) {
                fprintf(stderr, "%" PRId64 " %ld\n", p->ts - EVENT_START, s_rss_kb());
                next_rss += rss_every;
            }
        }
        if (i < events) {
            p->klen = (uint8_t)s_key(p->key, s_range(s_next(&rng), keys));
            p->num = (double)s_range(s_next(&rng), 100000) / 100.0;
            /* the same expression as the generator source */
            p->ts = EVENT_START + (int64_t)floor((double)i * 1000.0 / rate);
            p->hash = XXH3_64bits(p->key, p->klen);
            s_cursor(&c, &gen, p->ts);
            int t = gen.table;
            for (int k = 0; k < c.nper; k++) {
                __builtin_prefetch(&c.wins[t].slots[(size_t)p->hash & c.mask], 1);
                t = t ? t - 1 : c.nwin - 1;
            }
        }
    }
    s_advance(&c, INT64_MAX); /* end of input: every window closes */
    double t1 = s_now();

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    size_t table_bytes = (size_t)c.nwin * c.cap * sizeof(slot_t);
    double secs = t1 - t0;
    printf("{\"shape\":\"%s\",\"size_ms\":%" PRId64 ",\"slide_ms\":%" PRId64
           ",\"events\":%" PRIu64 ",\"keys\":%" PRIu64 ",\"windows\":%" PRIu64
           ",\"rows\":%" PRIu64 ",\"count\":%" PRId64 ",\"max_sum\":%.17g,\"seconds\":%.6f"
           ",\"eps\":%.1f,\"table_bytes\":%zu,\"entries_peak\":%" PRIu64
           ",\"bytes_per_entry\":%.2f,\"rss_kb\":%ld}\n",
           argv[1], c.size, c.slide, events, c.max_keys, c.closed, c.rows, c.count, c.max_sum,
           secs, secs > 0 ? (double)events / secs : 0.0, table_bytes, c.live_peak,
           c.live_peak ? (double)table_bytes / (double)c.live_peak : 0.0, ru.ru_maxrss);
    for (int i = 0; i < c.nwin; i++)
        free(c.wins[i].slots);
    free(c.wins);
    if (c.rows_out && fclose(c.rows_out) != 0) {
        fprintf(stderr, "s7_loop: writing S7_ROWS=%s failed: %m\n", rows_path);
        return 1;
    }
    return c.count == (int64_t)(events * (uint64_t)c.nper) ? 0 : 1;
}
