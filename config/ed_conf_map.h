/*
 * ed_conf_map.h — config maps: how a plugin (or a core section) declares
 * its options, and the descriptor of a source or sink type as the config
 * sees it.
 *
 * A config map is an array of rows, after Fluent Bit's `config_map[]`:
 *
 *   static const ed_conf_map_t s_map[] = {
 *       {ED_CONF_STR, "dsn", NULL, offsetof(ed_pg_opts_t, dsn), ED_CONF_REQUIRED,
 *        "libpq connection string or URI", .expect = "a libpq connection string"},
 *       {ED_CONF_INT, "port", "3306", offsetof(ed_my_opts_t, port), 0, "server port",
 *        .min = 1, .max = 65535},
 *       {0}};
 *
 * The loader reads each row's key from YAML into the options struct at
 * `offset` (defaults first, parsed from `def` with the same syntax as YAML
 * values), refuses unknown keys with a did-you-mean hint, refuses RESERVED
 * keys as "not implemented yet", and frees what it read with
 * ed_conf_map_free(). The reference tables of docs/config.md are generated
 * from the same rows (`eddy config-reference`).
 *
 * A type (ed_conf_plugin_t) names its map, the size of its options struct,
 * its capabilities, the meta fields a source gives and two optional checks:
 * `validate` (after its options are read: combinations, derived defaults)
 * and `link` (a sink fed by exactly one aggregation: checks against that
 * aggregation's key columns and computes). The pipeline layer hands the
 * loader a registry of types (ed_conf_registry_t) by name; config/ knows
 * none of them.
 */
#ifndef ED_CONF_MAP_H
#define ED_CONF_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/ed_buf.h"

struct ed_config;
struct ed_conf_source;
struct ed_conf_sink;
struct ed_conf_aggregation;

/* Value types of a row, and the C type stored at its offset. */
typedef enum {
    ED_CONF_STR = 1,  /* char * (owned); NULL when absent without default */
    ED_CONF_INT,      /* int in [min, max] */
    ED_CONF_BOOL,     /* int, 0 or 1 (true/false, yes/no, on/off) */
    ED_CONF_DURATION, /* int64_t milliseconds, ≥ min: 500ms, 2s, 1m, 1h; a bare number is ms */
    ED_CONF_SIZE,     /* uint64_t bytes, ≥ min: 512, 64KiB, 16MiB, 1GiB (also kB, MB, GB) */
    ED_CONF_COUNT,    /* uint64_t ≥ min, optional suffix k (10³), M (10⁶), G (10⁹): 2M */
    ED_CONF_RATE,     /* double ≥ 0 with the same suffixes: 50k */
    ED_CONF_ENUM,     /* int: the value of one of `choices` */
    ED_CONF_STRLIST,  /* ed_conf_strlist_t: one string or a list of strings */
    ED_CONF_KVMAP,    /* ed_conf_kvmap_t: a mapping of names to single values */
    ED_CONF_SUBMAP,   /* a nested mapping read with `sub`, into the same struct at offset */
    ED_CONF_CUSTOM,   /* read by the section's own code; freed with `free` */
} ed_conf_type_t;

/* Row flags. */
enum {
    ED_CONF_REQUIRED = 1 << 0, /* must be given */
    ED_CONF_RESERVED = 1 << 1, /* planned, not implemented yet: refused by name if given */
    ED_CONF_SECRET = 1 << 2,   /* never printed (eddy check, logs) */
    ED_CONF_OUTER = 1 << 3,    /* a sink's key written beside its type key (`table:`), not inside */
    ED_CONF_EMPTY_OK = 1 << 4, /* an empty string is a value (a password) */
};

/* One choice of an ED_CONF_ENUM row. */
typedef struct {
    const char *name;  /* as written in YAML */
    int value;         /* stored in the int field */
    int planned;       /* 1: reserved, refused as "not implemented yet" */
} ed_conf_choice_t;

/* ED_CONF_STRLIST storage. */
typedef struct {
    char **v; /* owned strings */
    int n;
} ed_conf_strlist_t;

/* One name/value pair (e.g. a librdkafka property). */
typedef struct {
    char *key;
    char *value;
} ed_conf_kv_t;

/* ED_CONF_KVMAP storage. */
typedef struct {
    ed_conf_kv_t *v; /* owned pairs in file order */
    int n;
} ed_conf_kvmap_t;

typedef struct ed_conf_map ed_conf_map_t;

