/* ed_plan.c — see ed_plan.h. */
#define _GNU_SOURCE
#include "actors/ed_plan.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/aggregate/ed_agg_actor.h"
#include "actors/aggregate/ed_state_store.h"
#include "actors/aggregate/ed_aggwin.h"
#include "actors/decode/ed_transform.h"
#include "actors/aggregate/ed_aggfn.h"
#include "actors/decode/ed_decoder_actor.h"
#include "actors/decode/ed_where.h"
#include "actors/ed_checkpoint.h"
#include "actors/ed_coordinator.h"
#include "actors/ed_eo.h"
#include "actors/sources/ed_source_actor.h"
#include "actors/sources/ed_watermark.h"
#include "runtime/ed_buf.h"
#include "sinks/ed_sink_actor.h"

/* What an actor is, to free its state. */
typedef enum { ED_NODE_COORD, ED_NODE_SOURCE, ED_NODE_DECODER, ED_NODE_AGG, ED_NODE_SINK } ed_node_kind_t;

/* One actor of the plan, by actor id. */
typedef struct {
    ed_node_kind_t kind;
    void *state;          /* owned; freed by the destroy of its kind */
    ed_plan_link_t *out;  /* [nout] links it sends on */
    int nout;
    uint32_t *in;         /* [nin] actors that send to it */
    int nin;
} ed_node_t;

/* One keyer's watermark on a cache line of its own (written per batch). */
typedef struct {
    _Alignas(64) int64_t ms;
} ed_wm_cell_t;

struct ed_plan {
    const ed_config_t *conf; /* borrowed */
    ed_runtime_t *rt;        /* owned */
    ed_node_t *nodes;        /* [nnodes] by actor id */
    int nnodes;
    int *source_of;          /* [nsource_actors] config source index of each source actor */
    int *source_instance;    /* [nsource_actors] instance number within its source */
    int nsource_actors;      /* sum of sources[i].instances */
    int *decoder_first;      /* [nsource_actors] index of its first decoder */
    int *decoder_source;     /* [ndecoder_actors] source actor slot of each decoder */
    int ndecoder_actors;
    int naggs;               /* conf->runtime.aggregators, or 0 without aggregations */
    int64_t exit_when_idle_ms;
    atomic_int stop_requested; /* set by the signal handler thread; read by the coordinator */
    ed_source_stats_t *source_stats; /* [nsource_actors] */
    ed_wm_cell_t *wm_cells;          /* [nnodes] keyers' watermarks (ed_plan_watermark_cell) */
    ed_part_cell_t *part_cells;      /* [2 * nnodes] per partition figures (ed_plan_parts_cell) */
    ed_agg_stats_t *agg_stats;       /* [naggs] */
    ed_sink_stats_t *sink_stats;     /* [conf->nsinks] */
    ed_sink_live_t *sink_live;       /* [conf->nsinks] */
    ed_where_stats_t *agg_where;     /* [conf->naggregations] */
    ed_where_stats_t *alert_where;   /* [conf->nalerts] (per-record alerts only) */
    ed_agg_late_t *agg_late;         /* [conf->naggregations] late records (ed_plan_agg_late) */
    ed_run_stats_t run;              /* written by the coordinator */
    int64_t start_ms;                /* ed_now_ms() when the run started */
    int64_t end_ms;                  /* when the workers stopped */
    ed_state_store_t *state;         /* runtime.state_dir opened, or NULL (memory only) */
    ed_eo_t *eo;                     /* runtime.delivery: exactly_once, or NULL */
};

/* ---- ids: coordinator, sources, decoders, aggregators, sinks ---- */

uint32_t ed_plan_coordinator(const ed_plan_t *plan) { return 0; }
int ed_plan_nsources(const ed_plan_t *plan) { return plan->nsource_actors; }
uint32_t ed_plan_source_id(const ed_plan_t *plan, int slot) { return (uint32_t)(1 + slot); }
int ed_plan_ndecoders(const ed_plan_t *plan) { return plan->ndecoder_actors; }
uint32_t ed_plan_decoder_id(const ed_plan_t *plan, int d) {
    return (uint32_t)(1 + plan->nsource_actors + d);
}
int ed_plan_naggs(const ed_plan_t *plan) { return plan->naggs; }
uint32_t ed_plan_agg_id(const ed_plan_t *plan, int p) {
    return (uint32_t)(1 + plan->nsource_actors + plan->ndecoder_actors + p);
}
uint32_t ed_plan_sink_id(const ed_plan_t *plan, int k) {
    return (uint32_t)(1 + plan->nsource_actors + plan->ndecoder_actors + plan->naggs + k);
}
int ed_plan_source_config(const ed_plan_t *plan, int slot) { return plan->source_of[slot]; }
int ed_plan_source_instance(const ed_plan_t *plan, int slot) {
    return plan->source_instance[slot];
}
int ed_plan_decoder_source(const ed_plan_t *plan, int d) { return plan->decoder_source[d]; }

