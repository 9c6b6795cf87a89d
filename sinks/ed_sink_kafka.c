/*
 * ed_sink_kafka.c — records (alerts, pass-through lines) and changelog rows
 * → messages on one Kafka topic (librdkafka idempotent producer).
 * See docs/sinks.md.
 *
 * A flush is "durable" when every message of it has a successful delivery
 * report (acks=all). write() produces what this checkpoint has not produced
 * yet, waits up to ~2 s for delivery reports, and returns RETRY while some
 * are outstanding; the next call for the same checkpoint produces nothing
 * new and keeps waiting. Messages whose delivery failed (e.g. timed out
 * during a long outage) are copied out in the delivery report callback and
 * produced again on the next call — only those, so a retry duplicates at
 * most what the broker may have written without confirming it.
 */
#include "sinks/ed_sink.h"

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_buf.h"

#define S_WRITE_BUDGET_MS 2000 /* most a write() blocks */

/* A message whose delivery failed, copied out of its delivery report. */
typedef struct s_kmsg {
    struct s_kmsg *next;
    void *key; /* owned; NULL for no key */
    size_t key_len;
    void *val; /* owned */
    size_t val_len;
} s_kmsg_t;

/* Progress of one checkpoint. Delivery reports point at it (message
 * opaque), so it lives until none of its messages is outstanding. */
typedef struct s_ckpt {
    struct s_ckpt *next; /* in s_kafka_t.old */
    uint64_t checkpoint;
    uint64_t next_idx;   /* next flush item (records, then rows) to produce */
    int64_t outstanding; /* produced, no delivery report yet */
    uint64_t delivered;  /* successful delivery reports */
    uint64_t rejected;   /* refused for good (too large, not authorized, bad row) */
    s_kmsg_t *failed;    /* to produce again */
    uint64_t nfailed;
    char last_err[256];
} s_ckpt_t;

typedef struct {
    const ed_conf_sink_t *sink;
    const ed_config_t *conf;          /* for the aggregation of each changelog row */
    const ed_conf_aggregation_t *agg; /* the one feeding aggregation, or NULL (none or several) */
    const char *name;
    char addr[512]; /* "kafka brokers=… topic=…" */
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    int created_once;
    s_ckpt_t *cur;      /* the checkpoint being written, or NULL */
    s_ckpt_t *old;      /* superseded checkpoints still awaiting delivery reports */
    char last_err[256]; /* last client-level error (error_cb) */
    ed_buf_t json;
    ed_buf_t mkey;
} s_kafka_t;

/* ---- callbacks (served by rd_kafka_poll/flush on the worker thread, except
 * the log callback, which librdkafka calls from its own threads) ---- */

static int s_permanent(rd_kafka_resp_err_t err) {
    switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return 1;
    default:
        return 0;
    }
}

static void s_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    s_ckpt_t *c = m->_private;
    if (!c)
        return;
    c->outstanding--;
    if (!m->err) {
        c->delivered++;
        return;
    }
    snprintf(c->last_err, sizeof c->last_err, "%s", rd_kafka_err2str(m->err));
    if (s_permanent(m->err)) {
        c->rejected++;
        return;
    }
    s_kmsg_t *f = ed_calloc(1, sizeof *f);
    if (m->key_len) {
        f->key = ed_malloc(m->key_len);
        memcpy(f->key, m->key, m->key_len);
        f->key_len = m->key_len;
    }
    f->val = ed_malloc(m->len ? m->len : 1);
    if (m->len)
        memcpy(f->val, m->payload, m->len);
    f->val_len = m->len;
    f->next = c->failed;
    c->failed = f;
    c->nfailed++;
}

static void s_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    s_kafka_t *k = opaque;
    snprintf(k->last_err, sizeof k->last_err, "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err),
             reason);
}

static void s_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    const s_kafka_t *k = rd_kafka_opaque(rk);
    const char *who = k ? k->name : "kafka";
    if (level <= 3)
        ED_LOG_W(who, "librdkafka %s: %s", fac, buf);
    else
        ED_LOG_D(who, "librdkafka %s: %s", fac, buf);
}

/* ---- lifecycle ---- */

static void s_ckpt_free_msgs(s_ckpt_t *c) {
    while (c && c->failed) {
        s_kmsg_t *f = c->failed;
        c->failed = f->next;
        free(f->key);
        free(f->val);
        free(f);
    }
}

