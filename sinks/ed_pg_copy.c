/*
 * ed_pg_copy.c — large flushes of the postgres sink through COPY
 * (sinks/ed_pg.h): the rows go to the server as one COPY … FROM STDIN in
 * text format into a temporary stage table, then one UPDATE … FROM the
 * stage merges the rows whose key the table has and one INSERT … SELECT …
 * WHERE NOT EXISTS adds the others, in the flush's transaction. A plain
 * insert (records, `mode: insert`) COPYs straight into the table. Why: the
 * server's ON CONFLICT is a speculative insertion per row, about twice the
 * work of a plain insert of a new key; COPY streams the whole flush with no
 * statement per 1000 rows (numbers in docs/sinks-sql.md).
 *
 * Every value was checked before (keys: UTF-8, no NUL, length; records:
 * ed_sink_records_build), so a row the server would refuse does not reach
 * COPY: it is a reject of the build, and the rest of the flush is written.
 */
#include "sinks/ed_pg.h"

#include <stdio.h>
#include <string.h>

/* COPY data is sent in pieces of about this many bytes. */
#define S_COPY_PIECE (256 * 1024)

/* The stage's name, in the session's temporary schema, which the server
 * searches first for an unqualified name: a sink writing a table of that
 * name would otherwise write into its own stage. */
#define S_STAGE "pg_temp.eddy_stage"
#define S_STAGE_ALT "pg_temp.eddy_stage_"

static const char *s_stage(const ed_pg_t *p) {
    const char *dot = strrchr(p->table, '.');
    return strcmp(dot ? dot + 1 : p->table, "eddy_stage") ? S_STAGE : S_STAGE_ALT;
}

static void s_cols(ed_pg_t *p, ed_buf_t *b) {
    for (int j = 0; j < p->ncols; j++) {
        if (j)
            ed_buf_puts(b, ", ");
        ed_pg_col(p, b, j);
    }
}

/* Index in the columns of key column k (< npk). */
static int s_key(const ed_pg_t *p, int k) { return p->recs ? p->rpk[k] : k; }

/* Appends "a.k1 = b.k1 AND a.k2 = b.k2 …" over the key columns. */
static void s_key_eq(ed_pg_t *p, ed_buf_t *b, const char *a, const char *bb) {
    for (int k = 0; k < p->npk; k++) {
        ed_buf_printf(b, "%s%s.", k ? " AND " : "", a);
        ed_pg_col(p, b, s_key(p, k));
        ed_buf_printf(b, " = %s.", bb);
        ed_pg_col(p, b, s_key(p, k));
    }
}

ed_write_result_t ed_pg_copy_prepare(ed_pg_t *p, char *errstr, size_t errstr_size) {
    if (p->staged)
        return ED_WRITE_OK;
    ed_buf_reset(&p->copy);
    ed_buf_reset(&p->update);
    ed_buf_reset(&p->insert);
    ed_buf_puts(&p->copy, "COPY ");
    if (p->recs && !p->upsert) {
        ed_pg_table(p, &p->copy);
    } else {
        ed_buf_t ddl = ED_BUF_INIT;
        /* ON COMMIT DELETE ROWS: every flush starts from an empty stage,
         * and a rolled-back flush leaves nothing in it either. */
        ed_buf_printf(&ddl, "CREATE TEMPORARY TABLE IF NOT EXISTS %s (", s_stage(p));
        for (int j = 0; j < p->ncols; j++) {
            if (j)
                ed_buf_puts(&ddl, ", ");
            ed_pg_col(p, &ddl, j);
            ed_buf_printf(&ddl, " %s", ed_pg_elem_type(p, j));
        }
        ed_buf_puts(&ddl, ") ON COMMIT DELETE ROWS");
        ed_write_result_t r =
            ed_pg_run(p, PQexec(p->conn, ddl.data), "CREATE TEMPORARY TABLE", errstr, errstr_size);
        ed_buf_free(&ddl);
        if (r != ED_WRITE_OK)
            return r;
        ed_buf_puts(&p->copy, s_stage(p));
        /* The rows whose key the table has: the upsert's own SET list, with
         * the stage standing in for EXCLUDED. */
        if (p->set_at) {
            ed_buf_puts(&p->update, "UPDATE ");
            ed_pg_table(p, &p->update);
            ed_buf_puts(&p->update, " AS t SET ");
            ed_buf_append(&p->update, p->tail.data + p->set_at, p->tail.len - p->set_at);
            ed_buf_printf(&p->update, " FROM %s AS excluded WHERE ", s_stage(p));
            s_key_eq(p, &p->update, "t", "excluded");
        }
        /* Then the others, as a plain INSERT: about twice as fast as ON
         * CONFLICT's speculative insertion (docs/sinks-sql.md). */
        ed_buf_append(&p->insert, p->head.data, p->head.len);
        ed_buf_puts(&p->insert, "SELECT ");
        s_cols(p, &p->insert);
        ed_buf_printf(&p->insert, " FROM %s AS s WHERE NOT EXISTS (SELECT 1 FROM ", s_stage(p));
        ed_pg_table(p, &p->insert);
        ed_buf_puts(&p->insert, " AS o WHERE ");
        s_key_eq(p, &p->insert, "o", "s");
        ed_buf_puts(&p->insert, ")");
    }
    ed_buf_puts(&p->copy, " (");
    s_cols(p, &p->copy);
    ed_buf_puts(&p->copy, ") FROM STDIN");
    p->staged = 1;
    return ED_WRITE_OK;
}

