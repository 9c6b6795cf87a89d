/*
 * ed_yaml.c — see ed_yaml.h.
 *
 * libyaml's document API numbers nodes from 1 and shares a node between an
 * anchor and its aliases. The conversion allocates one ed_node_t per libyaml
 * node and links children by pointer, so aliases stay shared and no step
 * recurses over the document's depth; only merge keys recurse, along chains
 * of mappings merged into each other.
 */
#define _GNU_SOURCE
#include "config/ed_yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "runtime/ed_common.h"

struct ed_yaml {
    ed_node_t *nodes; /* [n]; nodes[i] is libyaml node id i + 1 */
    int n;
    char *state;      /* per node, for merges: 0 not flattened, 1 in progress, 2 done */
    yaml_document_t *doc;
    ed_yaml_error_t *err;
};

int ed_node_is_null(const ed_node_t *n) {
    if (!n)
        return 1;
    if (n->type != ED_NODE_SCALAR || !n->plain)
        return 0;
    const char *v = n->text;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

const char *ed_node_what(const ed_node_t *n) {
    if (!n || ed_node_is_null(n))
        return "empty";
    switch (n->type) {
    case ED_NODE_MAP: return "a mapping";
    case ED_NODE_SEQ: return "a list";
    default: return "a single value";
    }
}

ed_node_t *ed_node_getk(const ed_node_t *map, const char *key) {
    if (!map || map->type != ED_NODE_MAP)
        return NULL;
    for (int i = 0; i < map->npairs; i++) {
        ed_node_t *k = map->pairs[i].key;
        if (k->type == ED_NODE_SCALAR && !strcmp(k->text, key))
            return k;
    }
    return NULL;
}

ed_node_t *ed_node_get(const ed_node_t *map, const char *key) {
    if (!map || map->type != ED_NODE_MAP)
        return NULL;
    for (int i = 0; i < map->npairs; i++) {
        ed_node_t *k = map->pairs[i].key;
        if (k->type == ED_NODE_SCALAR && !strcmp(k->text, key))
            return map->pairs[i].value;
    }
    return NULL;
}

ed_node_t *ed_node_given(const ed_node_t *map, const char *key) {
    ed_node_t *v = ed_node_get(map, key);
    return v && !ed_node_is_null(v) ? v : NULL;
}

static void s_set_err(ed_yaml_error_t *err, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void s_set_err(ed_yaml_error_t *err, int line, int col, const char *fmt, ...) {
    err->line = line;
    err->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
}

/* Line and column (1-based) of byte offset `off`, for reader errors. */
static void s_offset_pos(const char *text, size_t len, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static void s_parser_error(const yaml_parser_t *p, const char *text, size_t len,
                           ed_yaml_error_t *err) {
    if (p->error == YAML_MEMORY_ERROR) {
        err->nomem = 1;
        s_set_err(err, 1, 1, "out of memory parsing YAML");
        return;
    }
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_READER_ERROR) {
        int line, col;
        s_offset_pos(text, len, p->problem_offset, &line, &col);
        s_set_err(err, line, col, "%s (byte 0x%02x at offset %zu); expected UTF-8 YAML text",
                  problem, (unsigned)p->problem_value & 0xFF, p->problem_offset);
        return;
    }
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->context)
        s_set_err(err, line, col,
                  "YAML syntax error: %s (%s started at line %d, column %d); expected valid YAML: "
                  "check indentation, quotes and brackets",
                  problem, p->context, (int)p->context_mark.line + 1,
                  (int)p->context_mark.column + 1);
    else
        s_set_err(err, line, col,
                  "YAML syntax error: %s; expected valid YAML: check indentation, quotes and "
                  "brackets",
                  problem);
}

static ed_node_t *s_node(ed_yaml_t *y, int id) {
    return id >= 1 && id <= y->n ? &y->nodes[id - 1] : NULL;
}

static int s_is_merge_key(const ed_node_t *k) {
    return k->type == ED_NODE_SCALAR && k->plain && !strcmp(k->text, "<<");
}

static int s_has_key(const ed_node_pair_t *pairs, int n, const ed_node_t *k) {
    if (k->type != ED_NODE_SCALAR)
        return 0;
    for (int i = 0; i < n; i++)
        if (pairs[i].key->type == ED_NODE_SCALAR && !strcmp(pairs[i].key->text, k->text))
            return 1;
    return 0;
}

static int s_flatten(ed_yaml_t *y, ed_node_t *m);

/* Adds the pairs of mapping `src` that `out` does not set yet. */
static int s_merge_from(ed_yaml_t *y, ed_node_t *at, ed_node_t *src, ed_node_pair_t **out, int *n,
                        int *cap) {
    if (src->type != ED_NODE_MAP) {
        s_set_err(y->err, at->line, at->col,
                  "the merge key '<<' takes %s here; expected a mapping or a list of mappings, "
                  "e.g. <<: *defaults",
                  ed_node_what(src));
        return ED_EINVAL;
    }
    int rc = s_flatten(y, src);
    if (rc < 0)
        return rc;
    for (int i = 0; i < src->npairs; i++) {
        if (s_has_key(*out, *n, src->pairs[i].key))
            continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 8;
            *out = ed_realloc(*out, sizeof **out * (size_t)*cap);
        }
        (*out)[(*n)++] = src->pairs[i];
    }
    return 0;
}