static void s_ckpt_free(s_ckpt_t *c) {
    s_ckpt_free_msgs(c);
    free(c);
}

/* ---- options (the config map; see config/ed_conf_map.h) ---- */

typedef struct {
    char *brokers;         /* bootstrap brokers */
    char *topic;           /* the topic written to */
    ed_conf_kvmap_t props; /* librdkafka producer properties */
} s_kafka_opts_t;

static const ed_conf_map_t s_kafka_map[] = {
    {ED_CONF_STR, "brokers", NULL, offsetof(s_kafka_opts_t, brokers), ED_CONF_REQUIRED,
     "bootstrap brokers, `host:port[,host:port…]`", .expect = "host:port[,host:port…]"},
    {ED_CONF_STR, "topic", NULL, offsetof(s_kafka_opts_t, topic), ED_CONF_REQUIRED,
     "the topic written to", .expect = "a topic name"},
    {ED_CONF_KVMAP, "properties", NULL, offsetof(s_kafka_opts_t, props), 0,
     "librdkafka producer properties, passed as they are: `{ linger.ms: 20 }`; eddy sets "
     "`linger.ms: 5` and `reconnect.backoff.max.ms: 1000` (librdkafka's default is 10 s: after "
     "a 30 s broker outage the sink caught up 8-9 s after the return)",
     .expect = "properties: { \"linger.ms\": 20 }", .doc_def = "none"},
    {0}};

/* Builds the producer configuration; NULL with errstr on a bad property. */
static rd_kafka_conf_t *s_conf(s_kafka_t *k, char *errstr, size_t errstr_size) {
    const ed_conf_sink_t *s = k->sink;
    const s_kafka_opts_t *o = s->opts;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char client_id[256], err[512];
    snprintf(client_id, sizeof client_id, "eddy-%s", s->name);
    const char *props[][2] = {
        {"bootstrap.servers", o->brokers},
        {"client.id", client_id},
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"linger.ms", "5"},
        /* librdkafka backs reconnects off up to 10 s by default: after a
         * 30 s broker outage the sink caught up 8-9 s after the broker's
         * return (t_sink_outages, EDDY_OUTAGE_LONG=1); 1 s as the Java
         * client's default. `properties:` may override it. */
        {"reconnect.backoff.max.ms", "1000"},
    };
    for (size_t i = 0; i < ED_ARRAY_SIZE(props); i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, sizeof err) != RD_KAFKA_CONF_OK)
            goto bad;
    for (int i = 0; i < o->props.n; i++)
        if (rd_kafka_conf_set(conf, o->props.v[i].key, o->props.v[i].value, err, sizeof err) !=
            RD_KAFKA_CONF_OK)
            goto bad;
    rd_kafka_conf_set_dr_msg_cb(conf, s_dr_cb);
    rd_kafka_conf_set_error_cb(conf, s_error_cb);
    rd_kafka_conf_set_log_cb(conf, s_log_cb);
    rd_kafka_conf_set_opaque(conf, k);
    return conf;
bad:
    rd_kafka_conf_destroy(conf);
    ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': kafka properties: %s", s->name, err);
    return NULL;
}

static int s_kafka_init(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size) {
    const ed_conf_sink_t *sink = sc->sink;
    const s_kafka_opts_t *o = sink->opts;
    if (!o || !o->brokers || !*o->brokers)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': kafka.brokers is required (e.g. \"127.0.0.1:9092\")",
                         sink->name);
    if (!o->topic || !*o->topic)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': kafka.topic is required",
                         sink->name);
    s_kafka_t *k = ed_calloc(1, sizeof *k);
    k->sink = sink;
    k->conf = sc->conf;
    k->agg = sc->agg;
    k->name = sink->name;
    snprintf(k->addr, sizeof k->addr, "kafka brokers=%s topic=%s", o->brokers, o->topic);
    /* Validate the properties now; the producer itself is created lazily. */
    rd_kafka_conf_t *conf = s_conf(k, errstr, errstr_size);
    if (!conf) {
        free(k);
        return ED_EINVAL;
    }
    rd_kafka_conf_destroy(conf);
    *ctx_p = k;
    return 0;
}

/* Destroys the producer. Queued and in-flight messages are purged: their
 * flush has not been acked, so it will be written again. */
