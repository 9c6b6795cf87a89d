/*
 * ed_sink_lake.c — the `lake` sink: records (a source's `to:`, per-record
 * alerts) written as files of a data lake, one directory per partition:
 * JSON lines compressed with zstd, or Parquet (sinks/ed_lake_parquet.c).
 *
 *   lake_tweets:
 *     lake: { path: lake/bronze/tweets, format: parquet,
 *             partition_by: "dt={ts:%Y-%m-%d}/hour={ts:%H}",
 *             roll: { size: 128MB, interval: 5m }, compression: zstd }
 *     columns: { id: "id int64", ts: "created_at timestamp", text: text, topic: "@topic" }
 *
 * Each flush's rows (sinks/ed_sink_records.h: fields and metadata to typed
 * columns, misfits rejected with position and column) are appended, per
 * partition, as one zstd frame of JSON lines to the partition's stage file
 * and fsynced before the flush is acked; a stage is published as a visible
 * file when it reaches roll.size, when it is older than roll.interval (seen
 * at the next flush), and at stop (sinks/ed_lake_files.h: rename, recovery).
 * docs/sinks.md ("lake") says what this guarantees.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runtime/ed_file.h"
#include "sinks/ed_lake_files.h"
#include "sinks/ed_lake_parquet.h"
#include "sinks/ed_sink.h"
#include "sinks/ed_sink_records.h"
#include "sinks/ed_sink_rows.h"

enum { S_FMT_PARQUET = 1, S_FMT_JSONL = 2 };

#define S_MAX_SEGS 32
#define S_STAGE_LEVEL 1 /* zstd level of the stage frames: read back only after a crash */
#define S_NULL_PART "__HIVE_DEFAULT_PARTITION__" /* Hive's name for a NULL partition value */

typedef struct {
    char *path;              /* the lake's root directory */
    int format;              /* S_FMT_* */
    char *partition_by;      /* template of the partition directory, or NULL */
    uint64_t roll_size;      /* bytes of a stage file that publish it */
    int64_t roll_interval_ms; /* age of a stage file that publishes it */
    int compression;         /* ED_LAKE_Z_* */
    ed_conf_kvmap_t columns; /* column name → "PATH [TYPE] [not null]" */
    int raw;                 /* 1: a first column `value` holds the whole record */
} s_lake_opts_t;

static const ed_conf_choice_t s_formats[] = {
    {"parquet", S_FMT_PARQUET, 0}, {"jsonl", S_FMT_JSONL, 0}, {NULL, 0, 0}};
static const ed_conf_choice_t s_compressions[] = {{"zstd", ED_LAKE_Z_ZSTD, 0},
                                                  {"snappy", ED_LAKE_Z_SNAPPY, 0},
                                                  {"gzip", ED_LAKE_Z_GZIP, 0},
                                                  {"none", ED_LAKE_Z_NONE, 0},
                                                  {NULL, 0, 0}};

static const ed_conf_map_t s_roll_map[] = {
    {ED_CONF_SIZE, "size", "128MB", offsetof(s_lake_opts_t, roll_size), 0,
     "a file is published once its records take this many bytes (compressed, as staged)",
     .min = 1},
    {ED_CONF_DURATION, "interval", "5m", offsetof(s_lake_opts_t, roll_interval_ms), 0,
     "a file is published once it is this old (checked at each flush, and at stop)", .min = 1},
    {0}};