struct ed_conf_map {
    ed_conf_type_t type;
    const char *name;  /* the YAML key; NULL ends the map */
    const char *def;   /* default, written as in YAML ("1000", "5s"); NULL = none */
    size_t offset;     /* of the field in the options struct */
    unsigned flags;    /* ED_CONF_* flags */
    const char *desc;  /* one line: what it does (docs/config.md, `eddy check`) */
    int64_t min, max;  /* INT, DURATION, SIZE, COUNT: range; max 0 = no upper bound */
    const ed_conf_choice_t *choices; /* ENUM: terminated by a NULL name */
    const ed_conf_map_t *sub;        /* SUBMAP: the nested mapping's rows */
    const char *expect;  /* what a value looks like, for errors ("host:port[,host:port…]");
                            RESERVED rows: what to do meanwhile */
    const char *doc_def; /* the default as the docs say it, when `def` cannot
                            ("`eddy-<source name>`", "number of online CPUs") */
    const char *doc_type; /* the type as the docs say it, when the row's type cannot
                             ("sink name", "field or list of key entries") */
    void (*free)(void *field); /* CUSTOM: frees what the section stored at offset */
};

/* Frees everything the rows of `map` stored in the struct at `base`
 * (strings, lists, maps, custom fields, nested maps) and zeroes those
 * fields. Does not free base. NULL-safe for base. */
void ed_conf_map_free(const ed_conf_map_t *map, void *base);

/* Looks up a row by YAML key; NULL if absent. */
const ed_conf_map_t *ed_conf_map_find(const ed_conf_map_t *map, const char *name);

/* Appends "key=value" for every row of map that has a value in base and is
 * neither SECRET nor RESERVED, separated by spaces (KVMAP values of keys
 * that look like credentials are masked). For `eddy check`. */
void ed_conf_map_describe(const ed_conf_map_t *map, const void *base, ed_buf_t *out);

/* The value of option `name` in the struct at base filled by `map`, as
 * `eddy check` would show it ("5s", "a,b", "{k=v}"), written into buf;
 * NULL if the map has no such row or the option has no value. Unlike
 * ed_conf_map_describe it shows SECRET options: for tests and tools, never
 * for output a user reads. */
const char *ed_conf_map_get(const ed_conf_map_t *map, const void *base, const char *name,
                            char *buf, size_t size);

/* ---- types: what a plugin tells the config ---- */

/* Capabilities of a type. */
enum {
    ED_CAP_CHANGELOG = 1 << 0,  /* sink: takes the changelog rows of one aggregation */
    ED_CAP_CHANGELOGS = 1 << 1, /* sink: takes changelog rows of several aggregations at once */
    ED_CAP_RECORDS = 1 << 2,    /* sink: takes records (pass-through, rejects) */
    ED_CAP_ALERTS = 1 << 3,     /* sink: takes alert records */
    ED_CAP_REJECTS_OUT = 1 << 4, /* sink: refuses records one by one and routes them to the
                                    rejects sink of their source (ed_config_reject_route) */
    ED_CAP_WINDOWS = 1 << 5,    /* sink: takes changelog rows of windowed aggregations (their
                                   window bounds are part of the row's key) */
    ED_CAP_EXACTLY_ONCE = 1 << 6, /* sink: records checkpoint ids and input positions in its own
                                     transaction and skips replayed flushes (runtime.delivery) */
    ED_CAP_PAYLOAD = 1 << 8,    /* source: inputs carry a payload decoded by `format` */
    ED_CAP_INSTANCES = 1 << 9,  /* source: may run as several instances (`instances: N`) */
    ED_CAP_REPLAY = 1 << 10,    /* source: seeks to given positions and stops at given positions
                                   (exactly_once replay; ed_source.h seek, limit) */
    ED_CAP_PLANNED = 1 << 15,   /* reserved type, not implemented yet: refused by name */
};

/* A meta field a source type fills for every input. */
typedef struct {
    const char *name; /* "@key" */
    const char *desc; /* "the Kafka message key" */
} ed_conf_meta_t;

typedef struct ed_conf_check ed_conf_check_t;
typedef struct ed_conf_plugin ed_conf_plugin_t;

struct ed_conf_plugin {
    const char *name;          /* the type key in YAML: "postgres" */
    const char *desc;          /* one line for docs/config.md */
    const ed_conf_map_t *map;  /* options; NULL = takes none */
    size_t opts_size;          /* bytes of the options struct (0 with no map) */
    unsigned caps;             /* ED_CAP_* */
    const ed_conf_meta_t *meta; /* sources: meta fields given, terminated by a NULL name */
    const char *example;       /* a valid block, shown when the block is not a mapping */

    /* Optional: checks that need several options, fills derived defaults.
     * Called once the options are read, also when some failed (then the
     * failed ones hold their defaults; `ed_conf_check_ok` says which).
     * Returns 0 or ED_EINVAL after recording errors with ed_conf_check_err. */
    int (*validate)(ed_conf_check_t *ck, void *opts);

    /* Optional, sinks with ED_CAP_CHANGELOG: called when exactly one
     * aggregation feeds the sink, to check and default what depends on it
     * (key columns in templates, a compute name, a table name). */
    int (*link)(ed_conf_check_t *ck, void *opts, const struct ed_conf_aggregation *agg);