static void s_producer_close(s_kafka_t *k) {
    if (!k->rk)
        return;
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(k->rk, 500); /* serves the purged messages' delivery reports */
    if (k->rkt)
        rd_kafka_topic_destroy(k->rkt);
    k->rkt = NULL;
    rd_kafka_destroy(k->rk);
    k->rk = NULL;
}

static void s_kafka_destroy(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    s_kafka_t *k = *ctx_p;
    s_producer_close(k);
    s_ckpt_free(k->cur);
    while (k->old) {
        s_ckpt_t *c = k->old;
        k->old = c->next;
        s_ckpt_free(c);
    }
    ed_buf_free(&k->json);
    ed_buf_free(&k->mkey);
    free(k);
    *ctx_p = NULL;
}

static int s_producer_open(s_kafka_t *k, char *errstr, size_t errstr_size) {
    if (k->rk)
        return 0;
    rd_kafka_conf_t *conf = s_conf(k, errstr, errstr_size);
    if (!conf)
        return ED_EINVAL;
    char err[512];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        return ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): cannot create producer: %s",
                         k->name, k->addr, err);
    }
    k->rkt = rd_kafka_topic_new(k->rk, ((const s_kafka_opts_t *)k->sink->opts)->topic, NULL);
    if (!k->rkt) {
        rd_kafka_destroy(k->rk);
        k->rk = NULL;
        return ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (%s): cannot create topic: %s",
                         k->name, k->addr, rd_kafka_err2str(rd_kafka_last_error()));
    }
    ED_LOG_I(k->name, "%s producer for %s", k->created_once ? "recreated" : "created", k->addr);
    k->created_once = 1;
    return 0;
}

/* ---- messages ---- */

/* {"aggregation":"word_counts","key":{"word":"the"},"count":123,
 *  "delta":{"count":3},"n":123}; key = parts joined by ':'. A windowed
 * row has "window_start":…,"window_end":… (ms) after "key".
 * Returns 0, or -1 if the row does not fit its aggregation (*why says how). */
static int s_row_json(s_kafka_t *k, const ed_change_t *c, const char **why) {
    /* A kafka sink may be fed by several aggregations: each row names its own. */
    const ed_conf_aggregation_t *agg = k->agg;
    if (k->conf && c->agg < k->conf->naggregations)
        agg = &k->conf->aggregations[c->agg];
    const uint8_t *key = ed_change_key(c);
    *why = "changelog row does not match the aggregation";
    if (!agg || c->nvals != agg->ncompute || ed_key_nparts(key, c->key_len) != agg->nkey)
        return -1;
    if ((*why = ed_sink_window_check(agg, c)))
        return -1;
    ed_buf_t *j = &k->json, *mk = &k->mkey;
    ed_buf_reset(j);
    ed_buf_reset(mk);
    ed_buf_puts(j, "{\"aggregation\":");
    ed_buf_json_str(j, agg->name, strlen(agg->name));
    ed_buf_puts(j, ",\"key\":{");
    for (int i = 0; i < agg->nkey; i++) {
        const uint8_t *part = NULL;
        size_t len = 0;
        ed_key_part(key, c->key_len, i, &part, &len);
        if (i) {
            ed_buf_append(j, ",", 1);
            ed_buf_append(mk, ":", 1);
        }
        ed_buf_json_str(j, agg->key[i].column, strlen(agg->key[i].column));
        ed_buf_append(j, ":", 1);
        ed_buf_json_str(j, (const char *)part, len);
        ed_buf_append(mk, part, len);
    }
    ed_buf_append(j, "}", 1);
    if (ed_sink_windowed(agg))
        ed_buf_printf(j, ",\"window_start\":%lld,\"window_end\":%lld", (long long)c->window_start_ms,
                      (long long)c->window_end_ms);
    const double *d = ed_change_delta(c), *v = ed_change_value(c);
    for (int i = 0; i < agg->ncompute; i++) {
        ed_buf_append(j, ",", 1);
        ed_buf_json_str(j, agg->compute[i].name, strlen(agg->compute[i].name));
        ed_buf_append(j, ":", 1);
        ed_buf_json_num(j, v[i]);
    }
    ed_buf_puts(j, ",\"delta\":{");
    for (int i = 0; i < agg->ncompute; i++) {
        if (i)
            ed_buf_append(j, ",", 1);
        ed_buf_json_str(j, agg->compute[i].name, strlen(agg->compute[i].name));
        ed_buf_append(j, ":", 1);
        ed_buf_json_num(j, d[i]);
    }
    ed_buf_printf(j, "},\"n\":%lld}", (long long)c->n);
    return 0;
}