static const ed_conf_map_t s_lake_map[] = {
    {ED_CONF_STR, "path", NULL, offsetof(s_lake_opts_t, path), ED_CONF_REQUIRED,
     "the lake's root directory (created if missing); one eddy process per path",
     .expect = "a directory path"},
    {ED_CONF_ENUM, "format", "parquet", offsetof(s_lake_opts_t, format), 0,
     "`parquet` (Apache Parquet files, written by DuckDB) or `jsonl` (JSON lines, zstd)",
     .choices = s_formats},
    {ED_CONF_STR, "partition_by", NULL, offsetof(s_lake_opts_t, partition_by), 0,
     "the partition directory of a record: text with `{column}` or `{column:strftime}` (a "
     "timestamp column, UTC), e.g. `dt={ts:%Y-%m-%d}/hour={ts:%H}`",
     .expect = "a template such as \"dt={ts:%Y-%m-%d}\"", .doc_def = "none (files in `path`)"},
    {ED_CONF_SUBMAP, "roll", NULL, 0, 0, "when a file is closed and published: `roll: { size: "
     "128MB, interval: 5m }`", .sub = s_roll_map, .expect = "roll: { size: 128MB, interval: 5m }"},
    {ED_CONF_ENUM, "compression", "zstd", offsetof(s_lake_opts_t, compression), 0,
     "Parquet: `zstd`, `snappy`, `gzip` or `none`; JSON lines: `zstd` only",
     .choices = s_compressions},
    {ED_CONF_KVMAP, "columns", NULL, offsetof(s_lake_opts_t, columns), ED_CONF_OUTER,
     "lake: the files' columns, each `name: \"PATH [TYPE] [not null]\"` (a field, dotted path "
     "or @topic, @partition, @offset, @timestamp, @key, @value; TYPE string, int64, double, "
     "bool, timestamp or json; see docs/sinks.md)",
     .expect = "a mapping of column names to \"PATH [TYPE]\""},
    {ED_CONF_BOOL, "raw", "false", offsetof(s_lake_opts_t, raw), ED_CONF_OUTER,
     "lake: a first column `value` keeps each record whole, as a string", .doc_def = "`false`"},
    {0}};

/* A partition template: literal text and {column[:format]} parts. */
typedef struct {
    int nseg;
    struct {
        char *text; /* literal, or the strftime format (NULL: none) of a column part */
        int col;    /* column index, or -1 for a literal */
        int64_t csec; /* a time part: the second whose text is in ctext (cok) */
        int cok;
        size_t clen;
        char ctext[256];
    } seg[S_MAX_SEGS];
} s_tmpl_t;

/* One partition being written. */
typedef struct {
    char *dir;            /* its directory, relative to the root ("" without partition_by) */
    ed_lake_file_t *file; /* open stage, or NULL */
    ed_lake_pqfile_t *pqf; /* parquet: the file being written beside the stage, or NULL
                              (it failed: made from the stage at publication) */
    ed_buf_t lines;       /* this flush's JSON lines */
    size_t *rows;         /* parquet: this flush's rows (indices) */
    size_t nrows, caprows;
    int touched;          /* appended in this flush */
} s_part_t;

typedef struct {
    const char *name; /* sink name */
    const s_lake_opts_t *o;
    ed_conf_kvmap_t cols; /* columns, `value` first with raw (pairs borrowed but for that one) */
    ed_sink_records_t *recs;
    const ed_rec_col_t *rcols;
    int ncols;
    s_tmpl_t tmpl;
    const char *ext;  /* "parquet", "jsonl.zst" */
    ed_lake_parquet_t *pq; /* parquet: the writer set */
    ed_lake_pqfile_t *live; /* parquet: the file being published (s_publish → s_convert) */
    int lock_fd;
    int opened;       /* lock taken and recovery done */
    s_part_t *parts;
    int nparts, capparts;
    char **unpub;     /* stage paths whose publication failed (disk full): tried again */
    int nunpub, capunpub;
    ed_buf_t key;     /* scratch: a row's partition */
    char **keys;      /* per column: `{"name":` (the first) or `,"name":` */
    size_t *keylen;
    char iso[64];     /* s_iso: the text of second iso_sec */
    size_t isolen;
    int64_t iso_sec;
    int iso_ok;
} s_lake_t;

/* ------------------------------------------------------------- config */

/* The columns: `value: "@value"` first with raw, then `columns:`. */
static void s_cols(const s_lake_opts_t *o, ed_conf_kvmap_t *out, ed_conf_kv_t *raw_kv) {
    int n = o->columns.n + (o->raw ? 1 : 0);
    out->v = ed_calloc((size_t)n + 1, sizeof *out->v);
    out->n = 0;
    if (o->raw) {
        raw_kv->key = (char *)"value";
        raw_kv->value = (char *)"@value";
        out->v[out->n++] = *raw_kv;
    }
    for (int i = 0; i < o->columns.n; i++)
        out->v[out->n++] = o->columns.v[i];
}

