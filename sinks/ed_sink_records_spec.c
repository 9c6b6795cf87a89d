/*
 * ed_sink_records_spec.c — the column specs of `columns:` ("PATH [TYPE]
 * [not null]") and the table layout they give, for ed_sink_records.c. See
 * ed_sink_records.h for the syntax and ed_sink_records_spec.h.
 */
#define _GNU_SOURCE
#include "sinks/ed_sink_records_spec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- specs */

static const char *const s_type_names = "text, varchar(N), bigint, double precision, boolean, "
                                        "timestamptz or jsonb (or the Parquet names string, "
                                        "int64, double, bool, timestamp)";

/* The metadata a record carries beside its fields, and their types. */
static const struct {
    const char *name;
    int meta;
    ed_rec_type_t type;
} s_meta[] = {
    {"@topic", ED_REC_META_TOPIC, ED_REC_TEXT},       {"@partition", ED_REC_META_PARTITION, ED_REC_BIGINT},
    {"@offset", ED_REC_META_OFFSET, ED_REC_BIGINT},   {"@timestamp", ED_REC_META_TIMESTAMP, ED_REC_TIME},
    {"@key", ED_REC_META_KEY, ED_REC_TEXT},           {"@value", ED_REC_META_VALUE, ED_REC_TEXT},
};

/* Parses "PATH [TYPE] [not null]" into c (path owned). NULL, or why not. */
static const char *s_parse_spec(const char *spec, ed_rec_col_t *c, char *buf, size_t n) {
    char words[8][64];
    int nw = 0;
    const char *p = spec;
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *st = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        if (nw == 8 || (size_t)(p - st) >= sizeof words[0]) {
            snprintf(buf, n, "\"%.120s\" is not PATH [TYPE] [not null]", spec);
            return buf;
        }
        snprintf(words[nw++], sizeof words[0], "%.*s", (int)(p - st), st);
    }
    if (!nw) {
        snprintf(buf, n, "it is empty; expected \"PATH [TYPE] [not null]\"");
        return buf;
    }
    const char *path = words[0];
    size_t pl = strlen(path);
    c->meta = 0;
    if (path[0] == '@') {
        for (size_t i = 0; i < sizeof s_meta / sizeof s_meta[0]; i++)
            if (!strcmp(path, s_meta[i].name))
                c->meta = s_meta[i].meta;
        if (!c->meta) {
            snprintf(buf, n,
                     "unknown metadata '%s'; expected @topic, @partition, @offset, @timestamp, "
                     "@key or @value (or a field name without '@')",
                     path);
            return buf;
        }
    } else if (path[0] == '.' || path[pl - 1] == '.' || strstr(path, "..")) {
        snprintf(buf, n, "field path '%s' is not a field name or dotted path (a.b.c)", path);
        return buf;
    }
    int w = 1;
    for (int i = 1; i < nw; i++)
        for (char *q = words[i]; *q; q++)
            *q = (char)tolower((unsigned char)*q);
    c->type = ED_REC_TEXT;
    c->width = 0;
    c->not_null = 0;
    int typed = w < nw && strcmp(words[w], "not");
    if (typed) {
        const char *t = words[w];
        long width = 0;
        char *end;
        if (!strcmp(t, "text") || !strcmp(t, "string"))
            c->type = ED_REC_TEXT;
        else if (!strncmp(t, "varchar(", 8) && (width = strtol(t + 8, &end, 10)) > 0 &&
                 !strcmp(end, ")") && width <= 65535)
            c->type = ED_REC_TEXT, c->width = (int)width;
        else if (!strcmp(t, "bigint") || !strcmp(t, "int64"))
            c->type = ED_REC_BIGINT;
        else if (!strcmp(t, "double") && w + 1 < nw && !strcmp(words[w + 1], "precision"))
            c->type = ED_REC_DOUBLE, w++;
        else if (!strcmp(t, "double"))
            c->type = ED_REC_DOUBLE;
        else if (!strcmp(t, "boolean") || !strcmp(t, "bool"))
            c->type = ED_REC_BOOL;
        else if (!strcmp(t, "timestamptz") || !strcmp(t, "timestamp"))
            c->type = ED_REC_TIME;
        else if (!strcmp(t, "jsonb") || !strcmp(t, "json"))
            c->type = ED_REC_JSON;
        else {
            snprintf(buf, n, "unknown type '%.60s' in \"%.120s\"; expected %s, optionally followed by "
                             "`not null`",
                     t, spec, s_type_names);
            return buf;
        }
        w++;
    }
    if (w + 1 < nw && !strcmp(words[w], "not") && !strcmp(words[w + 1], "null")) {
        c->not_null = 1;
        w += 2;
    }
    if (w < nw) {
        snprintf(buf, n, "unexpected '%.60s' in \"%.120s\"; expected \"PATH [TYPE] [not null]\" with "
                         "TYPE one of %s",
                 words[w], spec, s_type_names);
        return buf;
    }
    for (size_t i = 0; c->meta && i < sizeof s_meta / sizeof s_meta[0]; i++) {
        if (s_meta[i].meta != c->meta)
            continue;
        if (typed && (c->type != s_meta[i].type || c->width)) {
            snprintf(buf, n, "metadata %s has its own type (%s); write it without a type", path,
                     s_meta[i].type == ED_REC_TEXT ? "text" : s_meta[i].type == ED_REC_BIGINT ? "bigint" : "timestamptz");
            return buf;
        }
        c->type = s_meta[i].type;
    }
    c->path = ed_strdup(path);
    return NULL;
}