const ed_config_t *ed_plan_config(const ed_plan_t *plan) { return plan->conf; }
int64_t *ed_plan_watermark_cell(ed_plan_t *plan, uint32_t actor) {
    return &plan->wm_cells[actor].ms;
}
ed_part_cell_t *ed_plan_parts_cell(ed_plan_t *plan, uint32_t actor, int which) {
    return &plan->part_cells[2 * actor + (which ? 1 : 0)];
}

ed_source_stats_t *ed_plan_source_stats(ed_plan_t *plan, int slot) {
    return &plan->source_stats[slot];
}
ed_agg_stats_t *ed_plan_agg_stats(ed_plan_t *plan, int p) { return &plan->agg_stats[p]; }
ed_sink_stats_t *ed_plan_sink_stats(ed_plan_t *plan, int k) { return &plan->sink_stats[k]; }
ed_run_stats_t *ed_plan_run_stats(ed_plan_t *plan) { return &plan->run; }
ed_sink_live_t *ed_plan_sink_live(ed_plan_t *plan, int k) { return &plan->sink_live[k]; }
ed_runtime_t *ed_plan_runtime(ed_plan_t *plan) { return plan->rt; }
ed_state_store_t *ed_plan_state(const ed_plan_t *plan) { return plan->state; }
ed_eo_t *ed_plan_eo(const ed_plan_t *plan) { return plan->eo; }
int64_t ed_plan_start_ms(const ed_plan_t *plan) {
    return ed_stat_get_i64(&plan->start_ms);
}
ed_where_stats_t *ed_plan_agg_where_stats(ed_plan_t *plan, int a) { return &plan->agg_where[a]; }
ed_where_stats_t *ed_plan_alert_where_stats(ed_plan_t *plan, int r) {
    return &plan->alert_where[r];
}
ed_agg_late_t *ed_plan_agg_late(ed_plan_t *plan, int a) { return &plan->agg_late[a]; }
int64_t ed_plan_exit_when_idle_ms(const ed_plan_t *plan) { return plan->exit_when_idle_ms; }
void ed_plan_request_stop(ed_plan_t *plan) { atomic_store(&plan->stop_requested, 1); }
int ed_plan_stop_requested(const ed_plan_t *plan) {
    return atomic_load(&((ed_plan_t *)plan)->stop_requested);
}

/* ---- wiring ---- */

int ed_plan_receivers(const ed_plan_t *plan, uint32_t actor, const ed_plan_link_t **links) {
    *links = plan->nodes[actor].out;
    return plan->nodes[actor].nout;
}

int ed_plan_receivers_of(const ed_plan_t *plan, uint32_t actor, unsigned kinds, uint32_t *ids,
                         int max) {
    const ed_node_t *n = &plan->nodes[actor];
    int count = 0;
    for (int i = 0; i < n->nout; i++)
        if (n->out[i].kinds & kinds) {
            if (count < max)
                ids[count] = n->out[i].to;
            count++;
        }
    return count;
}

int ed_plan_senders(const ed_plan_t *plan, uint32_t actor, const uint32_t **ids) {
    *ids = plan->nodes[actor].in;
    return plan->nodes[actor].nin;
}

void ed_plan_send_barriers_value(const ed_plan_t *plan, ed_actor_t *self, uint64_t n,
                                 uint32_t flags, int64_t value) {
    const ed_node_t *node = &plan->nodes[ed_actor_id(self)];
    for (int i = 0; i < node->nout; i++) {
        ed_msg_t *m = ed_checkpoint_msg(ED_MSG_BARRIER, n, flags, value);
        ed_actor_send(self, node->out[i].to, &m);
    }
}

void ed_plan_send_barriers(const ed_plan_t *plan, ed_actor_t *self, uint64_t n, uint32_t flags) {
    ed_plan_send_barriers_value(plan, self, n, flags, 0);
}

/* Adds a link from → to carrying `kind`; a second kind on the same pair
 * joins the first link, so the pair still carries one barrier. */
