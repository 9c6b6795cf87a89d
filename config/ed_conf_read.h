/*
 * ed_conf_read.h — the generic config reader used by the sections of
 * config/ (not a public API of eddy: plugins see only ed_conf_map.h).
 *
 * A load context (ed_conf_ctx_t) carries the file name and text, the config
 * being filled and the errors found so far. Every reader takes the YAML
 * node it reads, interpolates ${VAR} / ${VAR:-default} / $$ in scalars,
 * and on bad input records an error "FILE:LINE:COL: message" at the
 * offending node and returns ED_EINVAL. `key` and `where` name the setting
 * in messages ("'linger' in source 'docs'"), `desc` says what is expected.
 */
#ifndef ED_CONF_READ_H
#define ED_CONF_READ_H

#include <stddef.h>
#include <stdint.h>

#include "config/ed_config.h"
#include "config/ed_yaml.h"
#include "runtime/ed_buf.h"

typedef struct ed_conf_ctx ed_conf_ctx_t;

/* Flags of the value readers. */
enum {
    ED_CR_REQ = 1,      /* the key must be given */
    ED_CR_EMPTY_OK = 2, /* an empty string is a value */
};

/* Kinds of named things a reference can point to. */
typedef enum { ED_REF_SOURCE = 0, ED_REF_AGG, ED_REF_SINK } ed_conf_ref_t;

/* ---- the context ---- */

/* A new context for loading `name` (used in errors) from `len` bytes of
 * `text` (borrowed for the context's life) into `conf` (borrowed), with the
 * types and aggregate functions of `reg` (borrowed). */
ed_conf_ctx_t *ed_conf_ctx_new(const char *name, const char *text, size_t len, ed_config_t *conf,
                               const ed_conf_registry_t *reg);

/* Frees the context and its recorded errors; NULLs *cx_p. NULL-safe. */
void ed_conf_ctx_destroy(ed_conf_ctx_t **cx_p);

/* The config being filled (borrowed). */
ed_config_t *ed_conf_ctx_conf(ed_conf_ctx_t *cx);

/* The registry of types and aggregate functions (borrowed). */
const ed_conf_registry_t *ed_conf_ctx_registry(const ed_conf_ctx_t *cx);

/* Number of errors recorded so far. */
int ed_conf_nerrors(const ed_conf_ctx_t *cx);

/* Writes the recorded errors, in file order, one per line, into errstr
 * (truncated to errstr_size): at most ED_CONFIG_MAX_ERRORS, then one line
 * counting the others. Returns ED_EINVAL if there were errors, else 0. */
int ed_conf_report(const ed_conf_ctx_t *cx, char *errstr, size_t errstr_size);

/* ---- errors (each records "FILE:LINE:COL: message" and returns ED_EINVAL) ---- */