/* Applies the merge keys of mapping m (and, first, of the mappings it
 * merges). Keys set in m itself win, then earlier merged mappings. */
static int s_flatten(ed_yaml_t *y, ed_node_t *m) {
    int idx = (int)(m - y->nodes);
    if (y->state[idx] == 2)
        return 0;
    if (y->state[idx] == 1) {
        s_set_err(y->err, m->line, m->col,
                  "this mapping merges itself (through '<<' and an alias); expected merges "
                  "without a cycle");
        return ED_EINVAL;
    }
    y->state[idx] = 1;
    int nmerge = 0;
    for (int i = 0; i < m->npairs; i++)
        nmerge += s_is_merge_key(m->pairs[i].key);
    if (!nmerge) {
        y->state[idx] = 2;
        return 0;
    }
    int n = 0, cap = m->npairs;
    ed_node_pair_t *out = ed_calloc((size_t)cap, sizeof *out);
    for (int i = 0; i < m->npairs; i++)
        if (!s_is_merge_key(m->pairs[i].key))
            out[n++] = m->pairs[i];
    int rc = 0;
    for (int i = 0; i < m->npairs && rc == 0; i++) {
        if (!s_is_merge_key(m->pairs[i].key))
            continue;
        ed_node_t *v = m->pairs[i].value;
        if (v->type == ED_NODE_SEQ) {
            for (int j = 0; j < v->nitems && rc == 0; j++)
                rc = s_merge_from(y, v->items[j], v->items[j], &out, &n, &cap);
        } else {
            rc = s_merge_from(y, v, v, &out, &n, &cap);
        }
    }
    if (rc < 0) {
        free(out);
        return rc;
    }
    free(m->pairs);
    m->pairs = out;
    m->npairs = n;
    y->state[idx] = 2;
    return 0;
}