static void s_link(ed_plan_t *plan, uint32_t from, uint32_t to, ed_link_kind_t kind) {
    ed_node_t *f = &plan->nodes[from], *t = &plan->nodes[to];
    for (int i = 0; i < f->nout; i++)
        if (f->out[i].to == to) {
            f->out[i].kinds |= kind;
            return;
        }
    f->out = ed_realloc(f->out, sizeof *f->out * (size_t)(f->nout + 1));
    f->out[f->nout++] = (ed_plan_link_t){.to = to, .kinds = kind};
    t->in = ed_realloc(t->in, sizeof *t->in * (size_t)(t->nin + 1));
    t->in[t->nin++] = from;
}

/* 1 if sink k receives changelog rows, alerts or too-late records
 * (`late: SINK`) from some aggregation. */
static int s_sink_fed_by_aggs(const ed_config_t *conf, int k) {
    for (int a = 0; a < conf->naggregations; a++) {
        for (int t = 0; t < conf->aggregations[a].nto; t++)
            if (conf->aggregations[a].to_idx[t] == k)
                return 1;
        if (conf->aggregations[a].window.late == ED_WLATE_SINK &&
            conf->aggregations[a].window.late_idx == k)
            return 1;
    }
    for (int r = 0; r < conf->nalerts; r++)
        for (int t = 0; t < conf->alerts[r].nto && conf->alerts[r].on_idx >= 0; t++)
            if (conf->alerts[r].to_idx[t] == k)
                return 1;
    return 0;
}

static int s_source_has_aggs(const ed_config_t *conf, int i) {
    for (int a = 0; a < conf->naggregations; a++)
        if (conf->aggregations[a].from_idx == i)
            return 1;
    return 0;
}

/* Every link of the pipeline, decided here once. */
static void s_wire(ed_plan_t *plan) {
    const ed_config_t *conf = plan->conf;
    for (int i = 0; i < plan->nsource_actors; i++) {
        const ed_conf_source_t *src = &conf->sources[plan->source_of[i]];
        uint32_t self = ed_plan_source_id(plan, i);
        int nd = src->decoders, d0 = plan->decoder_first[i];
        for (int n = 0; n < nd; n++)
            s_link(plan, self, ed_plan_decoder_id(plan, d0 + n), ED_LINK_INPUTS);
        /* The actors that key records: the source actor, or its decoders. */
        if (s_source_has_aggs(conf, plan->source_of[i]))
            for (int n = 0; n < (nd ? nd : 1); n++)
                for (int p = 0; p < plan->naggs; p++)
                    s_link(plan, nd ? ed_plan_decoder_id(plan, d0 + n) : self,
                           ed_plan_agg_id(plan, p), ED_LINK_KEYED);
        /* Pass-through records: sent raw by the source actor, or, after
         * transforms, by whoever applies them (the keyer's actors). */
        for (int t = 0; t < src->nto; t++)
            for (int n = 0; n < (nd && src->transforms ? nd : 1); n++)
                s_link(plan, nd && src->transforms ? ed_plan_decoder_id(plan, d0 + n) : self,
                       ed_plan_sink_id(plan, ed_config_sink_idx(conf, src->to[t])),
                       ED_LINK_RECORDS);
        if (src->rejects) {
            uint32_t rj = ed_plan_sink_id(plan, ed_config_sink_idx(conf, src->rejects));
            s_link(plan, self, rj, ED_LINK_REJECTS);
            for (int n = 0; n < nd; n++)
                s_link(plan, ed_plan_decoder_id(plan, d0 + n), rj, ED_LINK_REJECTS);
        }
        /* Per-record alerts on the source: sent by whoever keys its records. */
        for (int r = 0; r < conf->nalerts; r++) {
            const ed_conf_alert_t *al = &conf->alerts[r];
            for (int t = 0; t < al->nto && al->source_idx == plan->source_of[i]; t++)
                for (int n = 0; n < (nd ? nd : 1); n++)
                    s_link(plan, nd ? ed_plan_decoder_id(plan, d0 + n) : self,
                           ed_plan_sink_id(plan, al->to_idx[t]), ED_LINK_ALERTS);
        }
    }
    for (int p = 0; p < plan->naggs; p++)
        for (int k = 0; k < conf->nsinks; k++)
            if (s_sink_fed_by_aggs(conf, k))
                s_link(plan, ed_plan_agg_id(plan, p), ed_plan_sink_id(plan, k), ED_LINK_CHANGES);
    /* A sink that refuses records sends them to their source's rejects sink. */
    for (int k = 0; k < conf->nsinks; k++)
        for (int i = 0; i < conf->nsources; i++) {
            int to = ed_config_reject_route(conf, k, i);
            if (to >= 0)
                s_link(plan, ed_plan_sink_id(plan, k), ed_plan_sink_id(plan, to), ED_LINK_REJECTS);
        }
}

