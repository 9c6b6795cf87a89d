/* ed_avro_schema.c — see ed_avro.h: the .avsc parsed by avro-c, compiled
 * into ed_avro_impl.h's node table, and field paths checked against it.
 *
 * avro-c is used only here, at config load: its schema objects resolve
 * names, namespaces and references ("links") for us; the table keeps what
 * the walker needs and nothing of avro-c survives the call. */
#include <avro.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_avro_impl.h"
#include "runtime/ed_buf.h"
#include "runtime/ed_common.h"

const char *ed_avro_kind_name(ed_avro_kind_t kind) {
    static const char *const names[] = {"null",   "boolean", "int",   "long",  "float",
                                        "double", "bytes",   "string", "record", "enum",
                                        "fixed",  "array",   "map",   "union"};
    return (unsigned)kind < ED_ARRAY_SIZE(names) ? names[kind] : "?";
}

/* Compilation state: avro-c schema objects already given a node (named
 * types, so references and recursion reuse it). */
typedef struct {
    ed_avro_schema_t *s;
    avro_schema_t *seen; /* [nseen] */
    int *seen_node;
    int nseen;
    char *errstr;
    size_t errstr_size;
} s_comp_t;

static int s_add_node(s_comp_t *c, ed_avro_kind_t kind) {
    ed_avro_schema_t *s = c->s;
    s->nodes = ed_realloc(s->nodes, sizeof *s->nodes * (size_t)(s->nnodes + 1));
    s->nodes[s->nnodes] = (ed_avro_node_t){.kind = kind};
    return s->nnodes++;
}

static char *s_tname(const char *kind, const char *name) {
    ed_buf_t b = ED_BUF_INIT;
    ed_buf_printf(&b, "%s%s%s", kind, name ? " " : "", name ? name : "");
    return b.data;
}