static void s_tmpl_free(s_tmpl_t *t) {
    for (int i = 0; i < t->nseg; i++)
        free(t->seg[i].text);
    t->nseg = 0;
}

/* Parses template s against the columns; NULL, or why not (in buf). */
static const char *s_tmpl_parse(s_tmpl_t *t, const char *s, const ed_rec_col_t *cols, int ncols,
                                char *buf, size_t n) {
    memset(t, 0, sizeof *t);
    if (s[0] == '/' || strstr(s, "..") || strstr(s, "//") || (*s && s[strlen(s) - 1] == '/')) {
        snprintf(buf, n, "\"%s\" must be a relative path without '..', '//' or a '/' at either end",
                 s);
        return buf;
    }
    const char *p = s;
    while (*p) {
        if (t->nseg == S_MAX_SEGS) {
            snprintf(buf, n, "\"%s\" has more than %d parts", s, S_MAX_SEGS);
            goto bad;
        }
        if (*p != '{') {
            const char *e = strchr(p, '{');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            if (memchr(p, '}', l)) {
                snprintf(buf, n, "\"%s\" has a '}' without its '{'", s);
                goto bad;
            }
            t->seg[t->nseg].col = -1;
            t->seg[t->nseg++].text = strndup(p, l);
            p += l;
            continue;
        }
        const char *e = strchr(p, '}');
        if (!e) {
            snprintf(buf, n, "\"%s\" has a '{' without its '}'", s);
            goto bad;
        }
        const char *colon = memchr(p, ':', (size_t)(e - p));
        size_t nl = (size_t)((colon ? colon : e) - p - 1);
        int col = -1;
        for (int i = 0; i < ncols; i++)
            if (strlen(cols[i].name) == nl && !strncmp(cols[i].name, p + 1, nl))
                col = i;
        if (col < 0) {
            snprintf(buf, n, "{%.*s} in \"%s\" is not one of `columns`; expected a column name",
                     (int)nl, p + 1, s);
            goto bad;
        }
        if (colon && cols[col].type != ED_REC_TIME) {
            snprintf(buf, n, "{%.*s} in \"%s\" has a time format, and column '%s' is not a "
                             "timestamp",
                     (int)(e - p - 1), p + 1, s, cols[col].name);
            goto bad;
        }
        if (!colon && cols[col].type == ED_REC_TIME) {
            snprintf(buf, n, "{%s} in \"%s\" is a timestamp column; give its format, e.g. "
                             "{%s:%%Y-%%m-%%d}",
                     cols[col].name, s, cols[col].name);
            goto bad;
        }
        if (cols[col].type == ED_REC_JSON) {
            snprintf(buf, n, "{%s} in \"%s\" is a json column, which cannot name a partition",
                     cols[col].name, s);
            goto bad;
        }
        t->seg[t->nseg].col = col;
        t->seg[t->nseg++].text = colon ? strndup(colon + 1, (size_t)(e - colon - 1)) : NULL;
        p = e + 1;
    }
    return NULL;
bad:
    s_tmpl_free(t);
    return buf;
}

static int s_lake_validate(ed_conf_check_t *ck, void *opts) {
    s_lake_opts_t *o = opts;
    const char *w = ed_conf_check_where(ck, "columns");
    if (!o->columns.n && !o->raw)
        return ed_conf_check_err(ck, "columns",
                                 "%s has no columns; expected `columns: { name: \"PATH [TYPE]\", "
                                 "… }` beside the lake block, or `raw: true` (the whole record "
                                 "as a string column `value`)",
                                 w);
    if (o->format == S_FMT_JSONL && o->compression != ED_LAKE_Z_ZSTD &&
        ed_conf_check_ok(ck, "compression"))
        return ed_conf_check_err(ck, "compression",
                                 "%s: `format: jsonl` is written as zstd; expected "
                                 "`compression: zstd` (or leave it out)",
                                 ed_conf_check_where(ck, "compression"));
    ed_conf_kvmap_t cols;
    ed_conf_kv_t raw;
    s_cols(o, &cols, &raw);
    ed_sink_records_conf_t rc = {.sink = ed_conf_check_name(ck), .table = o->path, .columns = &cols};
    char why[768];
    const char *bad = ed_sink_records_check(&rc, why, sizeof why);
    ed_sink_records_t *rs = bad ? NULL : ed_sink_records_new(&rc, why, sizeof why);
    int rcode = 0;
    if (!rs) {
        rcode = ed_conf_check_err(ck, "columns", "invalid columns in %s: %s", w, why);
    } else if (o->partition_by) {
        int n;
        const ed_rec_col_t *c = ed_sink_records_cols(rs, &n);
        s_tmpl_t t;
        if (s_tmpl_parse(&t, o->partition_by, c, n, why, sizeof why))
            rcode = ed_conf_check_err(ck, "partition_by", "invalid partition_by in %s: %s",
                                      ed_conf_check_where(ck, "partition_by"), why);
        else
            s_tmpl_free(&t);
    }
    ed_sink_records_destroy(&rs);
    free(cols.v);
    return rcode;
}