/* Zeroed array of n elements of `size` bytes starting on a cache line, for
 * the per-actor counters (see ed_plan.h); free with free(). */
static void *s_calloc_lines(size_t n, size_t size) {
    size_t bytes = (n ? n : 1) * size;
    bytes = (bytes + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes);
    if (!p) {
        ED_LOG_E(NULL, "out of memory allocating %zu bytes; exiting", bytes);
        abort();
    }
    return memset(p, 0, bytes);
}

/* Counts the actors and numbers them; no states yet. */
static void s_layout(ed_plan_t *plan) {
    const ed_config_t *conf = plan->conf;
    int S = 0;
    for (int i = 0; i < conf->nsources; i++)
        S += conf->sources[i].instances > 0 ? conf->sources[i].instances : 1;
    plan->nsource_actors = S;
    plan->source_of = ed_calloc((size_t)S + 1, sizeof *plan->source_of);
    plan->source_instance = ed_calloc((size_t)S + 1, sizeof *plan->source_instance);
    plan->decoder_first = ed_calloc((size_t)S + 1, sizeof *plan->decoder_first);
    int D = 0;
    for (int i = 0, a = 0; i < conf->nsources; i++)
        for (int n = 0; n < (conf->sources[i].instances > 0 ? conf->sources[i].instances : 1);
             n++, a++) {
            plan->source_of[a] = i;
            plan->source_instance[a] = n;
            plan->decoder_first[a] = D;
            D += conf->sources[i].decoders;
        }
    plan->ndecoder_actors = D;
    plan->decoder_source = ed_calloc((size_t)D + 1, sizeof *plan->decoder_source);
    for (int a = 0; a < S; a++)
        for (int n = 0; n < conf->sources[plan->source_of[a]].decoders; n++)
            plan->decoder_source[plan->decoder_first[a] + n] = a;
    plan->naggs = conf->naggregations ? conf->runtime.aggregators : 0;
    plan->nnodes = 1 + S + D + plan->naggs + conf->nsinks;
    plan->nodes = ed_calloc((size_t)plan->nnodes, sizeof *plan->nodes);
    plan->source_stats = s_calloc_lines((size_t)S, sizeof *plan->source_stats);
    plan->wm_cells = s_calloc_lines((size_t)plan->nnodes, sizeof *plan->wm_cells);
    for (int i = 0; i < plan->nnodes; i++)
        plan->wm_cells[i].ms = ED_WATERMARK_END;
    plan->part_cells = ed_calloc(2 * (size_t)plan->nnodes, sizeof *plan->part_cells);
    for (int i = 0; i < 2 * plan->nnodes; i++)
        ed_part_cell_init(&plan->part_cells[i]);
    plan->agg_stats = s_calloc_lines((size_t)plan->naggs + 1, sizeof *plan->agg_stats);
    plan->sink_stats = ed_calloc((size_t)conf->nsinks + 1, sizeof *plan->sink_stats);
    plan->sink_live = ed_calloc((size_t)conf->nsinks + 1, sizeof *plan->sink_live);
    for (int k = 0; k < conf->nsinks; k++)
        pthread_mutex_init(&plan->sink_live[k].lock, NULL);
    plan->agg_where = ed_calloc((size_t)conf->naggregations + 1, sizeof *plan->agg_where);
    plan->alert_where = ed_calloc((size_t)conf->nalerts + 1, sizeof *plan->alert_where);
    plan->agg_late = ed_calloc((size_t)conf->naggregations + 1, sizeof *plan->agg_late);
}

/* Adds actor `id` to the runtime; ids are given in order, so the runtime's
 * numbering is the plan's. */
static void s_add(ed_plan_t *plan, uint32_t id, ed_node_kind_t kind, void *state,
                  const ed_actor_type_t *type, const char *name, int worker) {
    plan->nodes[id].kind = kind;
    plan->nodes[id].state = state;
    ed_actor_t *a = ed_runtime_add(plan->rt, type, name, state, worker);
    (void)a;
    assert(ed_actor_id(a) == id);
}

