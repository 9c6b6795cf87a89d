/*
 * ed_lake_parquet.c — Parquet files for the lake sink. Not built yet: the
 * format is refused by the config (sinks/ed_sink_lake.c, a planned choice).
 */
#include "sinks/ed_lake_parquet.h"

#include "runtime/ed_common.h"

ed_lake_parquet_t *ed_lake_parquet_new(const char *sink, const ed_rec_col_t *cols, int ncols,
                                       int compression, char *errstr, size_t errstr_size) {
    (void)cols;
    (void)ncols;
    (void)compression;
    ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': format parquet is not implemented yet",
              sink);
    return NULL;
}

int ed_lake_parquet_convert(ed_lake_parquet_t *pq, const char *stage, const char *tmp,
                            char *errstr, size_t errstr_size) {
    (void)pq;
    (void)tmp;
    return ed_seterr(errstr, errstr_size, ED_EINVAL, "%s: Parquet is not implemented yet", stage);
}

void ed_lake_parquet_destroy(ed_lake_parquet_t **pq_p) {
    if (pq_p)
        *pq_p = NULL;
}
