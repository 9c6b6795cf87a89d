/*
 * ed_sink_eo.h — the statements of `eddy_checkpoints`, the table where a
 * SQL sink keeps, in the same transaction as each flush, the flush's
 * checkpoint id and the input positions it covers (runtime.delivery:
 * exactly_once; actors/ed_eo.h, docs/sinks-sql.md). One row per
 * (pipeline, sink, target): the pipeline's name, the sink's name and the
 * table it writes. Parameters, in order: pipeline, sink, target, then for
 * the upsert checkpoint and positions.
 */
#ifndef ED_SINK_EO_H
#define ED_SINK_EO_H

/* PostgreSQL ($1..$5). */
#define ED_EO_PG_DDL                                                                        \
    "CREATE TABLE IF NOT EXISTS eddy_checkpoints (pipeline TEXT NOT NULL, sink TEXT NOT "   \
    "NULL, target TEXT NOT NULL, checkpoint BIGINT NOT NULL, positions TEXT NOT NULL, "     \
    "updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, sink, target))"
#define ED_EO_PG_SELECT                                                                     \
    "SELECT checkpoint, positions FROM eddy_checkpoints WHERE pipeline = $1 AND sink = $2 " \
    "AND target = $3"
#define ED_EO_PG_UPSERT                                                                     \
    "INSERT INTO eddy_checkpoints (pipeline, sink, target, checkpoint, positions) VALUES "  \
    "($1, $2, $3, $4::bigint, $5) ON CONFLICT (pipeline, sink, target) DO UPDATE SET "      \
    "checkpoint = EXCLUDED.checkpoint, positions = EXCLUDED.positions, updated_at = now()"

/* MariaDB (statements built by ed_eo_my_sql). */
#define ED_EO_MY_DDL                                                                        \
    "CREATE TABLE IF NOT EXISTS eddy_checkpoints (pipeline VARCHAR(190) NOT NULL, sink "    \
    "VARCHAR(190) NOT NULL, target VARCHAR(190) NOT NULL, checkpoint BIGINT NOT NULL, "     \
    "positions LONGTEXT NOT NULL, updated_at TIMESTAMP(3) NOT NULL DEFAULT "                \
    "CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3), PRIMARY KEY (pipeline, sink, "    \
    "target)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
/* SQLite (?1..?5). */
#define ED_EO_SQ_DDL                                                                        \
    "CREATE TABLE IF NOT EXISTS eddy_checkpoints (pipeline TEXT NOT NULL, sink TEXT NOT "   \
    "NULL, target TEXT NOT NULL, checkpoint INTEGER NOT NULL, positions TEXT NOT NULL, "    \
    "updated_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER) * 1000), "  \
    "PRIMARY KEY (pipeline, sink, target))"
#define ED_EO_SQ_SELECT                                                                     \
    "SELECT checkpoint, positions FROM eddy_checkpoints WHERE pipeline = ?1 AND sink = ?2 " \
    "AND target = ?3"
#define ED_EO_SQ_UPSERT                                                                     \
    "INSERT INTO eddy_checkpoints (pipeline, sink, target, checkpoint, positions) VALUES "  \
    "(?1, ?2, ?3, ?4, ?5) ON CONFLICT (pipeline, sink, target) DO UPDATE SET checkpoint = " \
    "excluded.checkpoint, positions = excluded.positions, updated_at = "                    \
    "CAST(strftime('%s','now') AS INTEGER) * 1000"

#include <stdint.h>

#include "runtime/ed_buf.h"

struct st_mysql;

/* Appends to b the MariaDB statement on eddy_checkpoints for (pipeline,
 * sink, target), with the strings escaped for `my`'s connection: with pos
 * NULL the SELECT of checkpoint and positions (FOR UPDATE when for_update),
 * else the upsert of (id, pos). `my` is a MYSQL * (mysql.h). */
void ed_eo_my_sql(ed_buf_t *b, struct st_mysql *my, const char *pipeline, const char *sink,
                  const char *target, uint64_t id, const char *pos, int for_update);

#endif
