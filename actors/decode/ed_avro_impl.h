/*
 * ed_avro_impl.h — inside of a compiled Avro schema, shared by
 * ed_avro_schema.c (which builds it) and ed_avro.c (which walks it).
 * Not a public interface.
 */
#ifndef ED_AVRO_IMPL_H
#define ED_AVRO_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "actors/decode/ed_avro.h"

typedef enum {
    S_AV_NULL = 0,
    S_AV_BOOLEAN,
    S_AV_INT,
    S_AV_LONG,
    S_AV_FLOAT,
    S_AV_DOUBLE,
    S_AV_BYTES,
    S_AV_STRING,
    S_AV_RECORD,
    S_AV_ENUM,
    S_AV_FIXED,
    S_AV_ARRAY,
    S_AV_MAP,
    S_AV_UNION,
} ed_avro_kind_t;

/* One node of the compiled schema. Named types appear once; references to
 * them (and recursion) are node indexes. */
typedef struct {
    ed_avro_kind_t kind;
    int n;            /* record: fields; enum: symbols; union: branches; fixed: size */
    int *kids;        /* record: field type nodes [n]; union: branch nodes [n];
                         array: items [1]; map: values [1] */
    char **names;     /* record: field names [n]; enum: symbols [n] */
    size_t *name_len; /* their lengths */
    char *tname;      /* for errors: "record Order", "enum Tier", "long", … */
    size_t minsize;   /* fewest bytes a datum of this node takes (a lower bound) */
} ed_avro_node_t;

struct ed_avro_schema {
    ed_avro_node_t *nodes; /* node 0 is the top-level type */
    int nnodes;
};

/* Name of a kind as the specification writes it ("long", "record", …). */
const char *ed_avro_kind_name(ed_avro_kind_t kind);

#endif