typedef enum { S_PROD_OK, S_PROD_REJECTED, S_PROD_BLOCKED, S_PROD_FATAL } s_prod_t;

/* Produces one message (copied), waiting for queue space until `deadline`. */
static s_prod_t s_produce(s_kafka_t *k, s_ckpt_t *c, const void *key, size_t key_len,
                          const void *val, size_t val_len, int64_t deadline,
                          ed_sink_stats_t *stats) {
    for (;;) {
        if (rd_kafka_produce(k->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)val,
                             val_len, key_len ? key : NULL, key_len, c) == 0) {
            c->outstanding++;
            stats->statements++;
            return S_PROD_OK;
        }
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        snprintf(c->last_err, sizeof c->last_err, "%s", rd_kafka_err2str(err));
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (ed_now_ms() >= deadline)
                return S_PROD_BLOCKED;
            rd_kafka_poll(k->rk, 100);
            continue;
        }
        if (err == RD_KAFKA_RESP_ERR__FATAL)
            return S_PROD_FATAL;
        if (s_permanent(err)) {
            c->rejected++;
            return S_PROD_REJECTED;
        }
        return S_PROD_BLOCKED; /* unknown topic/partition for now: try again later */
    }
}

/* Produces the failed messages again, then the flush from c->next_idx on. */
static s_prod_t s_produce_flush(s_kafka_t *k, s_ckpt_t *c, const ed_sink_flush_t *flush,
                                int64_t deadline, ed_sink_stats_t *stats) {
    while (c->failed) {
        s_kmsg_t *f = c->failed;
        s_prod_t r = s_produce(k, c, f->key, f->key_len, f->val, f->val_len, deadline, stats);
        if (r == S_PROD_BLOCKED || r == S_PROD_FATAL)
            return r;
        c->failed = f->next;
        c->nfailed--;
        free(f->key);
        free(f->val);
        free(f);
    }
    uint64_t idx = 0;
    for (int b = 0; b < flush->nrecords; b++) {
        const ed_batch_t *batch = flush->records[b];
        if (idx + batch->count <= c->next_idx) {
            idx += batch->count;
            continue;
        }
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, batch);
        const ed_record_t *rec;
        while ((rec = ed_batch_next_record(&it))) {
            if (idx++ < c->next_idx)
                continue;
            s_prod_t r = s_produce(k, c, ed_record_key(rec), rec->key_len, ed_record_val(rec),
                                   rec->val_len, deadline, stats);
            if (r == S_PROD_BLOCKED || r == S_PROD_FATAL)
                return r;
            c->next_idx++;
        }
    }
    for (int b = 0; b < flush->nchanges; b++) {
        const ed_batch_t *batch = flush->changes[b];
        if (idx + batch->count <= c->next_idx) {
            idx += batch->count;
            continue;
        }
        ed_batch_iter_t it;
        ed_batch_iter_init(&it, batch);
        const ed_change_t *ch;
        while ((ch = ed_batch_next_change(&it))) {
            if (idx++ < c->next_idx)
                continue;
            const char *why = NULL;
            if (s_row_json(k, ch, &why) < 0) {
                c->rejected++;
                snprintf(c->last_err, sizeof c->last_err, "%s", why);
                c->next_idx++;
                continue;
            }
            s_prod_t r = s_produce(k, c, k->mkey.data, k->mkey.len, k->json.data, k->json.len,
                                   deadline, stats);
            if (r == S_PROD_BLOCKED || r == S_PROD_FATAL)
                return r;
            c->next_idx++;
        }
    }
    return S_PROD_OK;
}

/* Frees superseded checkpoints whose delivery reports have all arrived. */
static void s_gc_old(s_kafka_t *k) {
    s_ckpt_t **pp = &k->old;
    while (*pp) {
        s_ckpt_t *c = *pp;
        if (c->outstanding <= 0) {
            *pp = c->next;
            s_ckpt_free(c);
        } else {
            pp = &c->next;
        }
    }
}

