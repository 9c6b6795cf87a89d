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

/* PostgreSQL truncates identifiers longer than this; MariaDB allows 64. */
#define ED_CONF_MAX_IDENT 63

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
 * `text` (borrowed for the context's life) into `conf` (borrowed). */
ed_conf_ctx_t *ed_conf_ctx_new(const char *name, const char *text, size_t len, ed_config_t *conf);

/* Frees the context and its recorded errors; NULLs *cx_p. NULL-safe. */
void ed_conf_ctx_destroy(ed_conf_ctx_t **cx_p);

/* The config being filled (borrowed). */
ed_config_t *ed_conf_ctx_conf(ed_conf_ctx_t *cx);

/* Number of errors recorded so far. */
int ed_conf_nerrors(const ed_conf_ctx_t *cx);

/* Writes the recorded errors, in file order, one per line, into errstr
 * (truncated to errstr_size). Returns ED_EINVAL if there were errors, else 0. */
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

/* Accepts a mapping or an empty value for `key` of `where`; else an error
 * showing `example`. */
int ed_conf_want_map(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                     const char *example);

/* Reads a `name: body` section `key` of root into *sec (NULL if absent or
 * empty) and its number of entries; checks the names and that each body is
 * a mapping. `what` is the singular ("sink"). */
int ed_conf_section(ed_conf_ctx_t *cx, const ed_node_t *root, const char *key, const char *what,
                    const ed_node_t **sec, int *n);

/* Which one of `kinds` (NULL-terminated) is a key of body: exactly one, else
 * an error naming entity `keyn` of kind `what` ("sink"). */
int ed_conf_one_of(ed_conf_ctx_t *cx, const ed_node_t *keyn, const ed_node_t *body,
                   const char *what, const char *const *kinds, int *which);

/* ---- values ---- */

/* Reads scalar v (interpolated) into an owned string. */
int ed_conf_scalar(ed_conf_ctx_t *cx, const ed_node_t *v, const char *key, const char *where,
                   const char *desc, int flags, char **out);

/* Reads string `key` of `map` into an owned string; `def` (may be NULL) is
 * copied when the key is absent or null. */
int ed_conf_get_str(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                    const char *desc, int flags, const char *def, char **out);

/* Integer `key` in [min, max], `def` when absent. */
int ed_conf_get_int(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                    int64_t def, int64_t min, int64_t max, int64_t *out);
int ed_conf_get_intv(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                     int def, int min, int max, int *out);

/* Duration `key` in milliseconds, at least `min`; `def` when absent. */
int ed_conf_get_dur(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                    int64_t def, int64_t min, int64_t *out);

/* Count `key` (a whole number with an optional k/M/G suffix), at least min. */
int ed_conf_get_count(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                      uint64_t def, uint64_t min, uint64_t *out);

/* Rate `key`: a number ≥ 0 with an optional k/M/G suffix; 0 when absent. */
int ed_conf_get_rate(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                     double *out);

/* One entry of an enumeration. */
typedef struct {
    const char *name;
    int value;
} ed_conf_enum_t;

/* Enumeration `key`: one of the names of tab (terminated by a NULL name);
 * stores its value, `def` when absent. */
int ed_conf_get_enum(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                     const ed_conf_enum_t *tab, int def, int *out);

/* `key: {name: value, …}` → an owned array of *nout pairs (values
 * interpolated); left NULL/0 when absent. */
int ed_conf_get_props(ed_conf_ctx_t *cx, const ed_node_t *map, const char *key, const char *where,
                      ed_conf_kv_t **out, int *nout);

/* ---- names and references ---- */

/* Letters, digits, '_', '.' and '-'; not empty. */
int ed_conf_valid_name(const char *s);
/* [A-Za-z_][A-Za-z0-9_]*, at most ED_CONF_MAX_IDENT characters (n bytes of s). */
int ed_conf_valid_ident(const char *s, size_t n);
/* An identifier or schema.identifier. */
int ed_conf_valid_table(const char *s);
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

/* Formats a duration in ms as "5s", "2m", "250ms". */
void ed_conf_fmt_ms(char *buf, size_t size, int64_t ms);

#endif