static void s_convert(ed_yaml_t *y) {
    for (int id = 1; id <= y->n; id++) {
        yaml_node_t *yn = yaml_document_get_node(y->doc, id);
        ed_node_t *n = s_node(y, id);
        n->line = (int)yn->start_mark.line + 1;
        n->col = (int)yn->start_mark.column + 1;
        n->start = yn->start_mark.index;
        n->end = yn->end_mark.index;
        switch (yn->type) {
        case YAML_SCALAR_NODE: {
            n->type = ED_NODE_SCALAR;
            char *t = ed_malloc(yn->data.scalar.length + 1);
            memcpy(t, yn->data.scalar.value, yn->data.scalar.length);
            t[yn->data.scalar.length] = 0;
            n->text = t;
            n->len = yn->data.scalar.length;
            n->plain = yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            break;
        }
        case YAML_SEQUENCE_NODE: {
            n->type = ED_NODE_SEQ;
            int k = (int)(yn->data.sequence.items.top - yn->data.sequence.items.start);
            n->items = ed_calloc((size_t)k + 1, sizeof *n->items);
            n->nitems = k;
            for (int i = 0; i < k; i++)
                n->items[i] = s_node(y, yn->data.sequence.items.start[i]);
            break;
        }
        case YAML_MAPPING_NODE: {
            n->type = ED_NODE_MAP;
            int k = (int)(yn->data.mapping.pairs.top - yn->data.mapping.pairs.start);
            n->pairs = ed_calloc((size_t)k + 1, sizeof *n->pairs);
            n->npairs = k;
            for (int i = 0; i < k; i++) {
                n->pairs[i].key = s_node(y, yn->data.mapping.pairs.start[i].key);
                n->pairs[i].value = s_node(y, yn->data.mapping.pairs.start[i].value);
            }
            break;
        }
        default: /* YAML_NO_NODE does not occur in a loaded document */
            n->type = ED_NODE_SCALAR;
            n->text = ed_strdup("");
            n->plain = 1;
            break;
        }
    }
}

int ed_yaml_parse(const char *text, size_t len, ed_yaml_t **yaml_p, ed_node_t **root,
                  ed_yaml_error_t *err) {
    yaml_parser_t parser;
    yaml_document_t doc;
    memset(err, 0, sizeof *err);
    *yaml_p = NULL;
    *root = NULL;
    if (!yaml_parser_initialize(&parser)) {
        err->nomem = 1;
        s_set_err(err, 1, 1, "out of memory parsing YAML");
        return ED_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        s_parser_error(&parser, text, len, err);
        yaml_parser_delete(&parser);
        return err->nomem ? ED_ENOMEM : ED_EINVAL;
    }
    int rc = 0;
    yaml_node_t *yroot = yaml_document_get_root_node(&doc);
    if (yroot) {
        /* A second document would be silently ignored: refuse it. */
        yaml_document_t doc2;
        if (!yaml_parser_load(&parser, &doc2)) {
            s_parser_error(&parser, text, len, err);
            rc = err->nomem ? ED_ENOMEM : ED_EINVAL;
        } else {
            yaml_node_t *root2 = yaml_document_get_root_node(&doc2);
            if (root2) {
                s_set_err(err, (int)root2->start_mark.line + 1, (int)root2->start_mark.column + 1,
                          "a second YAML document starts here; expected one document per file");
                rc = ED_EINVAL;
            }
            yaml_document_delete(&doc2);
        }
    }
    ed_yaml_t *y = ed_calloc(1, sizeof *y);
    if (rc == 0 && yroot) {
        y->n = (int)(doc.nodes.top - doc.nodes.start);
        y->nodes = ed_calloc((size_t)y->n, sizeof *y->nodes);
        y->state = ed_calloc((size_t)y->n, 1);
        y->doc = &doc;
        y->err = err;
        s_convert(y);
        for (int i = 0; i < y->n && rc == 0; i++)
            if (y->nodes[i].type == ED_NODE_MAP)
                rc = s_flatten(y, &y->nodes[i]);
        y->doc = NULL;
        y->err = NULL;
        free(y->state);
        y->state = NULL;
        if (rc == 0)
            *root = s_node(y, (int)(yroot - doc.nodes.start) + 1);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc < 0) {
        ed_yaml_destroy(&y);
        return rc;
    }
    *yaml_p = y;
    return 0;
}

void ed_yaml_destroy(ed_yaml_t **yaml_p) {
    if (!yaml_p || !*yaml_p)
        return;
    ed_yaml_t *y = *yaml_p;
    for (int i = 0; i < y->n; i++) {
        free((char *)y->nodes[i].text);
        free(y->nodes[i].pairs);
        free(y->nodes[i].items);
    }
    free(y->nodes);
    free(y->state);
    free(y);
    *yaml_p = NULL;
}
