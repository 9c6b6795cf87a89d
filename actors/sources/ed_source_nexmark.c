/*
 * ed_source_nexmark.c — the Nexmark benchmark's events made in-process
 * (persons, auctions and bids, ed_gen_nexmark.h), one JSON object per
 * input, decoded with `format: json` like any other payload.
 *
 * A type of its own beside `generator`: the generator's events carry no
 * payload (`format` does not apply to them), these carry one, and a
 * source type declares that once (ED_CAP_PAYLOAD).
 *
 * Input n is event number n: offset n, `@timestamp` and `date_time` its
 * event time (start + ⌊n · 1000 / event_rate⌋ ms), no key. With
 * `instances: K`, instance i makes the events n ≡ i (mod K), each in
 * increasing time: together the same events as one instance, since an
 * event depends only on (seed, n). Pacing (`rate`) as the generator's:
 * the events due since the first read, caught up at full speed when late.
 * checkpoint/commit do nothing: there is no position to keep.
 */
#include "actors/sources/ed_source.h"

#include <stdlib.h>
#include <string.h>

#include "actors/sources/ed_gen_nexmark.h"

typedef struct {
    uint64_t events;      /* total events, 0 = unbounded */
    uint64_t seed;        /* random seed */
    double rate;          /* events per wall-clock second, 0 = as fast as possible */
    double event_rate;    /* events per second of event time */
    uint64_t event_start; /* event time of event 0, ms since the epoch */
    int instance, instances; /* set by s_instance: this one makes n ≡ instance (mod instances) */
} s_opts_t;

typedef struct {
    ed_nexmark_t *nx;
    uint64_t next;   /* the next event number */
    uint64_t end;    /* one past the last event number; UINT64_MAX = unbounded */
    uint64_t step;   /* instances */
    uint64_t made;   /* events made by this instance */
    double rate;     /* this instance's share of the pacing rate */
    int64_t start_us; /* ed_now_us() of the first read; 0 before it */
    int paused;
    char json[ED_NEXMARK_MAX_JSON];
} s_ctx_t;

static const ed_conf_map_t s_map[] = {
    {ED_CONF_COUNT, "events", "0", offsetof(s_opts_t, events), 0,
     "total events (persons, auctions and bids together); `0` = unbounded", .min = 0},
    {ED_CONF_COUNT, "seed", "1", offsetof(s_opts_t, seed), 0,
     "random seed: the same seed gives the same events as `eddy gen nexmark --seed`", .min = 0},
    {ED_CONF_RATE, "rate", "0", offsetof(s_opts_t, rate), 0,
     "events per wall-clock second; `0` = as fast as possible", .min = 0},
    {ED_CONF_RATE, "event_rate", "10k", offsetof(s_opts_t, event_rate), 0,
     "events per second of **event time**: event *n* has `date_time` = `event_start + ⌊n · "
     "1000 / event_rate⌋` ms (Beam's Nexmark default, 10,000/s)",
     .min = 0},
    {ED_CONF_COUNT, "event_start", "1767225600000", offsetof(s_opts_t, event_start), 0,
     "the event time of event 0, ms since the epoch (default 2026-01-01T00:00:00Z, as `eddy "
     "gen`)",
     .min = 0},
    {0}};

static const ed_conf_meta_t s_meta[] = {
    {"@offset", "the event number *n*, 0-based, over all instances"},
    {"@timestamp", "the event time, equal to `date_time`"},
    {NULL, NULL}};

static int s_validate(ed_conf_check_t *ck, void *opts) {
    const s_opts_t *o = opts;
    const ed_conf_source_t *src = ed_conf_check_source(ck);
    if (!(o->event_rate > 0))
        return ed_conf_check_err(ck, "event_rate",
                                 "source '%s': event_rate must be above 0 events per second of "
                                 "event time, e.g. 10k",
                                 src->name);
    if (src->format != ED_FMT_JSON)
        return ed_conf_check_err(ck, "format",
                                 "source '%s': a nexmark source makes JSON events; set "
                                 "`format: json`",
                                 src->name);
    return ed_source_check_instance_events(ck, o->events);
}

static void s_instance(void *opts, int instance, int n) {
    s_opts_t *o = opts;
    o->instance = instance;
    o->instances = n;
}

static int s_open(void **ctx_p, const ed_config_t *conf, const ed_conf_source_t *src, char *errstr,
                  size_t errstr_size) {
    (void)conf;
    const s_opts_t *o = src->opts;
    if (!o || !(o->event_rate > 0))
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "source '%s': nexmark event_rate must be above 0", src->name);
    s_ctx_t *c = ed_calloc(1, sizeof *c);
    ed_nexmark_opts_t no = {.seed = o->seed, .rate = o->event_rate,
                            .start_ms = (int64_t)o->event_start};
    c->nx = ed_nexmark_new(&no);
    c->step = o->instances > 1 ? (uint64_t)o->instances : 1;
    c->next = (uint64_t)o->instance;
    c->end = o->events ? o->events : UINT64_MAX;
    c->rate = o->rate / (double)c->step;
    *ctx_p = c;
    return 0;
}

static int s_read(void *ctx, int max, ed_input_emit_fn emit, void *ud, int *eof, char *errstr,
                  size_t errstr_size) {
    (void)errstr;
    (void)errstr_size;
    s_ctx_t *c = ctx;
    if (c->next >= c->end) {
        *eof = 1;
        return 0;
    }
    if (c->paused || max <= 0)
        return 0;
    uint64_t n = ed_source_due(&c->start_us, c->rate, c->made, (uint64_t)max);
    ed_input_t in;
    memset(&in, 0, sizeof in);
    in.partition = -1;
    in.data = c->json;
    uint64_t done = 0;
    for (; done < n && c->next < c->end; done++) {
        int64_t id;
        in.ts_ms = ed_nexmark_time(c->nx, c->next);
        in.len = ed_nexmark_event(c->nx, c->next, in.ts_ms, c->json, &id);
        in.offset = (int64_t)c->next;
        c->next = c->end - c->next > c->step ? c->next + c->step : c->end;
        emit(ud, &in);
    }
    c->made += done;
    if (c->next >= c->end)
        *eof = 1;
    return (int)done;
}

static void s_pause(void *ctx, int paused) {
    ((s_ctx_t *)ctx)->paused = paused;
}

static void s_close(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    s_ctx_t *c = *ctx_p;
    ed_nexmark_destroy(&c->nx);
    free(c);
    *ctx_p = NULL;
}

const ed_source_type_t ed_source_nexmark = {
    .conf = {.name = "nexmark",
             .desc = "the Nexmark benchmark's persons, auctions and bids (1:3:46), made "
                     "in-process as JSON events (`format: json`; fields in docs/gen.md)",
             .map = s_map,
             .opts_size = sizeof(s_opts_t),
             .caps = ED_CAP_PAYLOAD | ED_CAP_INSTANCES,
             .meta = s_meta,
             .example = "nexmark: { events: 10M, seed: 1 }",
             .validate = s_validate},
    .instance = s_instance,
    .open = s_open,
    .read = s_read,
    .fd = ed_source_fd_none,
    .checkpoint = ed_source_checkpoint_none,
    .commit = ed_source_commit_none,
    .pause = s_pause,
    .close = s_close,
};
