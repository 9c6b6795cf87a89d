/* ed_pipeline.c — see ed_pipeline.h. */
#define _GNU_SOURCE
#include "actors/ed_pipeline.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Constructors of the actor states (in the actor files). */
void *ed_source_actor_new(ed_plan_t *plan, int idx, int instance, int slot, char *errstr,
                          size_t errstr_size);
void ed_source_actor_free(void *state);
void *ed_decoder_actor_new(ed_plan_t *plan, int idx, int src_slot, char *errstr,
                           size_t errstr_size);
void ed_decoder_actor_free(void *state);
void *ed_agg_actor_new(ed_plan_t *plan, int idx, const uint32_t *upstream, int nupstream);
void ed_agg_actor_free(void *state);
void *ed_sink_actor_new(ed_plan_t *plan, int idx, const uint32_t *upstream, int nupstream,
                        char *errstr, size_t errstr_size);
void ed_sink_actor_free(void *state);
void *ed_coordinator_new(ed_plan_t *plan);
void ed_coordinator_free(void *state);

/* Kinds of the entries of plan->states, to free them. */
enum { ED_ST_COORD, ED_ST_SOURCE, ED_ST_DECODER, ED_ST_AGG, ED_ST_SINK };

int ed_plan_sink_fed_by_aggs(const ed_config_t *conf, int k) {
    for (int a = 0; a < conf->naggregations; a++)
        for (int t = 0; t < conf->aggregations[a].nto; t++)
            if (conf->aggregations[a].to_idx[t] == k)
                return 1;
    for (int r = 0; r < conf->nalerts; r++)
        for (int t = 0; t < conf->alerts[r].nto; t++)
            if (conf->alerts[r].to_idx[t] == k)
                return 1;
    return 0;
}

static int s_source_feeds_sink(const ed_config_t *conf, int i, int k) {
    const ed_conf_source_t *src = &conf->sources[i];
    for (int t = 0; t < src->nto; t++)
        if (ed_config_sink_idx(conf, src->to[t]) == k)
            return 1;
    return src->rejects && ed_config_sink_idx(conf, src->rejects) == k;
}

static int s_source_has_aggs(const ed_config_t *conf, int i) {
    for (int a = 0; a < conf->naggregations; a++)
        if (conf->aggregations[a].from_idx == i)
            return 1;
    return 0;
}

/* The first source actor slot of config source ci (its instances follow
 * it, so slot - first = the instance number). */
static int s_first_slot(const ed_plan_t *plan, int ci) {
    int a = 0;
    while (a < plan->nsource_actors && plan->source_of[a] != ci)
        a++;
    return a;
}

/* Zeroed array of n elements of `size` bytes starting on a cache line, for
 * the per-actor counters (see ed_pipeline.h); free with free(). */
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

static void s_add_state(ed_plan_t *plan, void *state, int kind) {
    plan->states = ed_realloc(plan->states, sizeof *plan->states * (size_t)(plan->nstates + 1) * 2);
    plan->states[plan->nstates * 2] = state;
    plan->states[plan->nstates * 2 + 1] = (void *)(intptr_t)kind;
    plan->nstates++;
}

