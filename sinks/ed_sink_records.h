/*
 * ed_sink_records.h — records (JSON objects: a source's pass-through `to:`,
 * per-record alerts) mapped to the typed columns of a table, for the SQL
 * sinks that write records as rows (postgres, mariadb; sqlite later). Knows
 * no SQL dialect and no server.
 *
 * A sink's `columns:` maps each table column to a field of the record and a
 * SQL type, one string per column (docs/sinks.md, "Records as rows"):
 *
 *     columns: { id: "id bigint", first_name: name.first,
 *                email: "email varchar(120) not null",
 *                registered: "registered.date timestamptz", raw: "location jsonb" }
 *
 * "PATH [TYPE] [not null]": PATH is a field or a dotted path into nested
 * objects (ed_json_fields.h), or metadata (@topic, @partition, @offset,
 * @timestamp, @key, @value: ED_REC_META_*, each of its own type); TYPE
 * (case-insensitive) one of text (the default; or string), varchar(N),
 * bigint (or int64), double precision (or double), boolean (or bool),
 * timestamptz (or timestamp), jsonb (or json); `not null` makes the field
 * required. Primary-key columns are always required.
 *
 * What a value must be, per type (anything else makes the record a reject
 * naming the column):
 *   text, varchar(N) a JSON string (valid UTF-8, no NUL), or a number or
 *                    boolean, stored as its JSON text; varchar(N): at most N
 *                    characters (code points)
 *   bigint           a JSON number with an integral value in the int64 range
 *   double           a JSON number
 *   boolean          true or false
 *   timestamptz      ISO-8601 / RFC 3339 text or epoch s/ms (actors/decode/
 *                    ed_time.h, `auto`), kept as ms since the epoch (UTC)
 *   jsonb            any JSON value, kept as its JSON text
 * A field that is missing or JSON null is SQL NULL, or a reject for a
 * required column.
 *
 * One flush is collected with ed_sink_records_build: every record parsed,
 * its fields extracted and checked; misfits become rejects (with the
 * record's source and position, the column and why); with a primary key
 * (upsert), records with the same key keep the last one (a statement may not
 * touch a row twice), and rows are sorted by key so that concurrent writers
 * lock rows in the same order.
 *
 * Threads: an ed_sink_records_t belongs to one sink instance and is used on
 * its worker thread only.
 */
#ifndef ED_SINK_RECORDS_H
#define ED_SINK_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/ed_buf.h"
#include "sinks/ed_sink.h"

/* The SQL type of a record column; each plugin names it in its dialect. */
typedef enum {
    ED_REC_TEXT = 1, /* text, or varchar(width) when width > 0 */
    ED_REC_BIGINT,   /* 64-bit integer */
    ED_REC_DOUBLE,   /* double precision */
    ED_REC_BOOL,     /* boolean */
    ED_REC_TIME,     /* a UTC point in time with milliseconds */
    ED_REC_JSON,     /* a JSON document */
} ed_rec_type_t;

/* Metadata a column can hold instead of a field (PATH "@topic", …): what
 * the record carries beside its value. @topic, @partition and @offset come
 * from a Kafka position ("topic/partition@offset"; NULL for other
 * sources), @timestamp is the record's time (the source's `time:` field,
 * else the Kafka message timestamp; NULL when 0), @key the message key or
 * file name (NULL when empty), @value the whole record as it came. */
enum {
    ED_REC_META_TOPIC = 1, /* text */
    ED_REC_META_PARTITION, /* bigint */
    ED_REC_META_OFFSET,    /* bigint */
    ED_REC_META_TIMESTAMP, /* timestamptz */
    ED_REC_META_KEY,       /* text (valid UTF-8, else a reject) */
    ED_REC_META_VALUE,     /* text (valid UTF-8, else a reject) */
};

/* One table column, in `columns:` order. */
typedef struct {
    const char *name;   /* column name (borrowed from the config) */
    char *path;         /* the field's dotted path, or "@topic" … (owned) */
    int meta;           /* ED_REC_META_*: the column holds metadata; 0 = a field */
    ed_rec_type_t type;
    int width;          /* TEXT: varchar(width) characters; 0 = unbounded text */
    int not_null;       /* 1: a missing or null field rejects the record */
    int pk;             /* position in the primary key + 1; 0 = not in it */
} ed_rec_col_t;

/* One value of a row. */
typedef struct {
    int null;        /* 1: SQL NULL (the other fields are 0) */
    const char *str; /* TEXT, JSON: the text (not NUL-terminated; may point into the flush) */
    size_t len;      /* bytes of str */
    int64_t i;       /* BIGINT: the value; BOOL: 0 or 1; TIME: ms since the epoch, UTC */
    double d;        /* DOUBLE: the value */
} ed_rec_cell_t;