static int s_lake_link_records(ed_conf_check_t *ck, void *opts) {
    (void)ck;
    (void)opts;
    return 0;
}

/* ------------------------------------------------------------ instance */

static void s_lake_destroy(void **ctx_p);

static int s_lake_init(void **ctx_p, const ed_sink_ctx_t *sc, char *errstr, size_t errstr_size) {
    const s_lake_opts_t *o = sc->sink->opts;
    if (sc->agg)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "sink '%s': a lake sink writes records (a source's `to:` or a "
                         "per-record alert), not an aggregation's changelog",
                         sc->sink->name);
    s_lake_t *l = ed_calloc(1, sizeof *l);
    l->name = sc->sink->name;
    l->o = o;
    l->lock_fd = -1;
    static ed_conf_kv_t raw; /* static strings only */
    s_cols(o, &l->cols, &raw);
    ed_sink_records_conf_t rc = {
        .conf = sc->conf, .sink = l->name, .table = o->path, .columns = &l->cols};
    l->recs = ed_sink_records_new(&rc, errstr, errstr_size);
    void *lp = l;
    if (!l->recs) {
        s_lake_destroy(&lp);
        return ED_EINVAL;
    }
    l->rcols = ed_sink_records_cols(l->recs, &l->ncols);
    l->keys = ed_calloc((size_t)l->ncols, sizeof *l->keys);
    l->keylen = ed_calloc((size_t)l->ncols, sizeof *l->keylen);
    for (int c = 0; c < l->ncols; c++) {
        ed_buf_t k = ED_BUF_INIT;
        ed_buf_puts(&k, c ? ",\"" : "{\"");
        ed_buf_puts(&k, l->rcols[c].name);
        ed_buf_puts(&k, "\":");
        l->keylen[c] = k.len;
        l->keys[c] = k.data;
    }
    char why[512];
    if (o->partition_by && s_tmpl_parse(&l->tmpl, o->partition_by, l->rcols, l->ncols, why,
                                        sizeof why)) {
        s_lake_destroy(&lp);
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "sink '%s': partition_by: %s", l->name,
                         why);
    }
    if (o->format == S_FMT_PARQUET) {
        l->ext = "parquet";
        l->pq = ed_lake_parquet_new(l->name, l->rcols, l->ncols, o->compression, errstr,
                                    errstr_size);
        if (!l->pq) {
            s_lake_destroy(&lp);
            return ED_EINVAL;
        }
    } else {
        l->ext = "jsonl.zst";
    }
    *ctx_p = l;
    return 0;
}

/* Makes the Parquet file tmp: the live file written beside the stage when
 * there is one (closed: its last row group and footer), else from the stage. */
static int s_convert(void *arg, const char *stage, const char *tmp, char *errstr, size_t n) {
    s_lake_t *l = arg;
    if (l->live && !strcmp(ed_lake_parquet_path(l->live), tmp)) {
        char err[1024];
        if (ed_lake_parquet_close(&l->live, err, sizeof err) == 0)
            return 0;
        ED_LOG_W(l->name, "lake %s: %s; making it again from its stage file", l->o->path, err);
    }
    return ed_lake_parquet_convert(l->pq, stage, tmp, errstr, n);
}