ed_plan_t *ed_plan_new(const ed_config_t *conf, int64_t exit_when_idle_ms, char *errstr,
                       size_t errstr_size) {
    if (conf->nsinks == 0) {
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "%s: the pipeline has no sinks; add one under 'sinks:' (a 'null' sink discards)",
                  conf->path);
        return NULL;
    }
    if (conf->runtime.metrics_listen) {
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "%s: runtime.metrics (listen %s) is not implemented yet; remove it — counters "
                  "are logged at exit and written as JSON by `eddy run --stats FILE`",
                  conf->path, conf->runtime.metrics_listen);
        return NULL;
    }
    ed_plan_t *plan = ed_calloc(1, sizeof *plan);
    plan->conf = conf;
    plan->exit_when_idle_ms = exit_when_idle_ms;
    atomic_init(&plan->stop_requested, 0);
    /* Data-path actors (coordinator, sources, aggregators) share
     * runtime.workers threads; each sink gets a thread of its own, because a
     * sink blocks on its server's round trips (a transaction commit, a
     * delivery report) and must not stall the data path or the other sinks. */
    int W = conf->runtime.workers;
    plan->rt = ed_runtime_new(W + conf->nsinks, conf->runtime.mailbox_hwm, errstr, errstr_size);
    if (!plan->rt) {
        free(plan);
        return NULL;
    }
    int S = 0, K = conf->nsinks; /* S: source actors, every instance counted */
    for (int i = 0; i < conf->nsources; i++)
        S += conf->sources[i].instances > 0 ? conf->sources[i].instances : 1;
    plan->nsource_actors = S;
    int D = 0; /* decoder actors */
    plan->decoder_first = ed_calloc((size_t)S + 1, sizeof *plan->decoder_first);
    for (int i = 0, a = 0; i < conf->nsources; i++)
        for (int n = 0; n < (conf->sources[i].instances > 0 ? conf->sources[i].instances : 1);
             n++) {
            plan->decoder_first[a++] = D;
            D += conf->sources[i].decoders;
        }
    plan->ndecoder_actors = D;
    plan->naggs = conf->naggregations ? conf->runtime.aggregators : 0;
    int A = plan->naggs;
    /* Actor ids follow the order of ed_runtime_add: coordinator, sources,
     * decoders, aggregators, sinks. They are known up front so states can refer to
     * each other. */
    plan->coordinator = 0;
    plan->source_ids = ed_calloc((size_t)S, sizeof *plan->source_ids);
    plan->source_of = ed_calloc((size_t)S, sizeof *plan->source_of);
    for (int i = 0, a = 0; i < conf->nsources; i++)
        for (int n = 0; n < (conf->sources[i].instances > 0 ? conf->sources[i].instances : 1); n++)
            plan->source_of[a++] = i;
    plan->agg_ids = ed_calloc((size_t)A + 1, sizeof *plan->agg_ids);
    plan->sink_ids = ed_calloc((size_t)K, sizeof *plan->sink_ids);
    plan->sink_nupstream = ed_calloc((size_t)K, sizeof *plan->sink_nupstream);
    for (int i = 0; i < S; i++)
        plan->source_ids[i] = (uint32_t)(1 + i);
    plan->decoder_ids = ed_calloc((size_t)D + 1, sizeof *plan->decoder_ids);
    for (int d = 0; d < D; d++)
        plan->decoder_ids[d] = (uint32_t)(1 + S + d);
    for (int p = 0; p < A; p++)
        plan->agg_ids[p] = (uint32_t)(1 + S + D + p);
    for (int k = 0; k < K; k++)
        plan->sink_ids[k] = (uint32_t)(1 + S + D + A + k);
    plan->source_stats = s_calloc_lines((size_t)S, sizeof *plan->source_stats);
    plan->agg_stats = s_calloc_lines((size_t)A + 1, sizeof *plan->agg_stats);
    plan->sink_stats = ed_calloc((size_t)K, sizeof *plan->sink_stats);
    plan->sink_acked = ed_calloc((size_t)K, sizeof *plan->sink_acked);

    void *coord = ed_coordinator_new(plan);
    s_add_state(plan, coord, ED_ST_COORD);
    ed_runtime_add(plan->rt, &ed_coordinator_actor, "coordinator", coord, 0);
    int next_worker = 1;
    for (int i = 0; i < S; i++) {
        int ci = plan->source_of[i], instance = i - s_first_slot(plan, ci);
        void *st = ed_source_actor_new(plan, ci, instance, i, errstr, errstr_size);
        if (!st) {
            ed_plan_destroy(&plan);
            return NULL;
        }
        s_add_state(plan, st, ED_ST_SOURCE);
        char name[300];
        if (conf->sources[ci].instances > 1)
            snprintf(name, sizeof name, "%s#%d", conf->sources[ci].name, instance);
        else
            snprintf(name, sizeof name, "%s", conf->sources[ci].name);
        ed_runtime_add(plan->rt, &ed_source_actor, name, st, next_worker++ % W);
    }
    for (int i = 0; i < S; i++) {
        const ed_conf_source_t *src = &conf->sources[plan->source_of[i]];
        for (int n = 0; n < src->decoders; n++) {
            int d = plan->decoder_first[i] + n;
            void *st = ed_decoder_actor_new(plan, d, i, errstr, errstr_size);
            if (!st) {
                ed_plan_destroy(&plan);
                return NULL;
            }
            s_add_state(plan, st, ED_ST_DECODER);
            char name[300];
            if (src->instances > 1)
                snprintf(name, sizeof name, "%s#%d/decoder-%d", src->name,
                         i - s_first_slot(plan, plan->source_of[i]), n);
            else
                snprintf(name, sizeof name, "%s/decoder-%d", src->name, n);
            ed_runtime_add(plan->rt, &ed_decoder_actor, name, st, next_worker++ % W);
        }
    }
    /* Upstreams of the aggregators: the actors that key records — a source
     * actor, or its decoders when it has some. */
    uint32_t *up = ed_calloc((size_t)(S + D + A) + 1, sizeof *up);
    int nup = 0;
    for (int i = 0; i < S; i++) {
        if (!s_source_has_aggs(conf, plan->source_of[i]))
            continue;
        int nd = conf->sources[plan->source_of[i]].decoders;
        if (!nd)
            up[nup++] = plan->source_ids[i];
        for (int n = 0; n < nd; n++)
            up[nup++] = plan->decoder_ids[plan->decoder_first[i] + n];
    }
    for (int p = 0; p < A; p++) {
        void *st = ed_agg_actor_new(plan, p, up, nup);
        s_add_state(plan, st, ED_ST_AGG);
        char name[64];
        snprintf(name, sizeof name, "aggregator-%d", p);
        ed_runtime_add(plan->rt, &ed_agg_actor, name, st, next_worker++ % W);
    }
    for (int k = 0; k < K; k++) {
        nup = 0;
        if (ed_plan_sink_fed_by_aggs(conf, k))
            for (int p = 0; p < A; p++)
                up[nup++] = plan->agg_ids[p];
        for (int i = 0; i < S; i++) {
            const ed_conf_source_t *src = &conf->sources[plan->source_of[i]];
            if (s_source_feeds_sink(conf, plan->source_of[i], k))
                up[nup++] = plan->source_ids[i];
            /* decoders send rejects, and so barriers, to the rejects sink */
            if (src->rejects && ed_config_sink_idx(conf, src->rejects) == k &&
                s_source_has_aggs(conf, plan->source_of[i]))
                for (int n = 0; n < src->decoders; n++)
                    up[nup++] = plan->decoder_ids[plan->decoder_first[i] + n];
        }
        plan->sink_nupstream[k] = nup;
        void *st = ed_sink_actor_new(plan, k, up, nup, errstr, errstr_size);
        if (!st) {
            free(up);
            ed_plan_destroy(&plan);
            return NULL;
        }
        s_add_state(plan, st, ED_ST_SINK);
        ed_runtime_add(plan->rt, &ed_sink_actor, conf->sinks[k].name, st, W + k);
    }
    free(up);
    return plan;
}