/* What a record set is made from. Strings are borrowed and must outlive it
 * (the config is immutable while the runtime runs). */
typedef struct {
    const ed_config_t *conf;             /* for source names; may be NULL */
    const char *sink;                    /* sink name, for logs and rejects */
    const char *table;                   /* table name, for logs */
    const ed_conf_kvmap_t *columns;      /* `columns:`: column name → "PATH [TYPE] [not null]" */
    const ed_conf_strlist_t *primary_key; /* `primary_key:` columns, or NULL / empty */
    int upsert;                          /* 1: one row per key, the last record wins */
    int pk_text_width; /* width given to a text primary-key column declared without one
                          (MariaDB: 255, an index needs a bounded length); 0 = none */
} ed_sink_records_conf_t;

typedef struct ed_sink_records ed_sink_records_t;

/* ---- the options of a sink that writes records (in its config map) ---- */

enum { ED_REC_MODE_UPSERT = 1, ED_REC_MODE_INSERT = 2 };

/* The record options, a member of the plugin's options struct. */
typedef struct {
    int mode;                      /* ED_REC_MODE_*; 0 = not given (upsert with a primary key,
                                      else insert) */
    ed_conf_strlist_t primary_key; /* key column names */
    ed_conf_kvmap_t columns;       /* column name → "PATH [TYPE] [not null]" */
} ed_sink_rec_opts_t;

extern const ed_conf_choice_t ed_sink_rec_modes[];

/* The config map rows of the record options of plugin options struct T
 * whose ed_sink_rec_opts_t member is `f`: mode, primary_key, columns (keys
 * beside the type block, like `table`). */
#define ED_SINK_RECORD_ROWS(T, f)                                                                  \
    {ED_CONF_ENUM, "mode", NULL, offsetof(T, f.mode), ED_CONF_OUTER,                               \
     "records: `upsert` (one row per `primary_key`, the last record wins) or `insert` (every "    \
     "record a new row)",                                                                          \
     .choices = ed_sink_rec_modes, .doc_def = "`upsert` with a `primary_key`, else `insert`"},     \
        {ED_CONF_STRLIST, "primary_key", NULL, offsetof(T, f.primary_key), ED_CONF_OUTER,          \
         "records: the columns that identify a row (the table's primary key)",                     \
         .expect = "a column name or a list of them"},                                             \
        {ED_CONF_KVMAP, "columns", NULL, offsetof(T, f.columns), ED_CONF_OUTER,                    \
         "records: the table's columns, each `name: \"PATH [TYPE] [not null]\"` (a field or "      \
         "dotted path; TYPE text, varchar(N), bigint, double precision, boolean, timestamptz "     \
         "or jsonb; see docs/sinks.md); with it the sink writes records, not a changelog",         \
         .expect = "a mapping of column names to \"PATH [TYPE]\""}

/* 1 if the sink writes records (its `columns:` is set). */
static inline int ed_sink_rec_on(const ed_sink_rec_opts_t *o) { return o->columns.n > 0; }

/* Fills conf's columns, primary_key and upsert from o (borrowed). */
void ed_sink_rec_conf(ed_sink_records_conf_t *conf, const ed_sink_rec_opts_t *o);

/* For the init of a SQL sink writing records: creates the record set of
 * options o (borrowed) for sink `sink` writing `table` (both borrowed; must
 * outlive it), pk_text_width as in ed_sink_records_conf_t, into *recs
 * (owned by the caller: ed_sink_records_destroy), with its columns
 * (*cols, *ncols), primary key (*pk, *npk; ed_sink_records_pk) and
 * whether it upserts (*upsert). Returns 0, or ED_EINVAL with errstr (as
 * ed_sink_records_new) and *recs NULL. */
int ed_sink_rec_open(const ed_config_t *conf, const char *sink, const char *table,
                     const ed_sink_rec_opts_t *o, int pk_text_width, ed_sink_records_t **recs,
                     const ed_rec_col_t **cols, int *ncols, const int **pk, int *npk,
                     int *upsert, char *errstr, size_t errstr_size);

/* For a plugin's validate: checks the record options together with the
 * `table` option (required with `columns`): records errors at the keys.
 * pk_text_width as in ed_sink_records_conf_t. Returns 0 or ED_EINVAL. */
int ed_sink_rec_validate(ed_conf_check_t *ck, const ed_sink_rec_opts_t *o, const char *table,
                         int pk_text_width);

/* For a plugin's link (an aggregation feeds the sink): `columns` does not
 * apply to a changelog. Returns 0 or ED_EINVAL (recorded). */
int ed_sink_rec_link(ed_conf_check_t *ck, const ed_sink_rec_opts_t *o);

