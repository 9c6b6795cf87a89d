/*
 * s10_gen.c — bench S10's generator alone: the Nexmark event model
 * (actors/sources/ed_gen_nexmark.h) writing N events into one buffer, as
 * the `nexmark` source does, with nothing else. Prints one JSON line:
 * {"events":N,"cpu_s":…,"events_per_cpu_s":…,"bytes":…,"checksum":…}
 * (CPU time of the process, so the machine's other load does not count).
 *
 *   s10_gen EVENTS [SEED]
 *
 * Built by the root Makefile (build/bench/s10_gen, linked with libeddy.a).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "actors/sources/ed_gen_nexmark.h"

static double s_cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: s10_gen EVENTS [SEED]\n");
        return 64;
    }
    uint64_t n = strtoull(argv[1], NULL, 10);
    ed_nexmark_opts_t o = {.seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1,
                           .rate = 10000,
                           .start_ms = 1767225600000LL};
    ed_nexmark_t *nx = ed_nexmark_new(&o);
    static char buf[ED_NEXMARK_MAX_JSON];
    uint64_t bytes = 0, sum = 0;
    double t0 = s_cpu_s();
    for (uint64_t i = 0; i < n; i++) {
        int64_t id;
        size_t len = ed_nexmark_event(nx, i, ed_nexmark_time(nx, i), buf, &id);
        bytes += len;
        sum += (uint64_t)id + (unsigned char)buf[len / 2]; /* keep the work observable */
    }
    double cpu = s_cpu_s() - t0;
    printf("{\"events\":%llu,\"cpu_s\":%.3f,\"events_per_cpu_s\":%.0f,\"bytes\":%llu,"
           "\"checksum\":%llu}\n",
           (unsigned long long)n, cpu, cpu > 0 ? (double)n / cpu : 0.0,
           (unsigned long long)bytes, (unsigned long long)sum);
    ed_nexmark_destroy(&nx);
    return 0;
}
