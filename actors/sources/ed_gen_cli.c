/*
 * ed_gen_cli.c — `eddy gen`: the tutorials' events (ed_gen.h) as JSON lines
 * into a file or a Kafka topic. Options and fields: docs/gen.md.
 *
 * Kafka: one producer (librdkafka), idempotence off, acks=all, each event
 * keyed by its id (order_id, review_id, tweet id, user, Nexmark id or auction); the run waits for every
 * delivery report (rd_kafka_flush) and fails, naming the first error and its
 * topic/partition, if any message was not delivered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/decode/ed_time.h"
#include "actors/sources/ed_gen.h"
#include "config/ed_config.h"
#include "runtime/ed_common.h"

#define EX_USAGE_ 64
#define S_TIMEOUT_MS 30000 /* default --timeout: message.timeout.ms */
#define S_DEFAULT_START_MS 1767225600000LL /* 2026-01-01T00:00:00Z */

static void s_usage(FILE *out) {
    fprintf(out,
            "usage: eddy gen orders|reviews|views|alerts|tweets|users|nexmark --count N [--rate R]\n"
            "                [--seed S]"
            " [--start TIME] [--disorder D] [--late-fraction F] [--late-by D]\n"
            "                [--realtime] (--topic T [--brokers B] [--timeout D] | --out FILE)\n"
            "\n"
            "Writes N of the tutorials' events as JSON lines, the same bytes for the same\n"
            "options and seed. Fields: docs/gen.md.\n"
            "  --count N          events to generate (≥ 1)\n"
            "  --rate R           events per second of event time (default 1000; nexmark 10000)\n"
            "  --seed S           random seed (default 1)\n"
            "  --start TIME       event time of the first event: epoch s or ms, ISO-8601,\n"
            "                     or 'now' (default 2026-01-01T00:00:00Z)\n"
            "  --disorder D       move each event time back by up to D (e.g. 2s): out of order\n"
            "  --late-fraction F  share of events (0..1) moved --late-by further back\n"
            "  --late-by D        how far late events are moved back (default 5m)\n"
            "  --realtime         emit at R events per wall-clock second (default: at once)\n"
            "  --topic T          produce to Kafka topic T (key: the event's id or user)\n"
            "  --brokers B        Kafka bootstrap servers (default $EDDY_KAFKA or "
            "127.0.0.1:29092)\n"
            "  --timeout D        how long an event may wait for delivery (default 30s)\n"
            "  --out FILE         write to FILE ('-' = stdout)\n");
}

static int s_bad(const char *opt, const char *val, const char *expected) {
    fprintf(stderr, "eddy gen: %s '%s' is not valid; expected %s\n", opt, val, expected);
    return EX_USAGE_;
}

/* ---- Kafka output ---- */

typedef struct {
    uint64_t delivered, failed;
    char first_err[512]; /* the first failed delivery, with topic/partition */
    char last_error[512]; /* the last client-level error (broker down, …) */
} s_kafka_t;

static void s_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    s_kafka_t *k = opaque;
    if (!m->err) {
        k->delivered++;
        return;
    }
    if (k->failed++ == 0)
        snprintf(k->first_err, sizeof k->first_err, "%s (topic %s, partition %d)",
                 rd_kafka_err2str(m->err), rd_kafka_topic_name(m->rkt), (int)m->partition);
}

static void s_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    (void)rk;
    s_kafka_t *k = opaque;
    snprintf(k->last_error, sizeof k->last_error, "%s: %s",
             rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static void s_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    if (level <= 3)
        ED_LOG_D("gen", "librdkafka %s: %s", fac, buf);
}

static rd_kafka_t *s_producer(const char *brokers, int64_t timeout_ms, s_kafka_t *k) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char err[512], timeout[24];
    snprintf(timeout, sizeof timeout, "%lld", (long long)timeout_ms);
    const char *props[][2] = {
        {"bootstrap.servers", brokers}, {"client.id", "eddy-gen"},
        {"enable.idempotence", "false"}, {"acks", "all"},
        {"linger.ms", "5"},             {"message.timeout.ms", timeout},
    };
    for (size_t i = 0; i < ED_ARRAY_SIZE(props); i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, sizeof err) !=
            RD_KAFKA_CONF_OK) {
            fprintf(stderr, "eddy gen: Kafka property %s=%s: %s\n", props[i][0], props[i][1],
                    err);
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    rd_kafka_conf_set_dr_msg_cb(conf, s_dr_cb);
    rd_kafka_conf_set_error_cb(conf, s_error_cb);
    rd_kafka_conf_set_log_cb(conf, s_log_cb);
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "eddy gen: cannot create a Kafka producer for %s: %s\n", brokers, err);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