/* For a plugin's link_records (records feed the sink): they need
 * `columns`. Returns 0 or ED_EINVAL (recorded). */
int ed_sink_rec_link_records(ed_conf_check_t *ck, const ed_sink_rec_opts_t *o);

/* Checks a `columns:` / `primary_key:` / upsert combination without
 * building anything: NULL if it is valid, else a sentence naming the
 * column and what is wrong (into buf, n bytes; the result points to it).
 * For a plugin's validate. */
const char *ed_sink_records_check(const ed_sink_records_conf_t *conf, char *buf, size_t n);

/* Creates a record set for `conf` (copied; see ed_sink_records_conf_t for
 * what it borrows). Returns it (owned; free with ed_sink_records_destroy),
 * or NULL with errstr (as ed_sink_records_check) for an invalid spec. */
ed_sink_records_t *ed_sink_records_new(const ed_sink_records_conf_t *conf, char *errstr,
                                       size_t errstr_size);

/* Frees the set and NULLs *rs_p. NULL-safe. */
void ed_sink_records_destroy(ed_sink_records_t **rs_p);

/* The table's columns (*ncols of them), in `columns:` order. Borrowed;
 * valid until destroy. */
const ed_rec_col_t *ed_sink_records_cols(const ed_sink_records_t *rs, int *ncols);

/* The primary key: *npk column indexes (into ed_sink_records_cols) in
 * `primary_key:` order; NULL and 0 without one. Borrowed. */
const int *ed_sink_records_pk(const ed_sink_records_t *rs, int *npk);

/* Collects the records of `flush` (its ED_BATCH_RECORDS batches; borrowed
 * for as long as the rows are used): parses each as JSON, extracts and
 * checks every column, keeps the misfits as rejects, and with a primary key
 * keeps the last record of each key and sorts the rows by key. Replaces
 * what the previous build held. Returns the number of rows. */
size_t ed_sink_records_build(ed_sink_records_t *rs, const ed_sink_flush_t *flush);

/* Rows of the current build. */
size_t ed_sink_records_count(const ed_sink_records_t *rs);

/* The ncols cells of row i (< count), in column order. Borrowed; valid
 * until the next build (text may point into the flush's batches). */
const ed_rec_cell_t *ed_sink_records_row(const ed_sink_records_t *rs, size_t i);

/* Records of the current build accepted (before merging duplicate keys). */
uint64_t ed_sink_records_accepted(const ed_sink_records_t *rs);

/* A record refused by the current build. */
typedef struct {
    int src;           /* config index of the source that read it, or -1 */
    const char *pos;   /* its position ("users/0@17", "users.jsonl:3"); pos_len bytes */
    size_t pos_len;
    const char *column; /* the column it does not fit, or NULL (not a JSON object) */
    const char *why;   /* NUL-terminated sentence: "field 'id' is missing", … */
    const char *input; /* the record as it came (input_len bytes) */
    size_t input_len;
} ed_sink_reject_t;

/* Number of rejects of the current build, and reject i (< that). Borrowed;
 * valid until the next build. */
size_t ed_sink_records_nrejects(const ed_sink_records_t *rs);
const ed_sink_reject_t *ed_sink_records_reject(const ed_sink_records_t *rs, size_t i);

/* Appends reject `rj` as the JSON document the rejects sink receives:
 * {"source":…,"position":…,"sink":…,"column":…,"error":…,"input":…} (the
 * shape of a source's rejects plus sink and column; source and column are
 * null when unknown). */
void ed_sink_reject_json(const ed_sink_records_t *rs, const ed_sink_reject_t *rj, ed_buf_t *out);

/* Appends a reject's one-line description for the log: "users/0@17
 * (source users), column id: field 'id' is missing". */
void ed_sink_reject_text(const ed_sink_records_t *rs, const ed_sink_reject_t *rj, ed_buf_t *out);

/* Does one ed_sink_type_t.write for a SQL sink in records mode, as
 * ed_sink_rows_write does for changelog rows (sinks/ed_sink_rows.h): builds
 * the rows of `flush`; counts the rejects in stats->rows_rejected, logs
 * them (the first few in full) and, where the flush has a `rejects` batch,
 * appends their documents to it, once per checkpoint and not again on a
 * retry; then, if any row is left, runs ops->connect, ->prepare and ->txn
 * (the txn writes all ed_sink_records_count rows). Changelog rows in the
 * flush are counted as rejected. Returns what the last op returned, or OK. */
struct ed_sink_rows_ops;
ed_write_result_t ed_sink_records_write(ed_sink_records_t *rs, const ed_sink_flush_t *flush,
                                        ed_sink_stats_t *stats, const struct ed_sink_rows_ops *ops,
                                        void *ctx, char *errstr, size_t errstr_size);

#endif
