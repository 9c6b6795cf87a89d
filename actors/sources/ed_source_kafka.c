/*
 * ed_source_kafka.c — a Kafka consumer-group source (librdkafka high-level
 * consumer), committing offsets only for input that every sink has acked.
 *
 * Consumer: group.id = kafka.group, bootstrap.servers = kafka.brokers,
 * auto.offset.reset = kafka.start (where a group without committed offsets
 * starts), enable.auto.commit = false, enable.auto.offset.store = false,
 * enable.partition.eof = false, queued.min.messages = 1000000 (see s_open),
 * then `properties:` passed to librdkafka as-is
 * (except the two auto-commit switches, which eddy owns: setting them is an
 * error). Partition assignment goes through a rebalance callback: eager
 * (assign / unassign) by default, incremental when the configured
 * partition.assignment.strategy is cooperative.
 *
 * Reading: the main queue is forwarded to the consumer queue
 * (rd_kafka_poll_set_consumer), so one rd_kafka_consumer_poll(rk, 0) loop on
 * the worker thread serves messages, rebalances, errors and offset-commit
 * results; it never blocks. rd_kafka_consume_batch_queue() is not used: in
 * librdkafka 2.0.x it can skip offsets around pause/resume (fixed in 2.1.0),
 * and pause/resume is our backpressure.
 *
 * fd(): an eventfd that librdkafka writes to when the consumer queue goes from
 * empty to non-empty (rd_kafka_queue_io_event_enable). read() drains it first.
 * When read() returns `max` the queue may still hold messages, and librdkafka
 * will not signal them again: the driver then signals the eventfd itself, so
 * the rule for the caller is simply "call read() when fd() is readable".
 * Call it while paused too: rebalances and errors are served by read(), and a
 * consumer that does not poll for max.poll.interval.ms (300 s) leaves the group.
 *
 * Positions: the offset book (ed_kafka_offsets.h) keeps, per partition,
 * the last emitted offset + 1; checkpoint(n) records those that advanced,
 * and commit(n) commits the checkpoints ≤ n merged into one offset list,
 * asynchronously. A failed commit is logged, and its partitions are merged
 * into the next commit (unless revoked meanwhile).
 *
 * Commit on revoke: when a rebalance revokes partitions (another member
 * joined or left cleanly), the partitions are paused, messages of theirs
 * still in the queue are dropped, and the driver asks for a checkpoint at
 * once (wants_checkpoint). The revoke is answered (unassign) only once that
 * checkpoint is durable in every sink and its offsets are committed — a
 * synchronous commit — so the next owner starts exactly after what this
 * member counted: clean rebalances are exact. librdkafka allows answering a
 * revoke after the callback returns. If the checkpoint does not complete
 * within ED_KAFKA_REVOKE_WAIT_MS (a sink is down), or the assignment was
 * lost (session timeout), or the consumer is closing, the partitions are
 * released at once and the next owner re-reads from the last commit
 * (at-least-once).
 *
 * Files: this one reads, commits and opens; ed_kafka_rebalance.c serves
 * assignments and revokes; ed_kafka_source.h is the state both share.
 *
 * Figures: statistics.interval.ms defaults to 1000; every statistics
 * document librdkafka hands to s_stats_cb (served by the same poll loop) is
 * parsed into the assigned partitions' committed, read and end offsets and
 * lag (ed_kafka_stats.h) and published to the cell the source actor gave
 * (publish_to) for /metrics and /v1/pipeline; nothing waits for a reader.
 *
 * Errors: consumer errors (broker down, unknown topic, …) are logged at WARN
 * once per distinct error code until a message arrives again; they never fail
 * read(). Only a fatal librdkafka error fails read() (ED_EIO).
 */
#define _GNU_SOURCE
#include "actors/sources/ed_source.h"

#include "actors/sources/ed_kafka_offsets.h"
#include "actors/sources/ed_kafka_stats.h"
#include "actors/sources/ed_kafka_source.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers -- */

