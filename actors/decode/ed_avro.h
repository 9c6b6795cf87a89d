/*
 * ed_avro.h — `format: avro`: one Avro binary datum per input, the fields a
 * pipeline asked for read out of it.
 *
 * The schema (.avsc, JSON) is parsed and checked by Debian's avro-c
 * (libavro 1.11, avro_schema_from_json_length), then compiled into eddy's
 * own table of nodes; the bytes are decoded by eddy's walker over that
 * table, not by avro-c's reader, which was measured at 0.84-1.10 M
 * datums/s (about 4x slower than eddy's JSON path) and accepts hostile
 * input (a 2^62 string length asks realloc for it; an enum index out of
 * range and trailing bytes pass). The walker checks every length, count
 * and index against the bytes left and the schema, and refuses trailing
 * bytes. Encoding: Avro 1.11 specification, "Binary Encoding"
 * (zig-zag varints, little-endian float/double, length-prefixed
 * bytes/string, blocked arrays and maps, union branch index).
 *
 * Fields are addressed as in JSON: a record's field by name, nested fields
 * by dotted path ("customer.id"), a map's value by its key ("attrs.color");
 * a union is looked through to the branch the datum holds. Values
 * (ed_val.h):
 *   null → NULL; boolean → BOOL; int, long → NUMBER (text: decimal);
 *   float, double → NUMBER (text: the shortest that reads back as the same
 *     double; a float as the double it widens to),
 *     NaN and ±Infinity → STRING "NaN", "Infinity", "-Infinity" (as Avro's
 *     JSON encoding writes them; not a number to compute with);
 *   string, bytes, fixed → STRING (the bytes as they are);
 *   enum → STRING (its symbol);
 *   record, map, array → OTHER: the value as JSON text (a union as its
 *     branch's value, bytes as JSON strings with \u00XX escapes).
 * A path the datum does not hold (a null branch, a map without the key)
 * is MISSING. Logical types are read as their underlying type
 * (timestamp-millis is a long of ms).
 *
 * Framing: ED_AVRO_FRAME_NONE (the datum is the whole input) or
 * ED_AVRO_FRAME_CONFLUENT (Confluent Schema Registry wire format: byte 0
 * is the magic byte 0x00, bytes 1-4 the schema id, big-endian, which must
 * equal the configured id; the datum follows). Nothing is guessed from
 * the data.
 */
#ifndef ED_AVRO_H
#define ED_AVRO_H

#include <stddef.h>
#include <stdint.h>

#include "actors/decode/ed_val.h"

/* A compiled schema: immutable after ed_avro_schema_new, shared read-only
 * by every thread's reader. */
typedef struct ed_avro_schema ed_avro_schema_t;

/* A reader of some fields under one schema; one per thread. */
typedef struct ed_avro ed_avro_t;

typedef enum { ED_AVRO_FRAME_NONE = 0, ED_AVRO_FRAME_CONFLUENT } ed_avro_framing_t;

/* Deepest nesting of records, arrays, maps and unions a datum may have (a
 * recursive schema allows any depth; deeper data is refused). */
#define ED_AVRO_MAX_DEPTH 64

/* Parses the schema JSON json[0..len) with avro-c and compiles it. `name`
 * (e.g. the file name) is used in errors. Returns 0 and *schema_p (owned;
 * free with ed_avro_schema_destroy), or ED_EINVAL with errstr (avro-c's
 * message for invalid JSON or an invalid schema). Not thread-safe (avro-c
 * keeps its error text per thread; call it from the config loader). */
int ed_avro_schema_new(ed_avro_schema_t **schema_p, const char *json, size_t len, const char *name,
                       char *errstr, size_t errstr_size);

/* Frees the schema and NULLs *schema_p. NULL-safe. Readers made from it
 * must be destroyed first. */
void ed_avro_schema_destroy(ed_avro_schema_t **schema_p);

/* Checks that the dotted field path can exist in a datum of the schema
 * (a map key can be anything; a union path must exist in one branch).
 * Returns 0, or ED_EINVAL with errstr naming the first segment that
 * cannot ("record 'Order' has no field 'x'; its fields are: a, b" or
 * "'tags' is an array; fields inside arrays cannot be addressed"). */
int ed_avro_schema_check_path(const ed_avro_schema_t *schema, const char *path, char *errstr,
                              size_t errstr_size);

/* Kind of the schema's top-level type as the specification names it
 * ("record", "long", …); a static string. */
const char *ed_avro_schema_type(const ed_avro_schema_t *schema);

/* Creates a reader of nfields dotted field paths (copied) under `schema`
 * (borrowed; must outlive the reader) with the given framing; schema_id is
 * the id Confluent framing must carry (ignored for NONE). Returns an owned
 * reader; aborts on OOM like every ed_malloc. */
ed_avro_t *ed_avro_new(const ed_avro_schema_t *schema, const char *const *fields, int nfields,
                       ed_avro_framing_t framing, uint32_t schema_id);

/* Frees the reader and NULLs *avro_p. NULL-safe. */
void ed_avro_destroy(ed_avro_t **avro_p);

/* Decodes the input d[0..len) as one datum (after its frame) and fills
 * vals[nfields] in the order of the fields. Returns 0, or ED_EINVAL with
 * errstr naming the byte (offset in the input, frame included), the field
 * path and what is wrong, e.g. "Avro datum does not match the schema at
 * byte 17, field 'customer.tier' (enum Tier): index 7 out of range (4
 * symbols)", "Confluent schema id 12 at byte 1, expected 7 (schema_id)",
 * "3 trailing bytes after the datum at byte 40"; vals are then undefined.
 * Pointers in vals are borrowed: into d, the schema, or the reader's
 * buffers, valid until the next call or destroy. */
int ed_avro_decode(ed_avro_t *avro, const char *d, size_t len, ed_val_t *vals, char *errstr,
                   size_t errstr_size);

#endif
