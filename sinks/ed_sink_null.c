/* ed_sink_null.c — a sink that discards everything and acks at once (for
 * benchmarks and pipelines that only raise alerts elsewhere). */
#include "sinks/ed_sink.h"

static int s_init(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size) {
    (void)sc;
    (void)errstr;
    (void)errstr_size;
    *ctx_p = (void *)1; /* no state; any non-NULL value */
    return 0;
}

static ed_write_result_t s_write(void *ctx, const ed_sink_flush_t *flush, ed_sink_stats_t *stats,
                                 char *errstr, size_t errstr_size) {
    (void)ctx;
    (void)errstr;
    (void)errstr_size;
    stats->rows_written += flush->rows;
    return ED_WRITE_OK;
}

static void s_destroy(void **ctx_p) { *ctx_p = 0; }

const ed_sink_type_t ed_sink_null = {
    .conf = {.name = "null",
             .desc = "discards everything: for tests, benchmarks and unwanted rejects",
             .caps = ED_CAP_CHANGELOG | ED_CAP_CHANGELOGS | ED_CAP_WINDOWS | ED_CAP_RECORDS |
                     ED_CAP_ALERTS},
    .init = s_init,
    .write = s_write,
    .destroy = s_destroy};