/* Builds every actor state and adds it to the runtime. */
static int s_build(ed_plan_t *plan, char *errstr, size_t errstr_size) {
    const ed_config_t *conf = plan->conf;
    /* Data-path actors (coordinator, sources, decoders, aggregators) share
     * runtime.workers threads; each sink gets a thread of its own (W + k),
     * because a sink blocks on its server's round trips (a transaction
     * commit, a delivery report) and must not stall the data path or the
     * other sinks. */
    int W = conf->runtime.workers, next_worker = 1;
    char name[300];
    s_add(plan, ed_plan_coordinator(plan), ED_NODE_COORD, ed_coordinator_new(plan),
          &ed_coordinator_actor, "coordinator", 0);
    for (int i = 0; i < plan->nsource_actors; i++) {
        ed_source_actor_t *st = ed_source_actor_new(plan, i, errstr, errstr_size);
        if (!st)
            return -1;
        const ed_conf_source_t *src = &conf->sources[plan->source_of[i]];
        if (src->instances > 1)
            snprintf(name, sizeof name, "%s#%d", src->name, plan->source_instance[i]);
        else
            snprintf(name, sizeof name, "%s", src->name);
        s_add(plan, ed_plan_source_id(plan, i), ED_NODE_SOURCE, st, &ed_source_actor, name,
              next_worker++ % W);
    }
    for (int d = 0; d < plan->ndecoder_actors; d++) {
        ed_decoder_actor_t *st = ed_decoder_actor_new(plan, d, errstr, errstr_size);
        if (!st)
            return -1;
        int slot = plan->decoder_source[d];
        const ed_conf_source_t *src = &conf->sources[plan->source_of[slot]];
        int n = d - plan->decoder_first[slot];
        if (src->instances > 1)
            snprintf(name, sizeof name, "%s#%d/decoder-%d", src->name,
                     plan->source_instance[slot], n);
        else
            snprintf(name, sizeof name, "%s/decoder-%d", src->name, n);
        s_add(plan, ed_plan_decoder_id(plan, d), ED_NODE_DECODER, st, &ed_decoder_actor, name,
              next_worker++ % W);
    }
    /* Aggregators go round-robin over the workers that host no source or
     * decoder actor when there are such workers (fewer reading actors than
     * workers: one generator or Kafka consumer on 2 workers), else over all.
     * A reading actor keys every record it reads and is the busiest actor
     * of its worker; aggregators beside it would slow it down while another
     * worker idles. */
    int readers = plan->nsource_actors + plan->ndecoder_actors;
    int agg_first = readers < W ? 1 + readers : next_worker, agg_n = readers < W ? W - readers : W;
    for (int p = 0; p < plan->naggs; p++) {
        ed_agg_actor_t *st = ed_agg_actor_new(plan, p, errstr, errstr_size);
        if (!st)
            return -1;
        snprintf(name, sizeof name, "aggregator-%d", p);
        s_add(plan, ed_plan_agg_id(plan, p), ED_NODE_AGG, st, &ed_agg_actor, name,
              (agg_first + p % agg_n) % W);
    }
    for (int k = 0; k < conf->nsinks; k++) {
        const ed_sink_type_t *type = ed_sink_type_of(&conf->sinks[k]);
        if (!type)
            return ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': no plugin for its type",
                             conf->sinks[k].name);
        ed_sink_actor_t *st = ed_sink_actor_new(plan, k, type, errstr, errstr_size);
        if (!st)
            return -1;
        s_add(plan, ed_plan_sink_id(plan, k), ED_NODE_SINK, st, &ed_sink_actor,
              conf->sinks[k].name, W + k);
    }
    return 0;
}

ed_plan_t *ed_plan_new(const ed_config_t *conf, int64_t exit_when_idle_ms, char *errstr,
                       size_t errstr_size) {
    if (conf->nsinks == 0) {
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "%s:1:1: the pipeline has no sinks; expected one under 'sinks:' (a 'null' "
                  "sink discards)",
                  conf->path);
        return NULL;
    }
    ed_plan_t *plan = ed_calloc(1, sizeof *plan);
    plan->conf = conf;
    plan->exit_when_idle_ms = exit_when_idle_ms;
    atomic_init(&plan->stop_requested, 0);
    plan->rt = ed_runtime_new(conf->runtime.workers + conf->nsinks, conf->runtime.mailbox_hwm,
                              errstr, errstr_size);
    if (!plan->rt) {
        free(plan);
        return NULL;
    }
    s_layout(plan);
    s_wire(plan); /* before the states: their constructors read the links */
    if (conf->runtime.delivery == ED_DELIVERY_EXACTLY_ONCE)
        plan->eo = ed_eo_new(conf, plan->nsource_actors);
    /* Before the aggregators: each restores its snapshot as it is built. */
    if (conf->runtime.state_dir && plan->naggs &&
        ed_state_store_open(conf->runtime.state_dir, conf, plan->naggs, &plan->state, errstr,
                            errstr_size) < 0) {
        ed_plan_destroy(&plan);
        return NULL;
    }
    if (s_build(plan, errstr, errstr_size) < 0) {
        ed_plan_destroy(&plan);
        return NULL;
    }
    return plan;
}