void ed_sink_records_cols_free(ed_rec_col_t *cols, int n) {
    for (int i = 0; cols && i < n; i++)
        free(cols[i].path);
    free(cols);
}

/* Lays out the columns and the key of conf into *cols_p / *pk_p (owned).
 * NULL, or why not (in buf). */
const char *ed_sink_records_layout(const ed_sink_records_conf_t *conf, ed_rec_col_t **cols_p, int **pk_p,
                            char *buf, size_t n) {
    const ed_conf_kvmap_t *m = conf->columns;
    int nc = m ? m->n : 0;
    *cols_p = NULL;
    *pk_p = NULL;
    if (!nc) {
        snprintf(buf, n, "`columns` maps no column; expected at least one `name: \"PATH [TYPE]\"`");
        return buf;
    }
    ed_rec_col_t *cols = ed_calloc((size_t)nc, sizeof *cols);
    int npk = conf->primary_key ? conf->primary_key->n : 0;
    int *pk = ed_calloc((size_t)npk + 1, sizeof *pk);
    char why[1024];
    const char *err = NULL;
    for (int i = 0; i < nc && !err; i++) {
        const char *name = m->v[i].key;
        cols[i].name = name;
        if (!ed_conf_valid_ident(name, strlen(name))) {
            snprintf(buf, n, "column name '%s' is not a SQL identifier (letters, digits, '_'; at "
                             "most %d characters)",
                     name, ED_CONF_MAX_IDENT);
            err = buf;
            break;
        }
        for (int j = 0; j < i && !err; j++)
            if (!strcasecmp(cols[j].name, name)) {
                snprintf(buf, n, "column '%s' is given twice (names compare ignoring case)", name);
                err = buf;
            }
        if (!err && s_parse_spec(m->v[i].value ? m->v[i].value : "", &cols[i], why, sizeof why)) {
            snprintf(buf, n, "column '%s': %.400s", name, why);
            err = buf;
        }
    }
    for (int k = 0; k < npk && !err; k++) {
        const char *want = conf->primary_key->v[k];
        int found = -1;
        for (int i = 0; i < nc; i++)
            if (!strcmp(cols[i].name, want))
                found = i;
        if (found < 0) {
            snprintf(buf, n, "primary key column '%s' is not one of `columns`", want);
            err = buf;
        } else if (cols[found].pk) {
            snprintf(buf, n, "primary key column '%s' is given twice", want);
            err = buf;
        } else if (cols[found].type == ED_REC_JSON) {
            snprintf(buf, n, "primary key column '%s' is jsonb, which cannot be a key; use text",
                     want);
            err = buf;
        } else {
            cols[found].pk = k + 1;
            cols[found].not_null = 1;
            if (cols[found].type == ED_REC_TEXT && !cols[found].width)
                cols[found].width = conf->pk_text_width;
            pk[k] = found;
        }
    }
    if (!err && conf->upsert && !npk) {
        snprintf(buf, n, "`mode: upsert` needs `primary_key` (the columns that identify a row); "
                         "or use `mode: insert`");
        err = buf;
    }
    if (err) {
        ed_sink_records_cols_free(cols, nc);
        free(pk);
        return err;
    }
    *cols_p = cols;
    *pk_p = pk;
    return NULL;
}

const char *ed_sink_records_check(const ed_sink_records_conf_t *conf, char *buf, size_t n) {
    ed_rec_col_t *cols;
    int *pk;
    const char *err = ed_sink_records_layout(conf, &cols, &pk, buf, n);
    if (!err) {
        ed_sink_records_cols_free(cols, conf->columns->n);
        free(pk);
    }
    return err;
}