/* Logs at WARN unless `err` was logged already since the last good message. */
static void s_warn_once(ed_ksrc_t *k, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_warn_once(ed_ksrc_t *k, int err, const char *fmt, ...) {
    for (int i = 0; i < k->nlogged; i++)
        if (k->logged[i] == err)
            return;
    if (k->nlogged < ED_KAFKA_MAX_LOGGED)
        k->logged[k->nlogged++] = err;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ED_LOG_W(k->who, "%s", msg);
}

static void s_signal(ed_ksrc_t *k) {
    uint64_t one = 1;
    ssize_t w = write(k->efd, &one, sizeof one);
    (void)w; /* EAGAIN only if the counter is saturated: it is readable then */
}

static void s_drain_fd(ed_ksrc_t *k) {
    uint64_t v;
    while (read(k->efd, &v, sizeof v) < 0 && errno == EINTR)
        ;
}

static void s_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    ed_ksrc_t *k = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        ED_LOG_E(k->who, "fatal consumer error: %s: %s", rd_kafka_err2name(orig), buf);
        k->fatal = 1;
        return;
    }
    s_warn_once(k, err, "consumer error (retrying): %s: %s", rd_kafka_err2name(err), reason);
}

static void s_commit_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                        rd_kafka_topic_partition_list_t *offsets, void *opaque) {
    (void)rk;
    ed_ksrc_t *k = opaque;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    for (int i = 0; offsets && i < offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &offsets->elems[i];
        rd_kafka_resp_err_t e = p->err ? p->err : err;
        if (!e)
            continue;
        s_warn_once(k, 10000 + e,
                    "offset commit failed for %s[%d] at offset %lld: %s; retried "
                    "with the next commit",
                    p->topic, (int)p->partition, (long long)p->offset, rd_kafka_err2str(e));
        /* Retry with the next commit, unless a newer offset was queued, or
         * the partition was revoked meanwhile (its position is gone then). */
        ed_kafka_offsets_retry(k->offsets, p->topic, p->partition, p->offset);
    }
    if (err && (!offsets || !offsets->cnt))
        s_warn_once(k, 10000 + err, "offset commit failed: %s", rd_kafka_err2str(err));
}

static void s_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    ed_ksrc_t *k = rd_kafka_opaque(rk);
    /* Broker and consumer errors reach error_cb, logged once per error
     * there; librdkafka's own lines (one per reconnect attempt) are debug
     * output, except configuration warnings and offset resets (OFFSET at
     * level 4: "offset reset (at offset N) to BEGINNING: … Offset out of
     * range", i.e. the broker deleted unread input by retention, and the
     * group skips to auto.offset.reset: input lost, never silently). */
    int warn = level <= 4 && (!strcmp(fac, "CONFWARN") || !strcmp(fac, "OFFSET"));
    ed_log_level_t lvl = warn ? ED_LOG_WARN : ED_LOG_DEBUG;
    ed_log(lvl, k ? k->who : "kafka", "librdkafka %s: %s", fac, buf);
}

/* librdkafka's statistics, every statistics.interval.ms, served by
 * rd_kafka_consumer_poll on the worker thread: the assigned partitions'
 * offsets and lag, published for the HTTP endpoint (a pointer swap). */
static int s_stats_cb(rd_kafka_t *rk, char *doc, size_t len, void *opaque) {
    (void)rk;
    ed_ksrc_t *k = opaque;
    if (!k->cell)
        return 0;
    if (!k->json)
        k->json = ed_json_new();
    ed_part_fig_t *v = NULL;
    char err[512];
    int n = ed_kafka_stats_parse(k->json, doc, len, k->read_committed, &v, err, sizeof err);
    if (n < 0) {
        if (!k->stats_warned++)
            ED_LOG_W(k->who, "%s; the per partition figures are not updated", err);
        return 0;
    }
    ed_part_cell_publish(k->cell, &v, n, ed_wall_ms());
    return 0; /* librdkafka frees doc */
}

/* -------------------------------------------------------------- reading -- */

static void s_emit(ed_ksrc_t *k, const rd_kafka_message_t *m, ed_input_emit_fn emit, void *ud) {
    const char *topic = rd_kafka_topic_name(m->rkt);
    ed_input_t in;
    memset(&in, 0, sizeof in);
    in.data = m->payload;
    in.len = m->payload ? m->len : 0;
    in.key = m->key;
    in.key_len = m->key ? m->key_len : 0;
    in.topic = topic;
    in.partition = m->partition;
    in.offset = m->offset;
    int64_t ts = rd_kafka_message_timestamp(m, NULL);
    in.ts_ms = ts > 0 ? ts : 0;
    emit(ud, &in);
    ed_kafka_offsets_advance(k->offsets, topic, m->partition, m->offset);
}