    /* Optional, sinks with ED_CAP_RECORDS: called when records feed the
     * sink (a source's `to:` or `rejects:`, alerts), to check that the
     * options can write them (a SQL sink needs `columns:`). */
    int (*link_records)(ed_conf_check_t *ck, void *opts);

    /* Optional: appends what `eddy check` shows of the options ("host=…
     * dbname=…"), never a secret. Default: ed_conf_map_describe. */
    void (*describe)(const void *opts, ed_buf_t *out);
};

/* Appends what `eddy check` shows of a source's or sink's options: the
 * type's describe, or ed_conf_map_describe of its map. Never a secret. */
void ed_conf_plugin_describe(const ed_conf_plugin_t *type, const void *opts, ed_buf_t *out);

/* An aggregate function as `compute:` names it. */
typedef struct {
    const char *name;  /* "sum"; matched case-insensitively */
    int takes_field;   /* 1: sum(FIELD); 0: count or count() */
    const struct ed_aggfn *fn; /* the pipeline's row (actors/aggregate/ed_aggfn.h), stored
                                  in ed_conf_compute_t.fn; NULL when planned */
    const char *desc;  /* one line for docs/config.md */
    int planned;       /* 1: reserved, refused as "not implemented yet" */
} ed_conf_aggfn_t;

/* What the pipeline layer hands the loader. All borrowed, static. */
typedef struct ed_conf_registry {
    const ed_conf_plugin_t *const *sources; /* source types, in documentation order */
    int nsources;
    const ed_conf_plugin_t *const *sinks; /* sink types */
    int nsinks;
    /* The i-th aggregate function, NULL past the last. */
    const ed_conf_aggfn_t *(*aggfn)(int i);
    /* 1: the pipeline runs windowed aggregations, `window:` loads; 0: it is
     * parsed in full and then refused as "not implemented yet". (Tests of
     * the sinks set it on a copy of the registry to write windowed rows.) */
    int windows;
} ed_conf_registry_t;

/* Finds a source or sink type by name in the registry (planned ones too);
 * NULL if absent. */
const ed_conf_plugin_t *ed_conf_registry_source(const ed_conf_registry_t *reg, const char *name);
const ed_conf_plugin_t *ed_conf_registry_sink(const ed_conf_registry_t *reg, const char *name);

/* ---- the check context of validate / link ---- */

/* The name of the source or sink being checked. */
const char *ed_conf_check_name(const ed_conf_check_t *ck);

/* The source being checked (its core settings are read), or NULL for a sink. */
const struct ed_conf_source *ed_conf_check_source(const ed_conf_check_t *ck);

/* The sink being checked, or NULL for a source. */
const struct ed_conf_sink *ed_conf_check_sink(const ed_conf_check_t *ck);

/* 1 if the config sets runtime.delivery: exactly_once. */
int ed_conf_check_exactly_once(const ed_conf_check_t *ck);

/* 1 if option `key` was given a (non-null) value in the config. */
int ed_conf_check_given(const ed_conf_check_t *ck, const char *key);

/* 1 if option `key` was absent or read without error. */
int ed_conf_check_ok(const ed_conf_check_t *ck, const char *key);

/* "postgres of sink 'pg'" for a key inside the type block, "sink 'pg'" for
 * a key beside it (OUTER, or a core key); for messages. */
const char *ed_conf_check_where(const ed_conf_check_t *ck, const char *key);

/* Records the error "FILE:LINE:COL: message" at the value of option `key`
 * (or at its key with ed_conf_check_errk; at the type block, or the entity's
 * name, when the key is not given). Returns ED_EINVAL. */
int ed_conf_check_err(ed_conf_check_t *ck, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ed_conf_check_errk(ed_conf_check_t *ck, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends "; did you mean 'x'?" to b if a candidate is close to word. */
void ed_conf_check_suggest(ed_buf_t *b, const char *word, const char *const *cands, int n);

/* Formats a duration in ms as "5s", "2m", "250ms" (size bytes of buf). */
void ed_conf_fmt_ms(char *buf, size_t size, int64_t ms);

/* PostgreSQL truncates identifiers longer than this; MariaDB allows 64. */
#define ED_CONF_MAX_IDENT 63

/* 1 if the n bytes at s are [A-Za-z_][A-Za-z0-9_]*, at most ED_CONF_MAX_IDENT. */
int ed_conf_valid_ident(const char *s, size_t n);

/* 1 if s is an identifier or schema.identifier. */
int ed_conf_valid_table(const char *s);

/* Checks a template (`zset`, `member`): text with {COLUMN} placeholders,
 * braces balanced; records an error at option `key` if not. */
int ed_conf_check_template(ed_conf_check_t *ck, const char *key, const char *tmpl);

#endif