/* Compiles avro-c schema x; returns its node index, or -1 with errstr. */
static int s_compile(s_comp_t *c, avro_schema_t x) {
    while (is_avro_link(x))
        x = avro_schema_link_target(x);
    for (int i = 0; i < c->nseen; i++)
        if (c->seen[i] == x)
            return c->seen_node[i];
    ed_avro_kind_t kind;
    switch (avro_typeof(x)) {
    case AVRO_NULL: kind = S_AV_NULL; break;
    case AVRO_BOOLEAN: kind = S_AV_BOOLEAN; break;
    case AVRO_INT32: kind = S_AV_INT; break;
    case AVRO_INT64: kind = S_AV_LONG; break;
    case AVRO_FLOAT: kind = S_AV_FLOAT; break;
    case AVRO_DOUBLE: kind = S_AV_DOUBLE; break;
    case AVRO_BYTES: kind = S_AV_BYTES; break;
    case AVRO_STRING: kind = S_AV_STRING; break;
    case AVRO_RECORD: kind = S_AV_RECORD; break;
    case AVRO_ENUM: kind = S_AV_ENUM; break;
    case AVRO_FIXED: kind = S_AV_FIXED; break;
    case AVRO_ARRAY: kind = S_AV_ARRAY; break;
    case AVRO_MAP: kind = S_AV_MAP; break;
    case AVRO_UNION: kind = S_AV_UNION; break;
    default:
        ed_seterr(c->errstr, c->errstr_size, ED_EINVAL, "unsupported Avro type %d",
                  (int)avro_typeof(x));
        return -1;
    }
    int id = s_add_node(c, kind);
    c->seen = ed_realloc(c->seen, sizeof *c->seen * (size_t)(c->nseen + 1));
    c->seen_node = ed_realloc(c->seen_node, sizeof *c->seen_node * (size_t)(c->nseen + 1));
    c->seen[c->nseen] = x;
    c->seen_node[c->nseen++] = id;
    int named = kind == S_AV_RECORD || kind == S_AV_ENUM || kind == S_AV_FIXED;
    char *tname = s_tname(ed_avro_kind_name(kind), named ? avro_schema_name(x) : NULL);
    c->s->nodes[id].tname = tname;
    int n = 0;
    switch (kind) {
    case S_AV_RECORD: n = (int)avro_schema_record_size(x); break;
    case S_AV_ENUM: n = avro_schema_enum_number_of_symbols(x); break;
    case S_AV_UNION: n = (int)avro_schema_union_size(x); break;
    case S_AV_ARRAY:
    case S_AV_MAP: n = 1; break;
    case S_AV_FIXED: {
        int64_t sz = avro_schema_fixed_size(x);
        if (sz < 0 || sz > INT32_MAX) {
            ed_seterr(c->errstr, c->errstr_size, ED_EINVAL, "%s: size %lld out of range", tname,
                      (long long)sz);
            return -1;
        }
        c->s->nodes[id].n = (int)sz;
        return id;
    }
    default: return id;
    }
    int *kids = kind == S_AV_ENUM ? NULL : ed_calloc((size_t)n + 1, sizeof *kids);
    char **names = NULL;
    size_t *name_len = NULL;
    if (kind == S_AV_RECORD || kind == S_AV_ENUM) {
        names = ed_calloc((size_t)n + 1, sizeof *names);
        name_len = ed_calloc((size_t)n + 1, sizeof *name_len);
    }
    /* nodes may move while children compile: store through the index */
    c->s->nodes[id].n = n;
    c->s->nodes[id].kids = kids;
    c->s->nodes[id].names = names;
    c->s->nodes[id].name_len = name_len;
    for (int i = 0; i < n; i++) {
        avro_schema_t k = NULL;
        if (kind == S_AV_RECORD) {
            names[i] = ed_strdup(avro_schema_record_field_name(x, i));
            name_len[i] = strlen(names[i]);
            k = avro_schema_record_field_get_by_index(x, i);
        } else if (kind == S_AV_ENUM) {
            names[i] = ed_strdup(avro_schema_enum_get(x, i));
            name_len[i] = strlen(names[i]);
            continue;
        } else if (kind == S_AV_UNION) {
            k = avro_schema_union_branch(x, i);
        } else {
            k = kind == S_AV_ARRAY ? avro_schema_array_items(x) : avro_schema_map_values(x);
        }
        int kid = s_compile(c, k);
        if (kid < 0)
            return -1;
        kids[i] = kid;
    }
    return id;
}

/* Fewest bytes a datum of each node takes: iterated from 0 (a lower bound
 * at every step, so recursion needs no special case). The walker uses it
 * to refuse an array or map count that the bytes left cannot hold. */
static void s_minsizes(ed_avro_schema_t *s) {
    for (int pass = 0; pass < 8; pass++) {
        for (int i = 0; i < s->nnodes; i++) {
            ed_avro_node_t *nd = &s->nodes[i];
            size_t m = 0;
            switch (nd->kind) {
            case S_AV_NULL: m = 0; break;
            case S_AV_FLOAT: m = 4; break;
            case S_AV_DOUBLE: m = 8; break;
            case S_AV_FIXED: m = (size_t)nd->n; break;
            case S_AV_RECORD:
                for (int f = 0; f < nd->n; f++)
                    m += s->nodes[nd->kids[f]].minsize;
                break;
            case S_AV_UNION: {
                size_t lo = SIZE_MAX;
                for (int b = 0; b < nd->n; b++)
                    lo = s->nodes[nd->kids[b]].minsize < lo ? s->nodes[nd->kids[b]].minsize : lo;
                m = 1 + (nd->n ? lo : 0);
                break;
            }
            default: m = 1; break; /* varints, lengths, block counts */
            }
            nd->minsize = m > ((size_t)1 << 30) ? ((size_t)1 << 30) : m;
        }
    }
}

