/*
 * ed_yaml.h — a YAML document as a tree of nodes that know their position.
 *
 * ed_yaml_parse() reads one YAML document with libyaml's document loader
 * (which resolves anchors and aliases) and converts it into ed_node_t nodes:
 * scalars keep their raw text (no ${VAR} interpolation here, see
 * ed_conf_read.h), mappings their key/value pairs in file order, sequences
 * their items. Merge keys (`<<: *defaults` or `<<: [*a, *b]`) are applied
 * while converting, as YAML 1.1 defines them: the pairs of the merged
 * mappings are added unless the mapping sets the key itself (earlier
 * mappings of a list win over later ones); merged pairs keep the position of
 * the anchor they come from.
 *
 * An alias shares its anchor's node, so the tree may be a graph; every node
 * is owned by the ed_yaml_t and freed with it (no recursion).
 */
#ifndef ED_YAML_H
#define ED_YAML_H

#include <stddef.h>

typedef enum { ED_NODE_SCALAR = 1, ED_NODE_MAP, ED_NODE_SEQ } ed_node_type_t;

typedef struct ed_node ed_node_t;

/* One key/value pair of a mapping. */
typedef struct {
    ed_node_t *key;
    ed_node_t *value;
} ed_node_pair_t;

struct ed_node {
    ed_node_type_t type;
    int line;         /* 1-based line of the node's first character */
    int col;          /* 1-based column (characters) */
    size_t start;     /* character index of the node's start in the input */
    size_t end;       /* character index just past the node */
    /* ED_NODE_SCALAR */
    const char *text; /* raw value, NUL-terminated (may hold NULs before len) */
    size_t len;       /* bytes of text */
    int plain;        /* 1 for a plain (unquoted, non-block) scalar */
    /* ED_NODE_MAP */
    ed_node_pair_t *pairs;
    int npairs;
    /* ED_NODE_SEQ */
    ed_node_t **items;
    int nitems;
};

typedef struct ed_yaml ed_yaml_t;

/* Where a YAML syntax error was found, and what it is. */
typedef struct {
    int line;       /* 1-based */
    int col;        /* 1-based */
    int nomem;      /* 1 if libyaml ran out of memory (msg says so) */
    char msg[512];  /* e.g. "YAML syntax error: did not find expected ',' or '}' (…); expected …" */
} ed_yaml_error_t;

/* Parses `len` bytes of `text` (UTF-8, a BOM allowed) as exactly one YAML
 * document. On success returns 0, sets *yaml_p to an owned tree (free with
 * ed_yaml_destroy) and *root to its root node (NULL for an empty file).
 * On failure returns ED_EINVAL (ED_ENOMEM if libyaml ran out of memory) and
 * fills *err: syntax errors, invalid UTF-8, a second document, a merge key
 * whose value is not a mapping (or a list of them). */
int ed_yaml_parse(const char *text, size_t len, ed_yaml_t **yaml_p, ed_node_t **root,
                  ed_yaml_error_t *err);

/* Frees the tree and every node in it; NULLs *yaml_p. NULL-safe. */
void ed_yaml_destroy(ed_yaml_t **yaml_p);

/* 1 if n is a YAML null: an empty or `~`/`null` plain scalar (`key:` with
 * no value). NULL counts as null. */
int ed_node_is_null(const ed_node_t *n);

/* "empty", "a mapping", "a list" or "a single value", for error messages. */
const char *ed_node_what(const ed_node_t *n);

/* The value node of `key` in mapping `map`, or NULL (also when map is not a
 * mapping). Keys compare as exact strings. */
ed_node_t *ed_node_get(const ed_node_t *map, const char *key);

/* The key node of `key` in mapping `map`, or NULL. */
ed_node_t *ed_node_getk(const ed_node_t *map, const char *key);

/* The value node of `key` if given and not null, else NULL. */
ed_node_t *ed_node_given(const ed_node_t *map, const char *key);

#endif