static ed_lake_convert_fn s_converter(const s_lake_t *l) { return l->pq ? s_convert : NULL; }

/* Publishes partition i's file and logs the outcome. A stage that cannot
 * be published (the Parquet file needs space the stage did not) is kept in
 * l->unpub and tried again at each flush that writes (s_retry_unpublished)
 * and at stop. */
static void s_publish(s_lake_t *l, s_part_t *p) {
    char err[1024] = "", name[4096], stage[4096];
    snprintf(name, sizeof name, "%s", ed_lake_file_name(p->file));
    snprintf(stage, sizeof stage, "%s", ed_lake_file_stage(p->file));
    l->live = p->pqf;
    p->pqf = NULL;
    int rc = ed_lake_file_publish(&p->file, s_converter(l), l, err, sizeof err);
    ed_lake_parquet_abort(&l->live); /* not used: an empty stage */
    if (rc != 0) {
        int full = strstr(err, strerror(ENOSPC)) != NULL; /* DuckDB's text has it too */
        ED_LOG_W(l->name, "lake %s: %s; %s%sthe records stay in the stage file, published at "
                          "a later flush once that works (or at the next start)",
                 l->o->path, err, full ? ed_file_remedy(ENOSPC) : "", full ? "; " : "");
        if (l->nunpub == l->capunpub) {
            l->capunpub = l->capunpub ? 2 * l->capunpub : 4;
            l->unpub = ed_realloc(l->unpub, (size_t)l->capunpub * sizeof *l->unpub);
        }
        l->unpub[l->nunpub++] = ed_strdup(stage);
    } else {
        ED_LOG_D(l->name, "lake %s: published %s", l->o->path, name);
    }
}

/* Tries again to publish the stages whose publication failed. */
static void s_retry_unpublished(s_lake_t *l) {
    int kept = 0;
    for (int i = 0; i < l->nunpub; i++) {
        char err[1024] = "";
        if (ed_lake_stage_publish(l->unpub[i], s_converter(l), l, err, sizeof err) != 0) {
            ED_LOG_D(l->name, "lake %s: still not published: %s", l->o->path, err);
            l->unpub[kept++] = l->unpub[i];
            continue;
        }
        ED_LOG_I(l->name, "lake %s: published the stage %s, which could not be published before",
                 l->o->path, l->unpub[i]);
        free(l->unpub[i]);
    }
    l->nunpub = kept;
}

static void s_lake_destroy(void **ctx_p) {
    if (!ctx_p || !*ctx_p)
        return;
    s_lake_t *l = *ctx_p;
    if (l->opened)
        s_retry_unpublished(l);
    for (int i = 0; i < l->nparts; i++) {
        if (l->parts[i].file)
            s_publish(l, &l->parts[i]);
        ed_lake_parquet_abort(&l->parts[i].pqf);
        free(l->parts[i].dir);
        free(l->parts[i].rows);
        ed_buf_free(&l->parts[i].lines);
    }
    free(l->parts);
    for (int i = 0; i < l->nunpub; i++)
        free(l->unpub[i]);
    free(l->unpub);
    for (int c = 0; l->keys && c < l->ncols; c++)
        free(l->keys[c]);
    free(l->keys);
    free(l->keylen);
    ed_buf_free(&l->key);
    s_tmpl_free(&l->tmpl);
    ed_sink_records_destroy(&l->recs);
    ed_lake_parquet_destroy(&l->pq);
    free(l->cols.v);
    if (l->lock_fd >= 0)
        close(l->lock_fd);
    free(l);
    *ctx_p = NULL;
}

/* ---------------------------------------------------------------- write */

