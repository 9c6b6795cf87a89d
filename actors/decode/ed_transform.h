/*
 * ed_transform.h — the `transforms:` of a source: an ordered list of steps
 * applied to every JSON record before aggregations, per-record alerts and
 * pass-through sinks see it (docs/transforms.md).
 *
 *   where: 'status == "paid"'           keep the records that match (ed_where.h)
 *   set:   { price_eur: "price * 0.908" } set fields to expressions (ed_expr.h)
 *   drop:  [internal, debug.trace]       remove fields
 *   lua:   { file: score.lua, function: score }   (see ed_transform_lua.h)
 *
 * The steps (ed_transforms_t) are compiled by the config loader and are
 * immutable afterwards; each thread that applies them has its own runner
 * (ed_xrun_t: the JSON parser, field readers, scratch text). A record that
 * `where` rejects is filtered; one that a step cannot transform (a `set`
 * over a missing field, a failed Lua call) is rejected with a sentence
 * saying which step and why. The expressions of one `set` step all read
 * the record as it was before the step.
 */
#ifndef ED_TRANSFORM_H
#define ED_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "actors/decode/ed_expr.h"
#include "actors/decode/ed_where.h"

typedef enum { ED_XF_WHERE = 1, ED_XF_SET, ED_XF_DROP, ED_XF_LUA } ed_xf_kind_t;

/* Options of a `lua:` step (its config map: config/ed_conf_transforms.c). */
typedef struct {
    char *file;             /* the script, as written (relative to the config file's directory) */
    char *function;         /* the global function called per record */
    uint64_t max_instructions; /* Lua VM instructions per record before it is rejected */
    uint64_t max_memory;    /* bytes a runner's Lua state may hold */
    char *path;             /* the file as opened (owned) */
    char *code;             /* its text, read and syntax-checked at load (owned) */
    size_t code_len;
} ed_xf_lua_t;

/* One step. */
typedef struct {
    ed_xf_kind_t kind;
    int line, col;        /* of the step in the config file */
    ed_where_t *where;    /* WHERE */
    char **paths;         /* SET: target fields; DROP: fields (owned, dotted paths) */
    ed_expr_t **exprs;    /* SET: [n] their expressions */
    int n;
    ed_xf_lua_t lua;      /* LUA */
} ed_xf_step_t;

typedef struct ed_transforms {
    ed_xf_step_t *steps;
    int n;
    char *file; /* the config file, for messages (owned) */
} ed_transforms_t;

/* "where", "set", "drop" or "lua" (static). */
const char *ed_transform_kind_name(ed_xf_kind_t kind);

/* Frees the steps and NULLs *t_p. NULL-safe. */
void ed_transforms_destroy(ed_transforms_t **t_p);

/* What ed_xrun_apply made of a record. */
typedef enum {
    ED_XR_PASS = 0,     /* *out holds the record to use */
    ED_XR_FILTERED = 1, /* a `where` did not match, or Lua returned nil: not an error */
    ED_XR_REJECT = 2,   /* a step failed: why says which and why */
} ed_xr_t;

typedef struct ed_xrun ed_xrun_t;

/* A runner of t (borrowed: must outlive it) for one thread; creates the
 * Lua states of `lua` steps. Returns 0 and an owned *r_p, or ED_EINVAL
 * with errstr naming the step (a script whose top level fails, a function
 * that does not exist). */
int ed_xrun_new(const ed_transforms_t *t, ed_xrun_t **r_p, char *errstr, size_t errstr_size);

/* Frees the runner and NULLs *r_p. NULL-safe. */
void ed_xrun_destroy(ed_xrun_t **r_p);

/* Applies every step to the JSON record d[0..len). PASS: *out and *out_len are
 * the transformed record (d itself when no step changed it; else the
 * runner's buffer, valid until the next call). FILTERED: the record is
 * dropped. REJECT: why (why_size bytes) says "transform N (set, line L):
 * field 'price' is missing", or the JSON is invalid. */
ed_xr_t ed_xrun_apply(ed_xrun_t *r, const char *d, size_t len, const char **out, size_t *out_len,
                      char *why, size_t why_size);

#endif