static const char *s_src_kind(ed_src_kind_t k) {
    return k == ED_SRC_KAFKA ? "kafka" : k == ED_SRC_DIRECTORY ? "directory" : "generator";
}
static const char *s_fmt(ed_format_t f) {
    return f == ED_FMT_WORDS ? "words" : f == ED_FMT_JSON ? "json" : "lines";
}
static const char *s_fn(ed_aggfn_t f) {
    static const char *n[] = {"?", "count", "sum", "min", "max", "avg"};
    return n[f >= ED_AGG_COUNT && f <= ED_AGG_AVG ? f : 0];
}

void ed_plan_print(const ed_plan_t *plan, FILE *out) {
    const ed_config_t *conf = plan->conf;
    fprintf(out, "pipeline %s\n", conf->path);
    fprintf(out, "  runtime: %d workers (+ 1 I/O thread per sink), %d aggregator partitions, "
                 "flush every %lld ms, mailbox hwm %d, max %d flushes in flight\n",
            conf->runtime.workers, plan->naggs, (long long)conf->runtime.flush_interval_ms,
            conf->runtime.mailbox_hwm, conf->runtime.max_inflight);
    fprintf(out, "  actors: 1 coordinator, %d sources, %d decoders, %d aggregators, %d sinks\n",
            plan->nsource_actors, plan->ndecoder_actors, plan->naggs, conf->nsinks);
    for (int i = 0; i < conf->nsources; i++) {
        const ed_conf_source_t *s = &conf->sources[i];
        fprintf(out, "  source %s: %s", s->name, s_src_kind(s->kind));
        if (s->instances > 1)
            fprintf(out, " ×%d instances", s->instances);
        if (s->kind == ED_SRC_KAFKA) {
            fprintf(out, " brokers=%s group=%s topics=", s->kafka.brokers, s->kafka.group);
            for (int t = 0; t < s->kafka.ntopics; t++)
                fprintf(out, "%s%s", t ? "," : "", s->kafka.topics[t]);
        } else if (s->kind == ED_SRC_DIRECTORY) {
            fprintf(out, " path=%s pattern=%s", s->directory.path, s->directory.pattern);
        } else {
            fprintf(out, " events=%llu keys=%llu", (unsigned long long)s->generator.events,
                    (unsigned long long)s->generator.keys);
        }
        if (s->kind != ED_SRC_GENERATOR)
            fprintf(out, " format=%s", s_fmt(s->format));
        if (s->decoders)
            fprintf(out, ", decoded by %d decoder actors%s", s->decoders,
                    s->instances > 1 ? " per instance" : "");
        for (int t = 0; t < s->nto; t++)
            fprintf(out, "%s%s", t ? ", " : " -> pass-through to ", s->to[t]);
        if (s->rejects)
            fprintf(out, "; rejects -> %s", s->rejects);
        fprintf(out, "\n");
    }
    for (int a = 0; a < conf->naggregations; a++) {
        const ed_conf_aggregation_t *ag = &conf->aggregations[a];
        fprintf(out, "  aggregation %s: from %s, key (", ag->name, ag->from);
        for (int k = 0; k < ag->nkey; k++)
            fprintf(out, "%s%s=%s", k ? ", " : "", ag->key[k].column, ag->key[k].field);
        fprintf(out, "), compute (");
        for (int c = 0; c < ag->ncompute; c++)
            fprintf(out, "%s%s=%s(%s)", c ? ", " : "", ag->compute[c].name, s_fn(ag->compute[c].fn),
                    ag->compute[c].field ? ag->compute[c].field : "");
        fprintf(out, "), cumulative, hash-partitioned over %d aggregators -> ", plan->naggs);
        for (int t = 0; t < ag->nto; t++)
            fprintf(out, "%s%s", t ? ", " : "", ag->to[t]);
        fprintf(out, "\n");
    }
    for (int r = 0; r < conf->nalerts; r++) {
        const ed_conf_alert_t *al = &conf->alerts[r];
        fprintf(out, "  alert %s: on %s when %s (once per key per crossing) -> ", al->name, al->on,
                al->when);
        for (int t = 0; t < al->nto; t++)
            fprintf(out, "%s%s", t ? ", " : "", al->to[t]);
        fprintf(out, "\n");
    }
    for (int k = 0; k < conf->nsinks; k++) {
        const ed_conf_sink_t *s = &conf->sinks[k];
        const ed_sink_type_t *t = ed_sink_type_find(s->kind);
        fprintf(out, "  sink %s: %s", s->name, t ? t->name : "?");
        if (s->kind == ED_SINK_POSTGRES || s->kind == ED_SINK_MARIADB)
            fprintf(out, " table=%s", s->table);
        if (s->kind == ED_SINK_REDIS)
            fprintf(out, " zset=%s%s", s->zset, s->keep_top ? " (trimmed)" : "");
        if (s->kind == ED_SINK_KAFKA)
            fprintf(out, " topic=%s", s->kafka.topic);
        fprintf(out, ", waits for %d upstream barriers per flush\n", plan->sink_nupstream[k]);
    }
}