/* Takes the lock and completes what a previous run left, once. */
static ed_write_result_t s_open(void *ctx, ed_sink_stats_t *stats, char *errstr,
                                size_t errstr_size) {
    (void)stats;
    s_lake_t *l = ctx;
    if (l->opened)
        return ED_WRITE_OK;
    char err[1024];
    if (l->lock_fd < 0 && ed_lake_lock(l->o->path, &l->lock_fd, err, sizeof err) != 0) {
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (lake %s): %s; retrying", l->name,
                  l->o->path, err);
        return ED_WRITE_RETRY;
    }
    int published = 0, removed = 0;
    int rc = ed_lake_recover(l->o->path, s_converter(l), l, &published, &removed, err, sizeof err);
    if (published || removed)
        ED_LOG_I(l->name, "lake %s: recovered %d stage file(s) of a previous run as visible "
                          "files, removed %d partial or empty one(s)",
                 l->o->path, published, removed);
    if (rc != 0) {
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (lake %s): recovery: %s; retrying",
                  l->name, l->o->path, err);
        return ED_WRITE_RETRY;
    }
    ED_LOG_I(l->name, "lake %s: writing %s files", l->o->path, l->ext);
    l->opened = 1;
    return ED_WRITE_OK;
}

static ed_write_result_t s_prepare(void *ctx, char *errstr, size_t errstr_size) {
    (void)ctx;
    (void)errstr;
    (void)errstr_size;
    return ED_WRITE_OK;
}

/* Appends a partition value: safe path characters as they are, others as
 * %XX (Hive's escaping), NULL as S_NULL_PART. */
static void s_part_text(ed_buf_t *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '+' || c == '@' || c >= 0x80)
            ed_buf_append(b, &s[i], 1);
        else
            ed_buf_printf(b, "%%%02X", c);
    }
    if (n == 1 && s[0] == '.')
        ed_buf_puts(b, "%2E");
}

/* The partition directory of a row into l->key. */
static void s_part_key(s_lake_t *l, const ed_rec_cell_t *row) {
    ed_buf_reset(&l->key);
    for (int i = 0; i < l->tmpl.nseg; i++) {
        int c = l->tmpl.seg[i].col;
        if (c < 0) {
            ed_buf_puts(&l->key, l->tmpl.seg[i].text);
            continue;
        }
        const ed_rec_cell_t *v = &row[c];
        if (v->null) {
            ed_buf_puts(&l->key, S_NULL_PART);
            continue;
        }
        char tmp[256];
        switch (l->rcols[c].type) {
        case ED_REC_TIME: { /* the text of the last second is kept */
            int64_t sec = v->i >= 0 ? v->i / 1000 : (v->i - 999) / 1000;
            if (!l->tmpl.seg[i].cok || l->tmpl.seg[i].csec != sec) {
                time_t t = (time_t)sec;
                struct tm tm;
                gmtime_r(&t, &tm);
                size_t n = strftime(tmp, sizeof tmp, l->tmpl.seg[i].text, &tm);
                size_t at = l->key.len;
                s_part_text(&l->key, tmp, n);
                size_t el = l->key.len - at;
                l->tmpl.seg[i].cok = el <= sizeof l->tmpl.seg[i].ctext; /* else not kept */
                if (l->tmpl.seg[i].cok) {
                    memcpy(l->tmpl.seg[i].ctext, l->key.data + at, el);
                    l->tmpl.seg[i].clen = el;
                    l->tmpl.seg[i].csec = sec;
                }
                break;
            }
            ed_buf_append(&l->key, l->tmpl.seg[i].ctext, l->tmpl.seg[i].clen);
            break;
        }
        case ED_REC_BIGINT:
            ed_buf_printf(&l->key, "%lld", (long long)v->i);
            break;
        case ED_REC_DOUBLE:
            snprintf(tmp, sizeof tmp, "%.17g", v->d);
            s_part_text(&l->key, tmp, strlen(tmp));
            break;
        case ED_REC_BOOL:
            ed_buf_puts(&l->key, v->i ? "true" : "false");
            break;
        default:
            s_part_text(&l->key, v->str, v->len);
            break;
        }
    }
    if (!l->key.data)
        ed_buf_puts(&l->key, "");
}

static s_part_t *s_part(s_lake_t *l, const char *dir) {
    for (int i = 0; i < l->nparts; i++)
        if (!strcmp(l->parts[i].dir, dir))
            return &l->parts[i];
    if (l->nparts == l->capparts) {
        l->capparts = l->capparts ? 2 * l->capparts : 8;
        l->parts = ed_realloc(l->parts, (size_t)l->capparts * sizeof *l->parts);
    }
    s_part_t *p = &l->parts[l->nparts++];
    memset(p, 0, sizeof *p);
    p->dir = ed_strdup(dir);
    return p;
}