int ed_avro_schema_new(ed_avro_schema_t **schema_p, const char *json, size_t len, const char *name,
                       char *errstr, size_t errstr_size) {
    *schema_p = NULL;
    avro_schema_t x = NULL;
    if (avro_schema_from_json_length(json, len, &x) != 0 || !x) {
        char why[512];
        snprintf(why, sizeof why, "%s", avro_strerror());
        size_t n = strlen(why);
        while (n && (why[n - 1] == '\n' || why[n - 1] == ' '))
            why[--n] = '\0';
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "%s is not a valid Avro schema: %s (avro-c %s)", name,
                         n ? why : "unknown error", "1.11");
    }
    ed_avro_schema_t *s = ed_calloc(1, sizeof *s);
    s_comp_t c = {.s = s, .errstr = errstr, .errstr_size = errstr_size};
    int top = s_compile(&c, x);
    free(c.seen);
    free(c.seen_node);
    avro_schema_decref(x);
    if (top < 0) {
        ed_avro_schema_destroy(&s);
        return ED_EINVAL;
    }
    s_minsizes(s);
    *schema_p = s;
    return 0;
}

void ed_avro_schema_destroy(ed_avro_schema_t **schema_p) {
    if (!schema_p || !*schema_p)
        return;
    ed_avro_schema_t *s = *schema_p;
    for (int i = 0; i < s->nnodes; i++) {
        ed_avro_node_t *nd = &s->nodes[i];
        if (nd->names)
            for (int k = 0; k < nd->n; k++)
                free(nd->names[k]);
        free(nd->names);
        free(nd->name_len);
        free(nd->kids);
        free(nd->tname);
    }
    free(s->nodes);
    free(s);
    *schema_p = NULL;
}

const char *ed_avro_schema_type(const ed_avro_schema_t *schema) {
    return ed_avro_kind_name(schema->nodes[0].kind);
}

/* 1 if path segments seg[0..nseg) can be found from node id; else 0 with
 * the first reason found in *why (kept if already set). depth bounds the
 * walk through recursive unions. */
static int s_path_ok(const ed_avro_schema_t *s, int id, const char *path, ed_buf_t *why,
                     int depth) {
    if (!*path)
        return 1;
    const ed_avro_node_t *nd = &s->nodes[id];
    const char *dot = strchr(path, '.');
    size_t l = dot ? (size_t)(dot - path) : strlen(path);
    const char *rest = dot ? dot + 1 : path + l;
    if (depth > ED_AVRO_MAX_DEPTH)
        return 0;
    switch (nd->kind) {
    case S_AV_RECORD:
        for (int f = 0; f < nd->n; f++)
            if (nd->name_len[f] == l && !memcmp(nd->names[f], path, l))
                return s_path_ok(s, nd->kids[f], rest, why, depth + 1);
        if (!why->len) {
            ed_buf_printf(why, "%s has no field '%.*s'; its fields are: ", nd->tname, (int)l, path);
            for (int f = 0; f < nd->n; f++)
                ed_buf_printf(why, "%s%s", f ? ", " : "", nd->names[f]);
        }
        return 0;
    case S_AV_MAP:
        return s_path_ok(s, nd->kids[0], rest, why, depth + 1);
    case S_AV_UNION:
        /* non-null branches first, so the reason names the type meant */
        for (int pass = 0; pass < 2; pass++)
            for (int b = 0; b < nd->n; b++)
                if ((s->nodes[nd->kids[b]].kind == S_AV_NULL) == pass &&
                    s_path_ok(s, nd->kids[b], path, why, depth + 1))
                    return 1;
        return 0;
    default:
        if (!why->len)
            ed_buf_printf(why, "'%.*s' is inside a value of type %s, which has no fields%s",
                          (int)l, path, nd->tname,
                          nd->kind == S_AV_ARRAY ? " (elements of arrays cannot be addressed)"
                                                 : "");
        return 0;
    }
}

int ed_avro_schema_check_path(const ed_avro_schema_t *schema, const char *path, char *errstr,
                              size_t errstr_size) {
    ed_buf_t why = ED_BUF_INIT;
    int ok = s_path_ok(schema, 0, path, &why, 0);
    int rc = ok ? 0
                : ed_seterr(errstr, errstr_size, ED_EINVAL, "%s",
                            why.len ? why.data : "the path is too deep for the schema");
    ed_buf_free(&why);
    return rc;
}