/* Handles a message carrying an error. Returns 0, or ED_EIO if fatal. */
static int s_msg_error(ed_ksrc_t *k, const rd_kafka_message_t *m, char *errstr,
                       size_t errstr_size) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        return 0;
    if (m->err == RD_KAFKA_RESP_ERR__FATAL || k->fatal) {
        char buf[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(k->rk, buf, sizeof buf);
        k->fatal = 1;
        return ed_seterr(errstr, errstr_size, ED_EIO,
                         "source '%s': fatal Kafka consumer error %s: %s; restarting the source",
                         k->who, rd_kafka_err2name(orig), buf);
    }
    if (m->rkt)
        s_warn_once(k, m->err, "consumer error on %s[%d]: %s", rd_kafka_topic_name(m->rkt),
                    (int)m->partition, rd_kafka_message_errstr(m));
    else
        s_warn_once(k, m->err, "consumer error: %s", rd_kafka_message_errstr(m));
    return 0;
}

/* The one poll loop, paused or not: serves rebalances and errors (through
 * the callbacks and s_msg_error), drops messages of partitions waiting in a
 * revoke (fetched before their pause, never emitted), and takes up to `room`
 * messages — emitted, or, while paused, held for after the resume (they
 * slipped past the pause, fetched just before it). Returns the number taken,
 * or ED_EIO on a fatal error. */
static int s_poll(ed_ksrc_t *k, int room, ed_input_emit_fn emit, void *ud, char *errstr,
                  size_t errstr_size) {
    int n = 0;
    while (n < room) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(k->rk, 0);
        if (!m)
            break;
        if (m->err) {
            int rc = s_msg_error(k, m, errstr, errstr_size);
            rd_kafka_message_destroy(m);
            if (rc < 0)
                return rc;
            continue;
        }
        if (ed_ksrc_is_revoking(k, rd_kafka_topic_name(m->rkt), m->partition)) {
            rd_kafka_message_destroy(m);
            continue;
        }
        n++;
        /* exactly_once replay: nothing past the limit until it is cleared */
        if (k->paused || (k->limit && ed_ksrc_beyond(k, m))) {
            ed_ksrc_hold(k, m);
            continue;
        }
        if (k->nlogged) { /* receiving again: log the next error again */
            ED_LOG_I(k->who, "receiving messages again");
            k->nlogged = 0;
        }
        s_emit(k, m, emit, ud);
        rd_kafka_message_destroy(m);
    }
    return n;
}

/* Emits up to max held messages, oldest first; returns how many. */
static int s_emit_held(ed_ksrc_t *k, int max, ed_input_emit_fn emit, void *ud) {
    size_t j = 0;
    int n = 0;
    for (size_t i = 0; i < k->nheld; i++) {
        rd_kafka_message_t *m = k->held[i];
        if (n < max && !(k->limit && ed_ksrc_beyond(k, m))) {
            s_emit(k, m, emit, ud);
            rd_kafka_message_destroy(m);
            n++;
        } else {
            k->held[j++] = m; /* in order: past a replay limit, or over max */
        }
    }
    k->nheld = j;
    return n;
}

static int s_read(void *ctx, int max, ed_input_emit_fn emit, void *ud, int *eof, char *errstr,
                  size_t errstr_size) {
    (void)eof; /* a topic never ends */
    ed_ksrc_t *k = ctx;
    s_drain_fd(k);
    if (k->fatal)
        return ed_seterr(errstr, errstr_size, ED_EIO,
                         "source '%s': the Kafka consumer raised a fatal error (see log); "
                         "restarting the source",
                         k->who);

    if (k->revoking && ed_now_ms() - k->revoke_since_ms > ED_KAFKA_REVOKE_WAIT_MS)
        ed_ksrc_release(k, "no checkpoint completed within 15 s (a sink down?)");

    if (k->paused) {
        /* Serve rebalances and errors; hold what slipped past the pause. */
        int rc = s_poll(k, ED_KAFKA_MAX_HELD - (int)k->nheld, NULL, NULL, errstr, errstr_size);
        return rc < 0 ? rc : 0;
    }
    int n = k->nheld ? s_emit_held(k, max, emit, ud) : 0;
    int rc = s_poll(k, max - n, emit, ud, errstr, errstr_size);
    if (rc < 0)
        return rc;
    n += rc;
    if (n == max) /* the queue may hold more; librdkafka will not signal it again */
        s_signal(k);
    return n;
}