int ed_conf_err(ed_conf_ctx_t *cx, const ed_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ed_conf_err_at(ed_conf_ctx_t *cx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int ed_conf_err_pos(ed_conf_ctx_t *cx, const ed_conf_pos_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends "; did you mean 'x'?" to b when one of the n candidates (NULL
 * entries skipped) is within two edits of word. */
void ed_conf_suggest(ed_buf_t *b, const char *word, const char *const *cands, int n);

/* Appends "a, b, c" to b (b->data is never NULL afterwards). */
void ed_conf_join(ed_buf_t *b, const char *const *items, int n);

/* Where node n is, as a position in the config's file. */
ed_conf_pos_t ed_conf_pos(ed_conf_ctx_t *cx, const ed_node_t *n);

/* ---- structure ---- */

/* Checks that every key of mapping `map` is a plain string, appears once and
 * is one of `allowed` (NULL-terminated; NULL allows any name). */
int ed_conf_keys(ed_conf_ctx_t *cx, const ed_node_t *map, const char *where,
                 const char *const *allowed);

/* As ed_conf_keys, also accepting the keys of `hidden` (NULL-terminated, may
 * be NULL) without offering them in the message: planned keys, refused
 * later as "not implemented yet". */
int ed_conf_keys_hidden(ed_conf_ctx_t *cx, const ed_node_t *map, const char *where,
                        const char *const *allowed, const char *const *hidden);

/* Checks the keys of mapping m against the rows of `map` (all of them
 * known; RESERVED ones not offered in messages) plus `extra` (may be NULL). */
int ed_conf_map_keys_check(ed_conf_ctx_t *cx, const ed_node_t *m, const char *where,
                           const ed_conf_map_t *map, unsigned select, const char *const *extra);

/* Accepts a mapping or an empty value for `key` of `where`; else an error
 * showing `example`. */
int ed_conf_want_map(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     const char *example);

/* Reads a `name: body` section `key` of root into *sec (NULL if absent or
 * empty) and its number of entries; checks the names and that each body is
 * a mapping. `what` is the singular ("sink"). */
int ed_conf_section(ed_conf_ctx_t *cx, const ed_node_t *root, const char *key, const char *what,
                    const ed_node_t **sec, int *n);

/* ---- values ---- */

/* Reads scalar v (interpolated) into an owned string. */
int ed_conf_scalar(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                   const char *desc, int flags, char **out);

/* Reads string `key` of `map` into an owned string; `def` (may be NULL) is
 * copied when the key is absent or null. */
int ed_conf_get_str(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                    const char *desc, int flags, const char *def, char **out);

/* Readers of one value node v (not null). Each records an error at v and
 * returns ED_EINVAL if the value is not of its type. */
int ed_conf_val_int(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                    int64_t min, int64_t max, int64_t *out);
/* Milliseconds, at least min. */
int ed_conf_val_dur(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                    int64_t min, int64_t *out);
/* A whole number with an optional k/M/G suffix, at least min. */
int ed_conf_val_count(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                      uint64_t min, uint64_t *out);
/* Bytes: a number with an optional unit kB/MB/GB (10^n) or KiB/MiB/GiB (2^n). */
int ed_conf_val_size(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     uint64_t min, uint64_t *out);
/* A number ≥ 0 with an optional k/M/G suffix. */
int ed_conf_val_rate(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     double *out);
/* true/false (also yes/no, on/off) → 1/0. */
int ed_conf_val_bool(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     int *out);
/* One of the names of tab (NULL name ends it) → its value; a planned
 * choice is refused as "not implemented yet". */
int ed_conf_val_enum(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     const ed_conf_choice_t *tab, int *out);
/* One string or a non-empty list of strings (owned, into out). Items that
 * fail are left out and the call returns ED_EINVAL. */
int ed_conf_val_strlist(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                        const char *desc, ed_conf_strlist_t *out);
/* A mapping of names to single values (owned, into out, values
 * interpolated); `example` is shown when v is not a mapping. */
int ed_conf_val_kvmap(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                      const char *example, ed_conf_kvmap_t *out);

/* Lookups of `key` in `map` with a default for an absent or null value. */
int ed_conf_get_int(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                    int64_t def, int64_t min, int64_t max, int64_t *out);
int ed_conf_get_intv(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                     int def, int min, int max, int *out);
int ed_conf_get_dur(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                    int64_t def, int64_t min, int64_t *out);
int ed_conf_get_count(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                      uint64_t def, uint64_t min, uint64_t *out);

/* ---- names and references ---- */

/* Letters, digits, '_', '.' and '-'; not empty. */
int ed_conf_valid_name(const char *s);
/* First character (first = 1) or later one of a variable or metric name. */
int ed_conf_is_name_char(int ch, int first);

/* Resolves `name` (from node n, setting `key` of `where`) to the index of
 * the source, aggregation or sink of that name read so far. */
int ed_conf_resolve(ed_conf_ctx_t *cx, const ed_node_t *n, ed_conf_ref_t kind, const char *name,
                    const char *key, const char *where, int *idx);

/* `to: sink` or `to: [a, b]` → owned names and resolved indexes (idx may be
 * NULL to only check). With ED_CR_REQ at least one sink is needed. */
int ed_conf_get_sinks(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                      int flags, char ***names, int *n, int **idx);


/* ---- config maps (see ed_conf_map.h) ---- */

/* The check context handed to a plugin's validate and link (ed_conf_map.h). */
struct ed_conf_check {
    ed_conf_ctx_t *cx;
    const char *name;              /* the source or sink */
    const ed_conf_source_t *src;   /* or NULL */
    const ed_conf_sink_t *sink;    /* or NULL */
    const ed_conf_plugin_t *type;
    const ed_node_t *kn;           /* the entity's name */
    const ed_node_t *body;         /* its settings (OUTER and core keys) */
    const ed_node_t *block;        /* its type block (the map's other keys), may be a null node */
    char where_inner[340];         /* "kafka of source 'docs'" */
    char where_outer[300];         /* "source 'docs'" */
    const char *failed[32];        /* keys whose value could not be read */
    int nfailed;
};

/* Which rows a map reader takes. */
enum { ED_MAP_INNER = 1, ED_MAP_OUTER = 2, ED_MAP_ALL = 3 };

/* Sets the defaults of the selected rows of map in base. */
void ed_conf_map_defaults(ed_conf_ctx_t *cx, const ed_conf_map_t *map, void *base,
                          unsigned select);

/* Reads the selected rows of map (CUSTOM rows are left to the caller) from
 * mapping m into base, after ed_conf_map_defaults: RESERVED keys that are
 * given are refused, REQUIRED ones that are missing reported at
 * `missing_at` (m when NULL). Keys are not checked against the map (see
 * ed_conf_keys, ed_conf_map_keys). Reads every row even after an error;
 * records failed keys in ck when not NULL. Returns 0 or ED_EINVAL. */
int ed_conf_map_read(ed_conf_ctx_t *cx, const ed_conf_map_t *map, const ed_node_t *m,
                     const ed_node_t *missing_at, void *base, const char *where, unsigned select,
                     ed_conf_check_t *ck);

/* Appends the keys of the selected rows of map to names[*n…cap). */
void ed_conf_map_keys(const ed_conf_map_t *map, unsigned select, const char **names, int *n,
                      int cap);

#endif