/* Counters of config source i, summed over its instances. */
static ed_source_stats_t s_source_sum(const ed_plan_t *plan, int i) {
    ed_source_stats_t sum = {0};
    for (int a = 0; a < plan->nsource_actors; a++) {
        if (plan->source_of[a] != i)
            continue;
        sum.inputs += ed_stat_get(&plan->source_stats[a].inputs);
        sum.records += ed_stat_get(&plan->source_stats[a].records);
        sum.rejected += ed_stat_get(&plan->source_stats[a].rejected);
        sum.filtered += ed_stat_get(&plan->source_stats[a].filtered);
        sum.commits += ed_stat_get(&plan->source_stats[a].commits);
    }
    return sum;
}

static void s_summary(const ed_plan_t *plan) {
    const ed_config_t *conf = plan->conf;
    for (int i = 0; i < conf->nsources; i++) {
        ed_source_stats_t sum = s_source_sum(plan, i);
        const ed_source_stats_t *st = &sum;
        ED_LOG_I(conf->sources[i].name, "read %llu inputs, %llu records, rejected %llu%s",
                 (unsigned long long)st->inputs, (unsigned long long)st->records,
                 (unsigned long long)st->rejected,
                 conf->sources[i].transforms ? ", some filtered by transforms (--stats)" : "");
    }
    for (int f = 0; f < conf->naggregations + conf->nalerts; f++) {
        int agg = f < conf->naggregations, r = f - conf->naggregations;
        const ed_where_stats_t *w = agg ? &plan->agg_where[f] : &plan->alert_where[r];
        if (agg ? !conf->aggregations[f].where : conf->alerts[r].source_idx < 0)
            continue;
        ED_LOG_I(agg ? conf->aggregations[f].name : conf->alerts[r].name,
                 "where: %llu records %s, %llu filtered out (predicates false on a missing "
                 "field: %llu, on a value of another type: %llu, regex match limit: %llu)",
                 (unsigned long long)w->passed, agg ? "counted" : "sent",
                 (unsigned long long)w->filtered, (unsigned long long)w->missing,
                 (unsigned long long)w->wrong_type, (unsigned long long)w->regex_failed);
    }
    for (int k = 0; k < conf->nsinks; k++) {
        const ed_sink_stats_t *st = &plan->sink_stats[k];
        ED_LOG_I(conf->sinks[k].name, "wrote %llu rows, rejected %llu, %llu reconnects",
                 (unsigned long long)st->rows_written, (unsigned long long)st->rows_rejected,
                 (unsigned long long)st->reconnects);
    }
}

int ed_plan_run(ed_plan_t *plan) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* Workers inherit the blocked mask; only this thread takes the signals. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    char err[1024];
    /* exactly_once: where to replay from, before any source reads. */
    if (plan->eo && ed_eo_load(plan->eo, 60000, err, sizeof err) < 0) {
        ED_LOG_E("runtime", "%s", err);
        return 1;
    }
    ed_stat_set_i64(&plan->start_ms, ed_now_ms());
    if (ed_runtime_start(plan->rt, err, sizeof err) < 0) {
        ED_LOG_E("runtime", "%s", err);
        return 1;
    }
    int signals = 0;
    while (!ed_runtime_stopping(plan->rt)) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig < 0)
            continue;
        if (++signals == 1) {
            ED_LOG_I("runtime", "%s received: draining (send it again to exit at once)",
                     sig == SIGINT ? "SIGINT" : "SIGTERM");
            ed_plan_request_stop(plan);
        } else {
            ED_LOG_W("runtime", "second signal: exiting without draining; uncommitted input "
                                "will be read again on restart");
            ed_runtime_shutdown(plan->rt, 2, "second signal");
        }
    }
    int code = ed_runtime_wait(plan->rt);
    ed_stat_set_i64(&plan->end_ms, ed_now_ms());
    s_summary(plan);
    return code;
}