/* Counters of config source i, summed over its instances. */
static ed_source_stats_t s_source_sum(const ed_plan_t *plan, int i) {
    ed_source_stats_t sum = {0};
    for (int a = 0; a < plan->nsource_actors; a++) {
        if (plan->source_of[a] != i)
            continue;
        sum.inputs += plan->source_stats[a].inputs;
        sum.records += plan->source_stats[a].records;
        sum.rejected += plan->source_stats[a].rejected;
        sum.commits += plan->source_stats[a].commits;
    }
    return sum;
}

static void s_summary(const ed_plan_t *plan) {
    const ed_config_t *conf = plan->conf;
    for (int i = 0; i < conf->nsources; i++) {
        ed_source_stats_t sum = s_source_sum(plan, i);
        const ed_source_stats_t *st = &sum;
        ED_LOG_I(conf->sources[i].name, "read %llu inputs, %llu records, rejected %llu",
                 (unsigned long long)st->inputs, (unsigned long long)st->records,
                 (unsigned long long)st->rejected);
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
    char err[512];
    plan->start_ms = ed_now_ms();
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
            atomic_store(&plan->stop_requested, 1);
        } else {
            ED_LOG_W("runtime", "second signal: exiting without draining; uncommitted input "
                                "will be read again on restart");
            ed_runtime_shutdown(plan->rt, 2, "second signal");
        }
    }
    int code = ed_runtime_wait(plan->rt);
    plan->end_ms = ed_now_ms();
    s_summary(plan);
    return code;
}