/* Starts partition p's Parquet file beside its new stage; a failure leaves
 * it to be made from the stage at publication. */
static void s_live_open(s_lake_t *l, s_part_t *p) {
    char tmp[4096], err[1024];
    ed_lake_file_tmp(p->file, tmp, sizeof tmp);
    p->pqf = ed_lake_parquet_open(l->pq, tmp, err, sizeof err);
    if (!p->pqf)
        ED_LOG_W(l->name, "lake %s: %s; the file will be made from its stage at publication",
                 l->o->path, err);
}

/* Hands partition p's rows of this flush (staged) to its Parquet file. */
static void s_live_add(s_lake_t *l, s_part_t *p) {
    for (size_t k = 0; p->pqf && k < p->nrows; k++) {
        if (ed_lake_parquet_add(p->pqf, ed_sink_records_row(l->recs, p->rows[k])) == 0)
            continue;
        char err[1024] = "";
        ed_lake_parquet_close(&p->pqf, err, sizeof err);
        ED_LOG_W(l->name, "lake %s: %s; the file will be made from its stage at publication",
                 l->o->path, err[0] ? err : "the Parquet writer stopped");
    }
    p->nrows = 0;
}

/* Appends v in decimal (no printf: a line per row, most of them integers). */
static void s_i64(ed_buf_t *b, int64_t v) {
    char tmp[24], *e = tmp + sizeof tmp, *p = e;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    ed_buf_append(b, p, (size_t)(e - p));
}

/* Appends ms since the epoch as "yyyy-mm-ddThh:mm:ss.mmmZ" (quoted); the
 * text of the last second is kept (rows of a flush share most seconds). */