/* {"records"|"sent": passed, "filtered": …, "missing": …, …} of one filter,
 * without the closing brace. */
static void s_where_json(const ed_where_stats_t *w, const char *passed, FILE *out) {
    fprintf(out,
            "{\"%s\":%llu,\"filtered\":%llu,\"missing\":%llu,\"wrong_type\":%llu,"
            "\"regex_failed\":%llu",
            passed, (unsigned long long)ed_stat_get(&w->passed),
            (unsigned long long)ed_stat_get(&w->filtered),
            (unsigned long long)ed_stat_get(&w->missing),
            (unsigned long long)ed_stat_get(&w->wrong_type),
            (unsigned long long)ed_stat_get(&w->regex_failed));
}

void ed_plan_stats_json(const ed_plan_t *plan, FILE *out) {
    const ed_config_t *conf = plan->conf;
    /* Live (the HTTP endpoint) or final: every figure is read atomically. */
    int64_t start = ed_stat_get_i64(&plan->start_ms), end = ed_stat_get_i64(&plan->end_ms);
    int64_t active_end = ed_stat_get_i64(&plan->run.active_end_ms);
    fprintf(out, "{\"checkpoints\":%llu,\"wall_ms\":%lld,\"active_ms\":%lld,\"sources\":{",
            (unsigned long long)ed_stat_get(&plan->run.checkpoints),
            (long long)(start ? (end ? end : ed_now_ms()) - start : 0),
            (long long)(active_end ? active_end - start : 0));
    for (int i = 0; i < conf->nsources; i++) {
        ed_source_stats_t sum = s_source_sum(plan, i);
        const ed_source_stats_t *st = &sum;
        fprintf(out,
                "%s\"%s\":{\"inputs\":%llu,\"records\":%llu,\"rejected\":%llu,"
                "\"filtered\":%llu,\"instances\":%d,\"decoders\":%d}",
                i ? "," : "", conf->sources[i].name, (unsigned long long)st->inputs,
                (unsigned long long)st->records, (unsigned long long)st->rejected,
                (unsigned long long)st->filtered,
                conf->sources[i].instances, conf->sources[i].instances * conf->sources[i].decoders);
    }
    uint64_t recs = 0, changes = 0, alerts = 0, keys = 0, bytes = 0;
    for (int p = 0; p < plan->naggs; p++) {
        recs += ed_stat_get(&plan->agg_stats[p].records);
        changes += ed_stat_get(&plan->agg_stats[p].changes);
        alerts += ed_stat_get(&plan->agg_stats[p].alerts);
        keys += ed_stat_get(&plan->agg_stats[p].keys);
        bytes += ed_stat_get(&plan->agg_stats[p].bytes);
    }
    fprintf(out,
            "},\"latency_ms\":{\"count\":%llu,\"p50\":%lld,\"p99\":%lld,\"p999\":%lld,\"max\":%lld"
            "},\"aggregators\":{\"records\":%llu,\"changes\":%llu,\"alerts\":%llu,\"keys\":%llu,"
            "\"state_bytes\":%llu",
            (unsigned long long)ed_stat_get(&plan->run.latency.total),
            (long long)ed_hist_percentile(&plan->run.latency, 50),
            (long long)ed_hist_percentile(&plan->run.latency, 99),
            (long long)ed_hist_percentile(&plan->run.latency, 99.9),
            (long long)ed_stat_get_i64(&plan->run.latency.max),
            (unsigned long long)recs, (unsigned long long)changes, (unsigned long long)alerts,
            (unsigned long long)keys, (unsigned long long)bytes);
    uint64_t late = 0, lateup = 0, routed = 0, skipped = 0, open = 0, closed = 0, epeak = 0,
             bpeak = 0;
    for (int p = 0; p < plan->naggs; p++) {
        const ed_agg_stats_t *st = &plan->agg_stats[p];
        epeak += ed_stat_get(&st->entries_peak);
        bpeak += ed_stat_get(&st->bytes_peak);
        late += st->late_dropped;
        lateup += st->late_updates;
        routed += ed_stat_get(&st->late_routed);
        skipped += st->windows_skipped;
        open += st->windows_open;
        closed += st->windows_closed;
    }
    fprintf(out,
            ",\"late_dropped\":%llu,\"late_updates\":%llu,\"late_routed\":%llu,"
            "\"windows_skipped\":%llu,\"windows_open\":%llu,\"windows_closed\":%llu,"
            "\"entries_peak\":%llu,\"state_bytes_peak\":%llu",
            (unsigned long long)late, (unsigned long long)lateup, (unsigned long long)routed,
            (unsigned long long)skipped, (unsigned long long)open, (unsigned long long)closed,
            (unsigned long long)epeak, (unsigned long long)bpeak);
    fprintf(out, "},\"aggregations\":{");
    for (int a = 0; a < conf->naggregations; a++) {
        fprintf(out, "%s\"%s\":", a ? "," : "", conf->aggregations[a].name);
        s_where_json(&plan->agg_where[a], "records", out);
        const ed_agg_late_t *l = &plan->agg_late[a];
        if (conf->aggregations[a].window.kind != ED_WIN_NONE)
            fprintf(out, ",\"late_dropped\":%llu,\"late_updated\":%llu",
                    (unsigned long long)ed_stat_get(&l->dropped),
                    (unsigned long long)ed_stat_get(&l->updated));
        if (conf->aggregations[a].window.late == ED_WLATE_SINK)
            fprintf(out, ",\"late_routed\":%llu", (unsigned long long)ed_stat_get(&l->routed));
        fprintf(out, "}");
    }
    fprintf(out, "},\"alerts\":{");
    for (int r = 0, n = 0; r < conf->nalerts; r++) {
        if (conf->alerts[r].source_idx < 0)
            continue;
        fprintf(out, "%s\"%s\":", n++ ? "," : "", conf->alerts[r].name);
        s_where_json(&plan->alert_where[r], "sent", out);
        fprintf(out, "}");
    }
    fprintf(out, "},\"sinks\":{");
    for (int k = 0; k < conf->nsinks; k++) {
        const ed_sink_stats_t *st = &plan->sink_stats[k];
        fprintf(out, "%s\"%s\":{\"rows_written\":%llu,\"rows_rejected\":%llu,\"reconnects\":%llu,"
                "\"retries\":%llu}",
                k ? "," : "", conf->sinks[k].name, (unsigned long long)ed_stat_get(&st->rows_written),
                (unsigned long long)ed_stat_get(&st->rows_rejected),
                (unsigned long long)ed_stat_get(&st->reconnects),
                (unsigned long long)ed_stat_get(&plan->sink_live[k].retries));
    }
    fprintf(out, "}}\n");
}

