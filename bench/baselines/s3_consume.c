/*
 * s3_consume.c — baseline for benchmark S3: the raw rate at which librdkafka's
 * high-level consumer reads a topic on this machine, doing nothing else.
 *
 *   s3_consume BROKERS TOPIC N GROUP [TIMEOUT_S]
 *
 * Joins a fresh consumer group GROUP (auto.offset.reset=earliest, no offset
 * commits), polls until N messages arrived, touching each payload only to
 * add up its length. The clock starts before rd_kafka_new(), as eddy's
 * active_ms starts before its consumer exists, so both include the group join.
 *
 * stdout, one JSON object:
 *   {"events":N,"bytes":B,"elapsed_ms":T,"first_to_last_ms":F,"eps":N/T}
 * Exit 1 if fewer than N messages arrived before TIMEOUT_S (default 120) of
 * silence.
 *
 * Build: gcc -O2 -o s3_consume s3_consume.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double s_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_set(rd_kafka_conf_t *conf, const char *k, const char *v) {
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "s3_consume: %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: s3_consume BROKERS TOPIC N GROUP [TIMEOUT_S]\n");
        return 2;
    }
    uint64_t n = strtoull(argv[3], NULL, 10);
    double timeout = argc > 5 ? atof(argv[5]) : 120;

    double t0 = s_mono();
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    s_set(conf, "bootstrap.servers", argv[1]);
    s_set(conf, "group.id", argv[4]);
    s_set(conf, "auto.offset.reset", "earliest");
    s_set(conf, "enable.auto.commit", "false");
    s_set(conf, "enable.auto.offset.store", "false");
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "s3_consume: %s\n", err);
        return 2;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, argv[2], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        fprintf(stderr, "s3_consume: subscribe: %s\n", rd_kafka_err2str(e));
        return 2;
    }

    uint64_t got = 0, bytes = 0;
    double first = 0, last_progress = s_mono();
    while (got < n) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            if (s_mono() - last_progress > timeout)
                break;
            continue;
        }
        if (!m->err) {
            if (!got)
                first = s_mono();
            got++;
            bytes += m->len;
            last_progress = s_mono();
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "s3_consume: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    double t1 = s_mono();
    printf("{\"events\":%llu,\"bytes\":%llu,\"elapsed_ms\":%.1f,\"first_to_last_ms\":%.1f,"
           "\"eps\":%.0f}\n",
           (unsigned long long)got, (unsigned long long)bytes, (t1 - t0) * 1000,
           got ? (t1 - first) * 1000 : 0.0, t1 > t0 ? (double)got / (t1 - t0) : 0.0);
    fflush(stdout);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (got < n) {
        fprintf(stderr, "s3_consume: only %llu of %llu messages within %.0f s of silence\n",
                (unsigned long long)got, (unsigned long long)n, timeout);
        return 1;
    }
    return 0;
}