/* -------------------------------------------------------------- options -- */

typedef struct {
    char *brokers;            /* bootstrap brokers */
    char *topic;              /* `topic: x`; validate copies it into topics */
    ed_conf_strlist_t topics; /* the topics read (≥ 1 after validate) */
    char *group;              /* consumer group id; validate defaults it to eddy-<source> */
    int start;                /* 0: earliest, 1: latest */
    ed_conf_kvmap_t props;    /* librdkafka consumer properties */
} s_kafka_opts_t;

static const ed_conf_choice_t s_starts[] = {{"earliest", 0, 0}, {"latest", 1, 0}, {NULL, 0, 0}};

static const ed_conf_map_t s_kafka_map[] = {
    {ED_CONF_STR, "brokers", NULL, offsetof(s_kafka_opts_t, brokers), ED_CONF_REQUIRED,
     "bootstrap brokers, `host:port[,host:port…]`", .expect = "host:port[,host:port…]"},
    {ED_CONF_STR, "topic", NULL, offsetof(s_kafka_opts_t, topic), 0,
     "the topic to read; give `topic` **or** `topics`", .expect = "a topic name",
     .doc_def = "—"},
    {ED_CONF_STRLIST, "topics", NULL, offsetof(s_kafka_opts_t, topics), 0,
     "several topics: `topics: [a, b]`", .expect = "a list of topic names, e.g. [a, b]",
     .doc_def = "—"},
    {ED_CONF_STR, "group", NULL, offsetof(s_kafka_opts_t, group), 0, "consumer group id",
     .expect = "a consumer group id", .doc_def = "`eddy-<source name>`"},
    {ED_CONF_ENUM, "start", "earliest", offsetof(s_kafka_opts_t, start), 0,
     "where a new consumer group starts", .choices = s_starts},
    {ED_CONF_KVMAP, "properties", NULL, offsetof(s_kafka_opts_t, props), 0,
     "librdkafka consumer properties, passed as they are: `{ fetch.min.bytes: 1 }`; "
     "`statistics.interval.ms` (eddy's default 1000, 0 = off) paces the per partition figures "
     "of [/metrics](http.md#per-source-partition); eddy sets `reconnect.backoff.max.ms: 1000` "
     "(librdkafka's default is 10 s)",
     .expect = "properties: { \"fetch.min.bytes\": 1 }", .doc_def = "none"},
    {0}};

static const ed_conf_meta_t s_kafka_meta[] = {
    {"@key", "the message key"},
    {"@topic", "the topic"},
    {"@partition", "the partition"},
    {"@offset", "the message's offset"},
    {"@timestamp", "the message timestamp, ms since the epoch (0 if none)"},
    {NULL, NULL}};

static int s_kafka_validate(ed_conf_check_t *ck, void *opts) {
    s_kafka_opts_t *o = opts;
    const char *w = ed_conf_check_where(ck, "topic");
    int given = ed_conf_check_given(ck, "topic"), givens = ed_conf_check_given(ck, "topics");
    int rc = 0;
    if (given && givens)
        rc = ed_conf_check_errk(ck, "topics", "%s has both 'topic' and 'topics'; expected one of "
                                              "them",
                                w);
    else if (!given && !givens)
        rc = ed_conf_check_err(ck, "topic",
                               "missing required key 'topic' in %s; expected topic: NAME or "
                               "topics: [A, B]",
                               w);
    else if (o->topic) {
        o->topics.v = ed_calloc(1, sizeof *o->topics.v);
        o->topics.v[0] = ed_strdup(o->topic);
        o->topics.n = 1;
    }
    if (!o->group) {
        ed_buf_t b = ED_BUF_INIT;
        ed_buf_printf(&b, "eddy-%s", ed_conf_check_name(ck));
        o->group = b.data;
    }
    return rc;
}

