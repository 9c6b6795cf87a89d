/*
 * ed_sink_records_spec.h — internal to ed_sink_records.c: parses the
 * `columns:` specs ("PATH [TYPE] [not null]", ed_sink_records.h) and lays
 * out the columns and primary key they describe. Knows no record.
 */
#ifndef ED_SINK_RECORDS_SPEC_H
#define ED_SINK_RECORDS_SPEC_H

#include <stddef.h>

#include "sinks/ed_sink_records.h"

/* Lays out the columns (conf->columns->n of them, paths owned) and the key
 * column indexes of conf into *cols_p / *pk_p (owned; free with
 * ed_sink_records_cols_free and free()). Returns NULL, or a sentence naming
 * the column and what is wrong (in buf, n bytes; then nothing is
 * allocated and both are NULL). */
const char *ed_sink_records_layout(const ed_sink_records_conf_t *conf, ed_rec_col_t **cols_p,
                                   int **pk_p, char *buf, size_t n);

/* Frees n columns from ed_sink_records_layout (their paths and the array).
 * NULL-safe. */
void ed_sink_records_cols_free(ed_rec_col_t *cols, int n);

#endif
