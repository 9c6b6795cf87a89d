/*
 * kafka_mock.c — librdkafka's mock Kafka cluster (rdkafka_mock.h, Debian's
 * librdkafka-dev 2.0.2) as a process that a shell test drives, to inject
 * broker faults under the real eddy binary (tests/integration/t_broker_faults.sh).
 *
 *   build/tests/kafka_mock [--brokers N]
 *
 * The cluster's brokers listen on 127.0.0.1 (ephemeral ports). The first
 * line on stdout is "bootstrap HOST:PORT,…", the bootstrap.servers of the
 * cluster. Then it reads one command a line on stdin and answers each with
 * one line, "ok" or "error: …", so the test knows the fault is in place:
 *
 *   topic NAME PARTITIONS        create a topic (replication factor 1)
 *   down BROKER | up BROKER      a broker disconnects its clients and refuses
 *                                new connections / accepts them again; -1 = all
 *   rtt BROKER MS                delay every response of BROKER by MS ms (0: none)
 *   errors BROKER API COUNT ERR...
 *                                the next COUNT requests of API (Produce, Fetch,
 *                                OffsetCommit, … : the Kafka protocol's request
 *                                names) to BROKER fail, with the ERRs in turn
 *                                (librdkafka's error names without
 *                                RD_KAFKA_RESP_ERR_, e.g. NOT_COORDINATOR,
 *                                REQUEST_TIMED_OUT, COORDINATOR_LOAD_IN_PROGRESS;
 *                                _TRANSPORT disconnects the client)
 *   pending BROKER API           answers "ok N": N of those errors not yet
 *                                returned (0: every injected error was hit)
 *   quit                         destroy the cluster and exit 0
 *
 * The cluster lives in this process: its topics, offsets and committed
 * group offsets are gone when it exits. Exit status 1 if the cluster cannot
 * be created (the reason on stderr).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* The Kafka protocol's request names and keys (ApiKey), from the protocol
 * guide (kafka.apache.org/protocol#protocol_api_keys); librdkafka's own
 * table (RD_KAFKAP_*) is not in its public headers. */
static const struct {
    const char *name;
    int16_t key;
} s_apis[] = {
    {"Produce", 0},        {"Fetch", 1},          {"ListOffsets", 2},
    {"Metadata", 3},       {"OffsetCommit", 8},   {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},   {"Heartbeat", 12},
    {"LeaveGroup", 13},    {"SyncGroup", 14},     {"ApiVersions", 18},
    {"InitProducerId", 22}, {"AddPartitionsToTxn", 24}, {"EndTxn", 26},
};

static int s_api_key(const char *name) {
    for (size_t i = 0; i < sizeof s_apis / sizeof s_apis[0]; i++)
        if (!strcmp(s_apis[i].name, name))
            return s_apis[i].key;
    return -1;
}

/* An error code by librdkafka's name for it ("NOT_COORDINATOR"); 0 if none. */
static int s_err_code(const char *name, rd_kafka_resp_err_t *err) {
    const struct rd_kafka_err_desc *descs;
    size_t cnt;
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (descs[i].name && !strcmp(descs[i].name, name)) {
            *err = descs[i].code;
            return 1;
        }
    }
    return 0;
}

/* Runs one command line; writes the answer (without newline) to ans. */
static void s_command(rd_kafka_mock_cluster_t *mc, char *line, char *ans, size_t ans_size) {
    char *save = NULL;
    const char *cmd = strtok_r(line, " \t\r\n", &save);
    const char *a1 = strtok_r(NULL, " \t\r\n", &save);
    const char *a2 = strtok_r(NULL, " \t\r\n", &save);
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    snprintf(ans, ans_size, "ok");
    if (!cmd) {
        snprintf(ans, ans_size, "error: empty command");
    } else if (!strcmp(cmd, "topic") && a1 && a2) {
        err = rd_kafka_mock_topic_create(mc, a1, atoi(a2), 1);
    } else if (!strcmp(cmd, "down") && a1) {
        err = rd_kafka_mock_broker_set_down(mc, atoi(a1));
    } else if (!strcmp(cmd, "up") && a1) {
        err = rd_kafka_mock_broker_set_up(mc, atoi(a1));
    } else if (!strcmp(cmd, "rtt") && a1 && a2) {
        err = rd_kafka_mock_broker_set_rtt(mc, atoi(a1), atoi(a2));
    } else if (!strcmp(cmd, "pending") && a1 && a2) {
        int key = s_api_key(a2);
        size_t n = 0;
        if (key < 0)
            snprintf(ans, ans_size, "error: unknown request name '%s'", a2);
        else if (!(err = rd_kafka_mock_broker_error_stack_cnt(mc, atoi(a1), (int16_t)key, &n)))
            snprintf(ans, ans_size, "ok %zu", n);
    } else if (!strcmp(cmd, "errors") && a1 && a2) {
        const char *a3 = strtok_r(NULL, " \t\r\n", &save);
        int broker = atoi(a1), key = s_api_key(a2), count = a3 ? atoi(a3) : 0, n = 0;
        rd_kafka_resp_err_t names[16];
        const char *e, *bad = NULL;
        while (!bad && (e = strtok_r(NULL, " \t\r\n", &save))) {
            if (n == 16 || !s_err_code(e, &names[n]))
                bad = e;
            else
                n++;
        }
        if (key < 0) {
            snprintf(ans, ans_size, "error: unknown request name '%s'", a2);
        } else if (bad) {
            snprintf(ans, ans_size, "error: unknown error name (or more than 16) '%s'", bad);
        } else if (n == 0) {
            snprintf(ans, ans_size, "error: no error name after COUNT");
        } else if (count <= 0) {
            snprintf(ans, ans_size, "error: COUNT must be > 0, not '%s'", a3 ? a3 : "");
        } else {
            /* One (error, no delay) tuple a call: the stack takes them in order. */
            for (int i = 0; i < count && !err; i++)
                err = rd_kafka_mock_broker_push_request_error_rtts(mc, broker, (int16_t)key, 1,
                                                                   names[i % n], 0);
        }
    } else {
        snprintf(ans, ans_size, "error: unknown command or missing argument: '%s'", cmd);
    }
    if (err)
        snprintf(ans, ans_size, "error: %s", rd_kafka_err2str(err));
}

int main(int argc, char **argv) {
    int brokers = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--brokers") && i + 1 < argc) {
            brokers = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: kafka_mock [--brokers N]  (commands on stdin: see the source)\n");
            return 64;
        }
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* Warnings and errors only: the notice that this handle has no
     * bootstrap.servers of its own is expected. */
    rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof errstr);
    /* The handle only owns the cluster (librdkafka's book keeping); it
     * connects nowhere. rd_kafka_new takes conf on success. */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "kafka_mock: rd_kafka_new: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "kafka_mock: cannot create a mock cluster of %d broker(s)\n", brokers);
        rd_kafka_destroy(rk);
        return 1;
    }
    printf("bootstrap %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    char line[1024], ans[256];
    while (fgets(line, sizeof line, stdin)) {
        if (!strncmp(line, "quit", 4))
            break;
        s_command(mc, line, ans, sizeof ans);
        printf("%s\n", ans);
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