void ed_plan_destroy(ed_plan_t **plan_p) {
    ed_plan_t *plan = *plan_p;
    if (!plan)
        return;
    ed_runtime_destroy(&plan->rt);
    ed_state_store_destroy(&plan->state);
    ed_eo_destroy(&plan->eo);
    for (int i = 0; i < plan->nnodes; i++) {
        ed_node_t *n = &plan->nodes[i];
        switch (n->kind) {
        case ED_NODE_COORD: {
            ed_coordinator_t *st = n->state;
            ed_coordinator_destroy(&st);
            break;
        }
        case ED_NODE_SOURCE: {
            ed_source_actor_t *st = n->state;
            ed_source_actor_destroy(&st);
            break;
        }
        case ED_NODE_DECODER: {
            ed_decoder_actor_t *st = n->state;
            ed_decoder_actor_destroy(&st);
            break;
        }
        case ED_NODE_AGG: {
            ed_agg_actor_t *st = n->state;
            ed_agg_actor_destroy(&st);
            break;
        }
        case ED_NODE_SINK: {
            ed_sink_actor_t *st = n->state;
            ed_sink_actor_destroy(&st);
            break;
        }
        }
        free(n->out);
        free(n->in);
    }
    free(plan->nodes);
    free(plan->source_of);
    free(plan->source_instance);
    free(plan->decoder_first);
    free(plan->decoder_source);
    free(plan->source_stats);
    free(plan->wm_cells);
    for (int i = 0; plan->part_cells && i < 2 * plan->nnodes; i++)
        ed_part_cell_destroy(&plan->part_cells[i]);
    free(plan->part_cells);
    free(plan->agg_stats);
    free(plan->sink_stats);
    for (int k = 0; plan->sink_live && k < plan->conf->nsinks; k++)
        pthread_mutex_destroy(&plan->sink_live[k].lock);
    free(plan->sink_live);
    free(plan->agg_where);
    free(plan->alert_where);
    free(plan->agg_late);
    free(plan);
    *plan_p = NULL;
}