static ed_write_result_t s_kafka_write(void *ctx, const ed_sink_flush_t *flush,
                                       ed_sink_stats_t *stats, char *errstr, size_t errstr_size) {
    s_kafka_t *k = ctx;
    int64_t start = ed_now_ms(), deadline = start + S_WRITE_BUDGET_MS;

    if (!k->cur || k->cur->checkpoint != flush->checkpoint) {
        /* A new checkpoint: the previous one was acked or given up. */
        if (k->cur) {
            k->cur->next = k->old;
            k->old = k->cur;
        }
        k->cur = ed_calloc(1, sizeof *k->cur);
        k->cur->checkpoint = flush->checkpoint;
    }
    s_ckpt_t *c = k->cur;
    k->last_err[0] = 0; /* report what happens during this call */
    uint64_t nitems = 0;
    for (int b = 0; b < flush->nrecords; b++)
        nitems += flush->records[b]->count;
    for (int b = 0; b < flush->nchanges; b++)
        nitems += flush->changes[b]->count;

    if (s_producer_open(k, errstr, errstr_size) < 0)
        return ED_WRITE_RETRY;

    s_prod_t pr = s_produce_flush(k, c, flush, deadline, stats);
    int64_t left = deadline - ed_now_ms();
    rd_kafka_flush(k->rk, (int)(left > 50 ? left : 50));
    s_gc_old(k);

    char fatal[512] = "";
    if (pr == S_PROD_FATAL || rd_kafka_fatal_error(k->rk, fatal, sizeof fatal)) {
        /* The idempotent producer cannot go on (e.g. the broker lost its
         * state): start a new one. Purging fails the outstanding messages
         * into c->failed, to be produced again by the new producer. */
        ED_LOG_W(k->name, "%s: fatal producer error: %s; recreating the producer", k->addr,
                 fatal[0] ? fatal : c->last_err);
        s_producer_close(k);
        stats->reconnects++;
        /* Normally every purged message has reported (into c->failed). If
         * any did not, no report will come now: produce the checkpoint anew
         * (at-least-once) rather than wait forever. */
        if (c->outstanding > 0) {
            s_ckpt_t fresh = {.checkpoint = c->checkpoint};
            s_ckpt_free_msgs(c);
            *c = fresh;
        }
        while (k->old) { /* their reports will never come either */
            s_ckpt_t *o = k->old;
            k->old = o->next;
            s_ckpt_free(o);
        }
    }

    if (c->next_idx == nitems && c->outstanding == 0 && !c->failed) {
        k->cur = NULL;
        stats->rows_written += c->delivered;
        stats->rows_rejected += c->rejected;
        /* As in the redis sink: messages the broker refused for good are
         * counted and the flush ends in DROP (acked, not retried: the rest
         * was delivered), with a message for the sink actor to log. */
        int dropped = c->rejected > 0;
        if (dropped)
            ed_seterr(errstr, errstr_size, ED_EINVAL,
                      "sink '%s' (%s): %llu of %llu message(s) refused for good by the broker "
                      "(last error: %s); those are dropped, the rest is delivered",
                      k->name, k->addr, (unsigned long long)c->rejected,
                      (unsigned long long)nitems, c->last_err);
        s_ckpt_free(c);
        return dropped ? ED_WRITE_DROP : ED_WRITE_OK;
    }
    const char *why = k->last_err[0] ? k->last_err : c->last_err[0] ? c->last_err : "no error";
    ed_seterr(errstr, errstr_size, ED_EIO,
              "sink '%s' (%s): after %lld ms %llu of %llu message(s) delivered, %lld awaiting "
              "acks, %llu to produce again, %llu not produced yet (last error: %s); retrying",
              k->name, k->addr, (long long)(ed_now_ms() - start), (unsigned long long)c->delivered,
              (unsigned long long)nitems, (long long)c->outstanding, (unsigned long long)c->nfailed,
              (unsigned long long)(nitems - c->next_idx), why);
    return ED_WRITE_RETRY;
}

const ed_sink_type_t ed_sink_kafka = {
    .conf = {.name = "kafka",
             .desc = "produces changelog rows, alerts and records to a Kafka topic",
             .map = s_kafka_map,
             .opts_size = sizeof(s_kafka_opts_t),
             .caps = ED_CAP_CHANGELOG | ED_CAP_CHANGELOGS | ED_CAP_WINDOWS | ED_CAP_RECORDS |
                     ED_CAP_ALERTS,
             .example = "kafka: { brokers: \"127.0.0.1:9092\", topic: alerts }"},
    .init = s_kafka_init,
    .write = s_kafka_write,
    .destroy = s_kafka_destroy,
};