/* Produces one event; waits for room while the local queue is full.
 * Returns 0 or -1 (error printed). */
static int s_produce(rd_kafka_t *rk, const char *topic, const ed_gen_event_t *ev) {
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY((void *)ev->key, ev->key_len),
            RD_KAFKA_V_VALUE((void *)ev->json, ev->len), RD_KAFKA_V_TIMESTAMP(ev->ts_ms),
            RD_KAFKA_V_END);
        if (!err)
            break;
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "eddy gen: cannot produce event %llu to topic %s: %s\n",
                    (unsigned long long)ev->index, topic, rd_kafka_err2str(err));
            return -1;
        }
        rd_kafka_poll(rk, 100); /* serves delivery reports, which frees room */
    }
    rd_kafka_poll(rk, 0);
    return 0;
}

/* Sleeps until `due_us` on the monotonic clock (for --realtime). */
static void s_wait_until(int64_t due_us) {
    int64_t left = due_us - ed_now_us();
    if (left <= 0)
        return;
    struct timespec ts = {left / 1000000, (left % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int ed_gen_main(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        s_usage(stdout);
        return 0;
    }
    ed_gen_opts_t o = {.rate = 1000, .seed = 1, .start_ms = S_DEFAULT_START_MS,
                       .late_by_ms = 300000};
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "eddy gen: expected an event kind first: orders, reviews, views, "
                        "alerts, tweets, users or nexmark\n");
        s_usage(stderr);
        return EX_USAGE_;
    }
    if (ed_gen_kind_parse(argv[1], &o.kind) != 0) {
        fprintf(stderr, "eddy gen: unknown event kind '%s'; expected orders, reviews, views, "
                        "alerts, tweets, users or nexmark\n",
                argv[1]);
        return EX_USAGE_;
    }
    if (o.kind == ED_GEN_NEXMARK)
        o.rate = 10000; /* Beam's Nexmark default, as the nexmark source's event_rate */
    static const struct option opts[] = {
        {"count", required_argument, 0, 'n'},   {"rate", required_argument, 0, 'r'},
        {"seed", required_argument, 0, 's'},    {"start", required_argument, 0, 'S'},
        {"disorder", required_argument, 0, 'd'}, {"late-fraction", required_argument, 0, 'f'},
        {"late-by", required_argument, 0, 'l'}, {"realtime", no_argument, 0, 'R'},
        {"topic", required_argument, 0, 't'},   {"brokers", required_argument, 0, 'b'},
        {"out", required_argument, 0, 'o'},     {"timeout", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *topic = NULL, *brokers = NULL, *out = NULL;
    int have_count = 0, realtime = 0, have_timeout = 0, c;
    int64_t timeout_ms = S_TIMEOUT_MS;
    char *end;
    optind = 2;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            errno = 0;
            o.count = strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] == '-' || !o.count)
                return s_bad("--count", optarg, "a whole number of events, at least 1");
            have_count = 1;
            break;
        case 'r':
            o.rate = ed_val_strtod(optarg, &end);
            if (*end || !(o.rate > 0) || !isfinite(o.rate))
                return s_bad("--rate", optarg, "events per second above 0, e.g. 1000");
            break;
        case 's':
            errno = 0;
            o.seed = strtoull(optarg, &end, 0);
            if (errno || *end || optarg[0] == '-')
                return s_bad("--seed", optarg, "a whole number ≥ 0");
            break;
        case 'S':
            if (!strcmp(optarg, "now")) {
                o.start_ms = ed_wall_ms();
            } else {
                ed_val_t v = {ED_VAL_STRING, optarg, strlen(optarg), 0};
                if (ed_time_parse(&v, ED_TIME_AUTO, &o.start_ms) != 0)
                    return s_bad("--start", optarg,
                                 "epoch seconds or ms, ISO-8601 (2026-01-01T00:00:00Z) or now");
            }
            break;
        case 'd':
            if (ed_config_parse_duration(optarg, &o.disorder_ms) != 0 || o.disorder_ms < 0)
                return s_bad("--disorder", optarg, "a duration such as 500ms, 2s, 1m");
            break;
        case 'l':
            if (ed_config_parse_duration(optarg, &o.late_by_ms) != 0 || o.late_by_ms < 0)
                return s_bad("--late-by", optarg, "a duration such as 30s, 5m, 1h");
            break;
        case 'f':
            o.late_fraction = ed_val_strtod(optarg, &end);
            if (*end || !(o.late_fraction >= 0 && o.late_fraction <= 1))
                return s_bad("--late-fraction", optarg, "a share between 0 and 1, e.g. 0.01");
            break;
        case 'T':
            if (ed_config_parse_duration(optarg, &timeout_ms) != 0 || timeout_ms < 1 ||
                timeout_ms > 3600000)
                return s_bad("--timeout", optarg, "a duration from 1ms to 1h, e.g. 30s");
            have_timeout = 1;
            break;
        case 'R': realtime = 1; break;
        case 't': topic = optarg; break;
        case 'b': brokers = optarg; break;
        case 'o': out = optarg; break;
        case 'h': s_usage(stdout); return 0;
        default: s_usage(stderr); return EX_USAGE_;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "eddy gen: unexpected argument '%s'\n", argv[optind]);
        return EX_USAGE_;
    }
    if (!have_count) {
        fprintf(stderr, "eddy gen: --count N is required (events to generate)\n");
        return EX_USAGE_;
    }
    if (!topic == !out) {
        fprintf(stderr, "eddy gen: expected exactly one of --topic T (Kafka) or --out FILE\n");
        return EX_USAGE_;
    }
    if ((brokers || have_timeout) && !topic) {
        fprintf(stderr, "eddy gen: --brokers and --timeout apply to --topic only\n");
        return EX_USAGE_;
    }
    if (topic && !brokers)
        brokers = getenv("EDDY_KAFKA") ? getenv("EDDY_KAFKA") : "127.0.0.1:29092";

    FILE *f = NULL;
    rd_kafka_t *rk = NULL;
    s_kafka_t k;
    memset(&k, 0, sizeof k);
    if (out) {
        f = strcmp(out, "-") ? fopen(out, "w") : stdout;
        if (!f) {
            fprintf(stderr, "eddy gen: cannot open %s for writing: %s\n", out, strerror(errno));
            return 1;
        }
    } else if (!(rk = s_producer(brokers, timeout_ms, &k))) {
        return 1;
    }
    ed_gen_t *g = ed_gen_new(&o);
    ed_gen_event_t ev;
    uint64_t n = 0, late = 0;
    int64_t t0 = ed_now_us();
    int rc = 0;
    while (rc == 0 && ed_gen_next(g, &ev)) {
        if (realtime)
            s_wait_until(t0 + (int64_t)((double)ev.index * 1e6 / o.rate));
        if (f) {
            if (fwrite(ev.json, 1, ev.len, f) != ev.len || putc('\n', f) == EOF) {
                fprintf(stderr, "eddy gen: writing %s failed after %llu events: %s\n", out,
                        (unsigned long long)n, strerror(errno));
                rc = 1;
            }
        } else if (s_produce(rk, topic, &ev) != 0) {
            rc = 1;
        }
        n += rc == 0;
        late += rc == 0 && ev.late;
    }
    ed_gen_destroy(&g);
    if (f) {
        if ((f == stdout ? fflush(f) : fclose(f)) != 0 && rc == 0) {
            fprintf(stderr, "eddy gen: writing %s failed: %s\n", out, strerror(errno));
            rc = 1;
        }
        if (rc == 0)
            fprintf(stderr, "eddy gen: %llu %s events (%llu late) written to %s\n",
                    (unsigned long long)n, argv[1], (unsigned long long)late,
                    strcmp(out, "-") ? out : "stdout");
        return rc;
    }
    /* Wait for every delivery report: longer than message.timeout.ms, so
     * each message ends delivered or failed. */
    rd_kafka_flush(rk, (int)timeout_ms + 10000);
    int pending = rd_kafka_outq_len(rk);
    if (k.failed || pending || rc) {
        if (k.failed)
            fprintf(stderr, "eddy gen: %llu of %llu events not delivered to topic %s at %s; "
                            "first error: %s%s%s\n",
                    (unsigned long long)k.failed, (unsigned long long)n, topic, brokers,
                    k.first_err, k.last_error[0] ? "; last client error: " : "", k.last_error);
        if (pending)
            fprintf(stderr, "eddy gen: %d events still unacknowledged by %s after %d s\n",
                    pending, brokers, (int)(timeout_ms + 10000) / 1000);
        rc = 1;
    } else {
        fprintf(stderr, "eddy gen: %llu %s events (%llu late) delivered to topic %s at %s\n",
                (unsigned long long)k.delivered, argv[1], (unsigned long long)late, topic,
                brokers);
    }
    rd_kafka_destroy(rk);
    return rc;
}