/* Appends len bytes of a value in COPY's text format: backslash, tab,
 * newline and carriage return escaped. */
static void s_escaped(ed_buf_t *b, const uint8_t *s, size_t len) {
    size_t st = 0;
    for (size_t k = 0; k < len; k++) {
        const char *esc = NULL;
        switch (s[k]) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        default: continue;
        }
        ed_buf_append(b, s + st, k - st);
        ed_buf_append(b, esc, 2);
        st = k + 1;
    }
    ed_buf_append(b, s + st, len - st);
}

/* Appends row i as one line of COPY text. */
static void s_row(ed_pg_t *p, size_t i) {
    ed_buf_t *b = &p->pbuf;
    for (int j = 0; j < p->ncols; j++) {
        char num[64];
        const uint8_t *part;
        size_t len = 0;
        int how = ed_pg_cell(p, i, j, num, sizeof num, &part, &len);
        if (j)
            ed_buf_append(b, "\t", 1);
        if (how == ED_PG_BYTES)
            s_escaped(b, part, len);
        else if (how == ED_PG_NULL)
            ed_buf_append(b, "\\N", 2);
        else
            ed_buf_append(b, num, len); /* numbers, booleans, times: nothing to escape */
    }
    ed_buf_append(b, "\n", 1);
}

/* Streams the rows after a COPY started; returns the COPY's result (owned;
 * NULL if libpq had none), the connection out of the COPY state. */
static PGresult *s_stream(ed_pg_t *p, size_t total) {
    const char *fail = NULL;
    ed_buf_reset(&p->pbuf);
    for (size_t i = 0; i < total && !fail; i++) {
        s_row(p, i);
        if (p->pbuf.len >= S_COPY_PIECE || i + 1 == total) {
            if (PQputCopyData(p->conn, p->pbuf.data, (int)p->pbuf.len) != 1)
                fail = "eddy could not send the COPY data"; /* the result says why */
            ed_buf_reset(&p->pbuf);
        }
    }
    PQputCopyEnd(p->conn, fail);
    /* The COPY's result, then NULL; more than one result only after an
     * error, and only the first one says why. */
    PGresult *res = NULL, *next;
    for (int n = 0; n < 8 && (next = PQgetResult(p->conn)); n++) {
        if (!res)
            res = next;
        else
            PQclear(next);
    }
    return res;
}

ed_write_result_t ed_pg_copy_rows(ed_pg_t *p, size_t total, uint64_t *statements, char *errstr,
                                  size_t errstr_size) {
    PGresult *res = PQexec(p->conn, p->copy.data);
    if (res && PQresultStatus(res) == PGRES_COPY_IN) {
        PQclear(res);
        res = s_stream(p, total);
    }
    ed_write_result_t r = ed_pg_run(p, res, "COPY", errstr, errstr_size);
    if (r == ED_WRITE_OK)
        (*statements)++;
    if (r == ED_WRITE_OK && p->update.len &&
        (r = ed_pg_run(p, PQexec(p->conn, p->update.data), "UPDATE of the stage's keys", errstr,
                       errstr_size)) == ED_WRITE_OK)
        (*statements)++;
    /* A key another writer inserted since the UPDATE is a unique violation
     * here: RETRY (ed_pg_run), and the retry's UPDATE finds it. */
    if (r == ED_WRITE_OK && p->insert.len &&
        (r = ed_pg_run(p, PQexec(p->conn, p->insert.data), ED_PG_NEW_KEYS, errstr,
                       errstr_size)) == ED_WRITE_OK)
        (*statements)++;
    return r;
}