void ed_plan_stats_json(const ed_plan_t *plan, FILE *out) {
    const ed_config_t *conf = plan->conf;
    fprintf(out, "{\"checkpoints\":%llu,\"wall_ms\":%lld,\"active_ms\":%lld,\"sources\":{",
            (unsigned long long)plan->checkpoints, (long long)(plan->end_ms - plan->start_ms),
            (long long)(plan->active_end_ms ? plan->active_end_ms - plan->start_ms : 0));
    for (int i = 0; i < conf->nsources; i++) {
        ed_source_stats_t sum = s_source_sum(plan, i);
        const ed_source_stats_t *st = &sum;
        fprintf(out,
                "%s\"%s\":{\"inputs\":%llu,\"records\":%llu,\"rejected\":%llu,\"instances\":%d,"
                "\"decoders\":%d}",
                i ? "," : "", conf->sources[i].name, (unsigned long long)st->inputs,
                (unsigned long long)st->records, (unsigned long long)st->rejected,
                conf->sources[i].instances, conf->sources[i].instances * conf->sources[i].decoders);
    }
    uint64_t recs = 0, changes = 0, alerts = 0, keys = 0, bytes = 0;
    for (int p = 0; p < plan->naggs; p++) {
        recs += plan->agg_stats[p].records;
        changes += plan->agg_stats[p].changes;
        alerts += plan->agg_stats[p].alerts;
        keys += plan->agg_stats[p].keys;
        bytes += plan->agg_stats[p].bytes;
    }
    fprintf(out,
            "},\"latency_ms\":{\"count\":%llu,\"p50\":%lld,\"p99\":%lld,\"p999\":%lld,\"max\":%lld"
            "},\"aggregators\":{\"records\":%llu,\"changes\":%llu,\"alerts\":%llu,\"keys\":%llu,"
            "\"state_bytes\":%llu},\"sinks\":{",
            (unsigned long long)plan->latency.total, (long long)ed_hist_percentile(&plan->latency, 50),
            (long long)ed_hist_percentile(&plan->latency, 99),
            (long long)ed_hist_percentile(&plan->latency, 99.9), (long long)plan->latency.max,
            (unsigned long long)recs, (unsigned long long)changes, (unsigned long long)alerts,
            (unsigned long long)keys, (unsigned long long)bytes);
    for (int k = 0; k < conf->nsinks; k++) {
        const ed_sink_stats_t *st = &plan->sink_stats[k];
        fprintf(out, "%s\"%s\":{\"rows_written\":%llu,\"rows_rejected\":%llu,\"reconnects\":%llu}",
                k ? "," : "", conf->sinks[k].name, (unsigned long long)st->rows_written,
                (unsigned long long)st->rows_rejected, (unsigned long long)st->reconnects);
    }
    fprintf(out, "}}\n");
}

void ed_plan_destroy(ed_plan_t **plan_p) {
    ed_plan_t *plan = *plan_p;
    if (!plan)
        return;
    ed_runtime_destroy(&plan->rt);
    for (int i = 0; i < plan->nstates; i++) {
        void *st = plan->states[i * 2];
        switch ((int)(intptr_t)plan->states[i * 2 + 1]) {
        case ED_ST_COORD: ed_coordinator_free(st); break;
        case ED_ST_SOURCE: ed_source_actor_free(st); break;
        case ED_ST_DECODER: ed_decoder_actor_free(st); break;
        case ED_ST_AGG: ed_agg_actor_free(st); break;
        case ED_ST_SINK: ed_sink_actor_free(st); break;
        }
    }
    free(plan->states);
    free(plan->source_ids);
    free(plan->source_of);
    free(plan->decoder_ids);
    free(plan->decoder_first);
    free(plan->agg_ids);
    free(plan->sink_ids);
    free(plan->sink_nupstream);
    free(plan->source_stats);
    free(plan->agg_stats);
    free(plan->sink_stats);
    free(plan->sink_acked);
    free(plan);
    *plan_p = NULL;
}