/* brokers, topics, group, start and properties, without `topic` (it is in topics). */
static void s_kafka_describe(const void *opts, ed_buf_t *out) {
    static const ed_conf_map_t *rows = s_kafka_map;
    for (const ed_conf_map_t *r = rows; r->name; r++)
        if (strcmp(r->name, "topic"))
            ed_conf_map_describe((const ed_conf_map_t[]){*r, {0}}, opts, out);
}

/* --------------------------------------------------------------- driver -- */

static void s_close(void **ctx_p);

static int s_conf_set(rd_kafka_conf_t *conf, const ed_conf_source_t *src, const char *name,
                      const char *value, char *errstr, size_t errstr_size) {
    char err[512];
    if (rd_kafka_conf_set(conf, name, value, err, sizeof err) != RD_KAFKA_CONF_OK)
        return ed_seterr(
            errstr, errstr_size, ED_EINVAL, "source '%s' (%s:%d:%d): kafka property '%s': %s",
            src->name, src->pos.file ? src->pos.file : "?", src->pos.line, src->pos.col, name, err);
    return 0;
}

static int s_open(void **ctx_p, const ed_config_t *cfg, const ed_conf_source_t *src, char *errstr,
                  size_t errstr_size) {
    const s_kafka_opts_t *o = src->opts;
    if (!o || !o->brokers || !*o->brokers)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "source '%s': kafka.brokers is required",
                         src->name);
    if (o->topics.n < 1)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "source '%s': kafka needs a topic (`topic: x` or `topics: [x, y]`)",
                         src->name);
    for (int i = 0; i < o->props.n; i++) {
        const char *key = o->props.v[i].key;
        if (!strcmp(key, "enable.auto.commit") || !strcmp(key, "enable.auto.offset.store"))
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "source '%s': kafka property '%s' is managed by eddy (offsets are "
                             "committed once every sink has acked); remove it",
                             src->name, key);
    }

    char group[256];
    if (o->group && *o->group)
        snprintf(group, sizeof group, "%s", o->group);
    else
        snprintf(group, sizeof group, "eddy-%s", src->name);

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = 0;
    struct {
        const char *k, *v;
    } defaults[] = {
        {"bootstrap.servers", o->brokers},
        {"group.id", group},
        {"client.id", "eddy"},
        {"auto.offset.reset", o->start ? "latest" : "earliest"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "false"},
        /* reconnects after a broker outage back off to 1 s at most, not
         * librdkafka's 10 s (as the sink, sinks/ed_sink_kafka.c) */
        {"reconnect.backoff.max.ms", "1000"},
        /* librdkafka before 2.1 (Debian 12 ships 2.0.2) stops fetching a
         * partition for fetch.wait/backoff once its local queue reaches
         * queued.min.messages (default 100000), so a consumer slightly
         * slower than the broker idles in 1 s stalls (librdkafka #2879;
         * measured: 2M messages in 8.5-9.5 s with the default, 2.5-3.0 s
         * with this). Prefetch memory stays capped by
         * queued.max.messages.kbytes. `properties:` may override it. */
        {"queued.min.messages", "1000000"},
        /* the per partition figures of /metrics (s_stats_cb) */
        {"statistics.interval.ms", "1000"},
    };
    for (size_t i = 0; !rc && i < ED_ARRAY_SIZE(defaults); i++)
        rc = s_conf_set(conf, src, defaults[i].k, defaults[i].v, errstr, errstr_size);
    for (int i = 0; !rc && i < o->props.n; i++)
        rc = s_conf_set(conf, src, o->props.v[i].key, o->props.v[i].value, errstr, errstr_size);
    if (rc) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }

    ed_ksrc_t *k = ed_calloc(1, sizeof *k);
    k->who = ed_strdup(src->name);
    char iso[32] = "";
    size_t isz = sizeof iso;
    k->read_committed = rd_kafka_conf_get(conf, "isolation.level", iso, &isz) != RD_KAFKA_CONF_OK ||
                        strcmp(iso, "read_uncommitted") != 0;
    k->efd = -1;
    k->eo = cfg && cfg->runtime.delivery == ED_DELIVERY_EXACTLY_ONCE; /* tests open without a config */
    k->offsets = ed_kafka_offsets_new();
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_rebalance_cb(conf, ed_ksrc_rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, s_error_cb);
    rd_kafka_conf_set_offset_commit_cb(conf, s_commit_cb);
    rd_kafka_conf_set_log_cb(conf, s_log_cb);
    rd_kafka_conf_set_stats_cb(conf, s_stats_cb);

    char err[512];
    k->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!k->rk) { /* conf is still ours */
        rd_kafka_conf_destroy(conf);
        rc = ed_seterr(errstr, errstr_size, ED_EINVAL,
                       "source '%s': cannot create Kafka consumer: %s", src->name, err);
        s_close((void **)&k);
        return rc;
    }
    *ctx_p = k; /* conf now belongs to rk */

    rd_kafka_poll_set_consumer(k->rk);
    k->q = rd_kafka_queue_get_consumer(k->rk);
    k->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!k->q || k->efd < 0) {
        rc = ed_seterr(errstr, errstr_size, ED_EIO,
                       "source '%s': cannot set up the consumer queue: %s", src->name,
                       k->efd < 0 ? strerror(errno) : "no consumer group queue");
        s_close(ctx_p);
        return rc;
    }
    /* eventfd takes 8-byte writes: the payload is the counter increment. */
    static const uint64_t one = 1;
    rd_kafka_queue_io_event_enable(k->q, k->efd, &one, sizeof one);

    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(o->topics.n);
    for (int i = 0; i < o->topics.n; i++)
        rd_kafka_topic_partition_list_add(topics, o->topics.v[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(k->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        rc = ed_seterr(errstr, errstr_size, ED_EINVAL,
                       "source '%s': cannot subscribe to topic(s) %s%s: %s", src->name,
                       o->topics.v[0], o->topics.n > 1 ? ", …" : "",
                       rd_kafka_err2str(e));
        s_close(ctx_p);
        return rc;
    }
    /* Whatever was enqueued before the fd was attached gets served. */
    s_signal(k);
    ED_LOG_D(k->who, "consumer group '%s' on %s subscribed to %d topic(s)", group,
             o->brokers, o->topics.n);
    return 0;
}

static int s_fd(void *ctx) {
    return ((ed_ksrc_t *)ctx)->efd;
}

static int s_checkpoint(void *ctx, uint64_t n) {
    ed_ksrc_t *k = ctx;
    if (k->revoking && !k->revoke_ckpt)
        k->revoke_ckpt = n; /* covers everything emitted from the revoked partitions */
    ed_kafka_offsets_checkpoint(k->offsets, n);
    return 0;
}

static int s_commit_list(ed_ksrc_t *k, uint64_t n, int async, char *errstr, size_t errstr_size);

static int s_commit(void *ctx, uint64_t n, char *errstr, size_t errstr_size) {
    ed_ksrc_t *k = ctx;
    if (!k->revoking || !k->revoke_ckpt || n < k->revoke_ckpt)
        return s_commit_list(k, n, 1, errstr, errstr_size);
    /* The checkpoint covering a pending revoke is durable in every sink:
     * commit it synchronously, then answer the revoke. */
    int rc = s_commit_list(k, n, 0, errstr, errstr_size);
    ed_ksrc_release(k, rc < 0 ? "the offset commit failed" : NULL);
    return rc;
}

/* Commits the checkpoints <= n (and failed commits) merged into one list;
 * async: the result arrives in s_commit_cb via read(); else waits for it. */
static int s_commit_list(ed_ksrc_t *k, uint64_t n, int async, char *errstr, size_t errstr_size) {
    rd_kafka_topic_partition_list_t *merged = ed_kafka_offsets_take(k->offsets, n);
    if (!merged)
        return 0;
    rd_kafka_resp_err_t e = rd_kafka_commit(k->rk, merged, async);
    if (e) {
        char desc[256];
        ed_ksrc_parts_str(merged, desc, sizeof desc);
        ed_kafka_offsets_requeue(k->offsets, &merged); /* the next commit tries again */
        return ed_seterr(errstr, errstr_size, ED_EIO,
                         "source '%s': offset commit of %s failed: %s; retried with the next "
                         "commit",
                         k->who, desc, rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(merged);
    return 0;
}

static void s_pause(void *ctx, int paused) {
    ed_ksrc_t *k = ctx;
    paused = !!paused;
    if (k->paused == paused)
        return;
    k->paused = paused;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t e = rd_kafka_assignment(k->rk, &parts);
    if (!e && parts->cnt)
        e = paused ? rd_kafka_pause_partitions(k->rk, parts)
                   : rd_kafka_resume_partitions(k->rk, parts);
    if (e)
        ED_LOG_W(k->who, "cannot %s partitions: %s", paused ? "pause" : "resume",
                 rd_kafka_err2str(e));
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (!paused && k->nheld)
        s_signal(k); /* held messages are ready */
}

static void s_close(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    ed_ksrc_t *k = *ctx_p;
    if (k->rk) {
        k->closing = 1;
        ed_ksrc_release(k, "the source is closing");
        /* Leaves the group (serving the final revoke through ed_ksrc_rebalance_cb)
         * and waits for commits in flight. */
        rd_kafka_resp_err_t e = rd_kafka_consumer_close(k->rk);
        if (e && e != RD_KAFKA_RESP_ERR__FATAL)
            ED_LOG_W(k->who, "closing the consumer: %s", rd_kafka_err2str(e));
        if (k->q)
            rd_kafka_queue_destroy(k->q);
        ed_ksrc_forget(k, NULL);
        rd_kafka_destroy(k->rk);
    }
    if (k->efd >= 0)
        close(k->efd);
    ed_ksrc_drop_held(k, NULL);
    if (k->cell) /* its partitions are no longer read here */
        ed_part_cell_publish(k->cell, NULL, 0, ed_wall_ms());
    ed_json_destroy(&k->json);
    if (k->owned)
        rd_kafka_topic_partition_list_destroy(k->owned);
    ed_kafka_offsets_destroy(&k->offsets);
    ed_ksrc_limit(k, NULL);
    if (k->known)
        rd_kafka_topic_partition_list_destroy(k->known);
    free(k->held);
    free(k->who);
    free(k);
    *ctx_p = NULL;
}

static int s_partitions(void *ctx, uint64_t *version, ed_topic_part_t *parts, int max) {
    ed_ksrc_t *k = ctx;
    *version = k->assign_version;
    int n = k->owned ? k->owned->cnt : 0;
    for (int i = 0; i < n && i < max; i++)
        parts[i] = (ed_topic_part_t){k->owned->elems[i].topic, k->owned->elems[i].partition};
    return n;
}

static void s_publish_to(void *ctx, ed_part_cell_t *cell) { ((ed_ksrc_t *)ctx)->cell = cell; }

static int s_ready(void *ctx) { return ((ed_ksrc_t *)ctx)->assigned; }

static int s_wants_checkpoint(void *ctx) {
    ed_ksrc_t *k = ctx;
    int w = k->want_ckpt;
    k->want_ckpt = 0;
    return w;
}

const ed_source_type_t ed_source_kafka = {
    .conf = {.name = "kafka",
             .desc = "reads a Kafka consumer group",
             .map = s_kafka_map,
             .opts_size = sizeof(s_kafka_opts_t),
             .caps = ED_CAP_PAYLOAD | ED_CAP_INSTANCES | ED_CAP_REPLAY,
             .meta = s_kafka_meta,
             .example = "kafka: { brokers: \"127.0.0.1:9092\", topic: events }",
             .validate = s_kafka_validate,
             .describe = s_kafka_describe},
    .open = s_open,
    .read = s_read,
    .fd = s_fd,
    .checkpoint = s_checkpoint,
    .commit = s_commit,
    .pause = s_pause,
    .ready = s_ready,
    .wants_checkpoint = s_wants_checkpoint,
    .publish_to = s_publish_to,
    .partitions = s_partitions,
    .positions = ed_ksrc_positions,
    .seek = ed_ksrc_seek,
    .limit = ed_ksrc_limit,
    .at_limit = ed_ksrc_at_limit,
    .close = s_close,
};