static void s_iso(s_lake_t *l, ed_buf_t *b, int64_t ms) {
    int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    if (!l->iso_ok || sec != l->iso_sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        l->isolen = (size_t)snprintf(l->iso, sizeof l->iso, "\"%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        l->iso_sec = sec;
        l->iso_ok = 1;
    }
    int m = (int)(ms - sec * 1000);
    char frac[5] = {(char)('0' + m / 100), (char)('0' + m / 10 % 10), (char)('0' + m % 10), 'Z',
                    '"'};
    ed_buf_append(b, l->iso, l->isolen < sizeof l->iso ? l->isolen : sizeof l->iso - 1);
    ed_buf_append(b, frac, sizeof frac);
}

/* Appends a row as one JSON line: {"column":value,…}, timestamps as
 * ISO-8601 UTC with milliseconds. */
static void s_line(s_lake_t *l, ed_buf_t *b, const ed_rec_cell_t *row) {
    for (int c = 0; c < l->ncols; c++) {
        const ed_rec_cell_t *v = &row[c];
        ed_buf_append(b, l->keys[c], l->keylen[c]); /* {"name": or ,"name": */
        if (v->null) {
            ed_buf_append(b, "null", 4);
            continue;
        }
        switch (l->rcols[c].type) {
        case ED_REC_BIGINT:
            s_i64(b, v->i);
            break;
        case ED_REC_DOUBLE:
            ed_buf_printf(b, "%.17g", v->d);
            break;
        case ED_REC_BOOL:
            ed_buf_puts(b, v->i ? "true" : "false");
            break;
        case ED_REC_TIME:
            s_iso(l, b, v->i);
            break;
        case ED_REC_JSON:
            ed_buf_append(b, v->str, v->len);
            break;
        default:
            ed_buf_json_str(b, v->str, v->len);
            break;
        }
    }
    ed_buf_append(b, "}\n", 2);
}

static ed_write_result_t s_txn(void *ctx, uint64_t *statements, char *errstr,
                               size_t errstr_size) {
    s_lake_t *l = ctx;
    size_t n = ed_sink_records_count(l->recs);
    s_part_t *last = NULL;
    for (size_t i = 0; i < n; i++) {
        const ed_rec_cell_t *row = ed_sink_records_row(l->recs, i);
        s_part_key(l, row);
        s_part_t *p = last && !strcmp(last->dir, l->key.data) ? last : s_part(l, l->key.data);
        if (!p->touched) {
            ed_buf_reset(&p->lines);
            p->nrows = 0;
        }
        p->touched = 1;
        s_line(l, &p->lines, row);
        if (l->pq) {
            if (p->nrows == p->caprows) {
                p->caprows = p->caprows ? 2 * p->caprows : 1024;
                p->rows = ed_realloc(p->rows, p->caprows * sizeof *p->rows);
            }
            p->rows[p->nrows++] = i;
        }
        last = p;
    }
    /* One frame per partition, each fsynced; a failure takes back the
     * frames of this flush, so that the retry writes it once. */
    char err[1024] = "";
    int failed = -1;
    for (int i = 0; i < l->nparts && failed < 0; i++) {
        s_part_t *p = &l->parts[i];
        if (!p->touched)
            continue;
        if (!p->file) {
            p->file = ed_lake_file_open(l->o->path, p->dir, l->ext, err, sizeof err);
            if (p->file && l->pq)
                s_live_open(l, p);
        }
        if (!p->file ||
            ed_lake_file_append(p->file, p->lines.data, p->lines.len, S_STAGE_LEVEL, err, sizeof err) != 0)
            failed = i;
        else
            ++*statements;
    }
    for (int i = 0; i < l->nparts; i++) {
        s_part_t *p = &l->parts[i];
        if (failed >= 0 && p->touched && i < failed && ed_lake_file_undo(p->file) != 0)
            ED_LOG_W(l->name, "lake %s: cannot take back a frame of %s", l->o->path,
                     ed_lake_file_name(p->file));
        p->touched = 0;
    }
    if (failed >= 0) {
        ed_seterr(errstr, errstr_size, ED_EIO, "sink '%s' (lake %s): %s; retrying", l->name,
                  l->o->path, err);
        return ED_WRITE_RETRY;
    }
    s_retry_unpublished(l);
    /* Parquet: the staged rows also go to the files being written. */
    for (int i = 0; l->pq && i < l->nparts; i++)
        s_live_add(l, &l->parts[i]);
    /* Roll: files big or old enough are published. */
    int64_t now = ed_wall_ms();
    for (int i = 0; i < l->nparts; i++) {
        s_part_t *p = &l->parts[i];
        if (p->file && (ed_lake_file_bytes(p->file) >= l->o->roll_size ||
                        now - ed_lake_file_opened_ms(p->file) >= l->o->roll_interval_ms))
            s_publish(l, p);
    }
    return ED_WRITE_OK;
}

static const ed_sink_rows_ops_t s_ops = {.connect = s_open, .prepare = s_prepare, .txn = s_txn};

static ed_write_result_t s_lake_write(void *ctx, const ed_sink_flush_t *flush,
                                      ed_sink_stats_t *stats, char *errstr, size_t errstr_size) {
    s_lake_t *l = ctx;
    return ed_sink_records_write(l->recs, flush, stats, &s_ops, l, errstr, errstr_size);
}

static void s_lake_describe(const void *opts, ed_buf_t *out) {
    const s_lake_opts_t *o = opts;
    ed_buf_printf(out, "path=%s format=%s", o->path ? o->path : "?",
                  o->format == S_FMT_JSONL ? "jsonl" : "parquet");
    if (o->partition_by)
        ed_buf_printf(out, " partition_by=%s", o->partition_by);
    ed_buf_printf(out, " columns=%d", o->columns.n + (o->raw ? 1 : 0));
}

const ed_sink_type_t ed_sink_lake = {
    .conf = {.name = "lake",
             .desc = "records as files of a data lake: Parquet or zstd JSON lines, partitioned "
                     "directories, published by atomic rename",
             .map = s_lake_map,
             .opts_size = sizeof(s_lake_opts_t),
             .caps = ED_CAP_RECORDS | ED_CAP_ALERTS | ED_CAP_REJECTS_OUT,
             .example = "lake: { path: lake/bronze/tweets, format: parquet }",
             .validate = s_lake_validate,
             .link_records = s_lake_link_records,
             .describe = s_lake_describe},
    .init = s_lake_init,
    .write = s_lake_write,
    .destroy = s_lake_destroy};
