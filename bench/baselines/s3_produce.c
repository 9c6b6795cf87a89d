/*
 * s3_produce.c — fills a Kafka topic with N synthetic JSON order events for
 * benchmark S3, as fast as librdkafka allows, and prints what a correct
 * consumer must find.
 *
 *   s3_produce BROKERS TOPIC N [PRODUCTS] [SEED] [THRESHOLD]
 *
 * Event i (deterministic for a given SEED; key = order_id), about 147 bytes:
 *   {"order_id":"o-000000000042","ts":1732262400123,"customer":"c-081231",
 *    "product_id":"p-04711","category":"books","amount":123.45,"status":"paid"}
 * product_id is uniform over PRODUCTS (default 10000), amount uniform in
 * [1.00, 500.00] with two decimals, ts the wall clock at generation (ms).
 *
 * stdout, one JSON object:
 *   {"events":N,"bytes":B,"products":P,"amount_cents":S,"alert_keys":A,
 *    "elapsed_ms":T,"eps":R}
 * amount_cents is the exact sum of all amounts in cents; alert_keys the number
 * of products whose total amount is >= THRESHOLD (default: no threshold, 0).
 * Exit 1 if any message was not delivered.
 *
 * Build: gcc -O2 -o s3_produce s3_produce.c -lrdkafka
 */
#include <librdkafka/rdkafka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const s_categories[] = {"books",  "electronics", "garden", "toys",
                                           "grocery", "fashion",    "sports", "beauty",
                                           "home",   "automotive",  "music",  "office"};
static const char *const s_statuses[] = {"paid", "shipped", "pending", "delivered"};

static uint64_t s_failed;

static uint64_t s_next(uint64_t *state) { /* splitmix64 */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t s_range(uint64_t r, uint64_t n) {
    return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

static int64_t s_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double s_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) {
        if (s_failed++ < 5)
            fprintf(stderr, "s3_produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
    }
}

static void s_set(rd_kafka_conf_t *conf, const char *k, const char *v) {
    char err[256];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "s3_produce: %s=%s: %s\n", k, v, err);
        exit(2);
    }
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: s3_produce BROKERS TOPIC N [PRODUCTS] [SEED] [THRESHOLD]\n");
        return 2;
    }
    const char *brokers = argv[1], *topic = argv[2];
    uint64_t n = strtoull(argv[3], NULL, 10);
    uint64_t products = argc > 4 ? strtoull(argv[4], NULL, 10) : 10000;
    uint64_t rng = argc > 5 ? strtoull(argv[5], NULL, 10) : 7;
    double threshold = argc > 6 ? atof(argv[6]) : -1;
    if (!products)
        products = 1;

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    s_set(conf, "bootstrap.servers", brokers);
    s_set(conf, "linger.ms", "20");
    s_set(conf, "batch.size", "1000000");
    s_set(conf, "queue.buffering.max.messages", "1000000");
    s_set(conf, "acks", "1");
    s_set(conf, "enable.idempotence", "false");
    rd_kafka_conf_set_dr_msg_cb(conf, s_dr_cb);
    char err[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "s3_produce: %s\n", err);
        return 2;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);

    uint64_t *rev = calloc(products, sizeof *rev); /* cents per product */
    uint64_t cents_total = 0, bytes = 0;
    char buf[256], key[32];
    double t0 = s_mono();
    for (uint64_t i = 0; i < n; i++) {
        uint64_t p = s_range(s_next(&rng), products);
        uint64_t c = s_range(s_next(&rng), 100000);
        uint64_t cents = 100 + s_range(s_next(&rng), 49901); /* 1.00 .. 500.00 */
        uint64_t st = s_range(s_next(&rng), 4);
        int kl = snprintf(key, sizeof key, "o-%012llu", (unsigned long long)i);
        int len = snprintf(buf, sizeof buf,
                           "{\"order_id\":\"%s\",\"ts\":%lld,\"customer\":\"c-%06llu\","
                           "\"product_id\":\"p-%05llu\",\"category\":\"%s\",\"amount\":%llu.%02llu,"
                           "\"status\":\"%s\"}",
                           key, (long long)s_now_ms(), (unsigned long long)c,
                           (unsigned long long)p, s_categories[p % 12],
                           (unsigned long long)(cents / 100), (unsigned long long)(cents % 100),
                           s_statuses[st]);
        rev[p] += cents;
        cents_total += cents;
        bytes += (uint64_t)len;
        while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, buf, (size_t)len,
                                key, (size_t)kl, NULL) == -1) {
            rd_kafka_resp_err_t e = rd_kafka_last_error();
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "s3_produce: produce: %s\n", rd_kafka_err2str(e));
                return 1;
            }
            rd_kafka_poll(rk, 10);
        }
        if ((i & 1023) == 0)
            rd_kafka_poll(rk, 0);
    }
    while (rd_kafka_outq_len(rk) > 0)
        rd_kafka_flush(rk, 1000);
    double dt = s_mono() - t0;

    uint64_t alert_keys = 0, nprod = 0;
    for (uint64_t p = 0; p < products; p++) {
        nprod += rev[p] > 0;
        if (threshold >= 0 && rev[p] > 0 && (double)rev[p] >= threshold * 100.0)
            alert_keys++;
    }
    printf("{\"events\":%llu,\"bytes\":%llu,\"products\":%llu,\"amount_cents\":%llu,"
           "\"alert_keys\":%llu,\"elapsed_ms\":%.0f,\"eps\":%.0f}\n",
           (unsigned long long)n, (unsigned long long)bytes, (unsigned long long)nprod,
           (unsigned long long)cents_total, (unsigned long long)alert_keys, dt * 1000,
           dt > 0 ? (double)n / dt : 0);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    free(rev);
    return s_failed ? 1 : 0;
}
