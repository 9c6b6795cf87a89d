/*
 * ed_sqlite_db.c — a sqlite sink's database as the sink and the HTTP
 * readers open it. See ed_sqlite_db.h.
 */
#include "sinks/ed_sqlite_db.h"

#include <stdio.h>
#include <string.h>

int ed_sqlite_is_sink(const ed_conf_sink_t *sink) {
    return sink && sink->type && !strcmp(sink->type->name, ED_SQLITE_TYPE);
}

const char *ed_sqlite_uri(const char *sink_name, const char *path, char *buf, size_t n,
                          int *memdb) {
    int mem = path && !strcmp(path, ":memory:");
    if (memdb)
        *memdb = mem;
    if (!n)
        return buf;
    if (mem) {
        snprintf(buf, n, "file:/eddy-mem/%s?vfs=memdb", sink_name);
        return buf;
    }
    /* RFC 3986 escapes for what a URI filename may not hold as is
     * (https://sqlite.org/uri.html). */
    size_t l = (size_t)snprintf(buf, n, "file:");
    for (const char *s = path ? path : ""; *s && l + 4 < n; s++) {
        if (*s == '%' || *s == '?' || *s == '#')
            l += (size_t)snprintf(buf + l, n - l, "%%%02X", (unsigned char)*s);
        else
            buf[l++] = *s;
    }
    buf[l < n ? l : n - 1] = 0;
    return buf;
}

/* GREATEST (sign 1) / LEAST (sign -1) of the non-NULL arguments, compared
 * as numbers when both are (an integer and a real compare by value), else
 * in SQLite's type order. */
static void s_pick(sqlite3_context *ctx, int argc, sqlite3_value **argv, int sign) {
    sqlite3_value *best = NULL;
    for (int i = 0; i < argc; i++) {
        int t = sqlite3_value_type(argv[i]);
        if (t == SQLITE_NULL)
            continue;
        if (!best) {
            best = argv[i];
            continue;
        }
        int bt = sqlite3_value_type(best), cmp;
        int num = (t == SQLITE_INTEGER || t == SQLITE_FLOAT) &&
                  (bt == SQLITE_INTEGER || bt == SQLITE_FLOAT);
        if (num && t == SQLITE_INTEGER && bt == SQLITE_INTEGER) {
            sqlite3_int64 a = sqlite3_value_int64(argv[i]), b = sqlite3_value_int64(best);
            cmp = (a > b) - (a < b);
        } else if (num) {
            double a = sqlite3_value_double(argv[i]), b = sqlite3_value_double(best);
            cmp = (a > b) - (a < b);
        } else if (t != bt) {
            /* SQLite's order of storage classes: numbers < text < blob. */
            int ra = t == SQLITE_BLOB ? 3 : t == SQLITE_TEXT ? 2 : 1;
            int rb = bt == SQLITE_BLOB ? 3 : bt == SQLITE_TEXT ? 2 : 1;
            cmp = (ra > rb) - (ra < rb);
        } else {
            int la = sqlite3_value_bytes(argv[i]), lb = sqlite3_value_bytes(best);
            const void *pa = t == SQLITE_TEXT ? (const void *)sqlite3_value_text(argv[i])
                                              : sqlite3_value_blob(argv[i]);
            const void *pb = t == SQLITE_TEXT ? (const void *)sqlite3_value_text(best)
                                              : sqlite3_value_blob(best);
            int m = memcmp(pa, pb, (size_t)(la < lb ? la : lb));
            cmp = m ? m : (la > lb) - (la < lb);
        }
        if (cmp * sign > 0)
            best = argv[i];
    }
    if (best)
        sqlite3_result_value(ctx, best);
    else
        sqlite3_result_null(ctx);
}

static void s_greatest(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    s_pick(ctx, argc, argv, 1);
}

static void s_least(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    s_pick(ctx, argc, argv, -1);
}

int ed_sqlite_functions(sqlite3 *db) {
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    int rc = sqlite3_create_function_v2(db, "greatest", -1, flags, NULL, s_greatest, NULL, NULL,
                                        NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(db, "least", -1, flags, NULL, s_least, NULL, NULL, NULL);
    return rc;
}

void ed_sqlite_ident(ed_buf_t *out, const char *name, const char *suffix) {
    ed_buf_append(out, "\"", 1);
    for (int k = 0; k < 2; k++)
        for (const char *c = k ? (suffix ? suffix : "") : name; *c; c++) {
            if (*c == '"')
                ed_buf_append(out, "\"", 1);
            ed_buf_append(out, c, 1);
        }
    ed_buf_append(out, "\"", 1);
}
