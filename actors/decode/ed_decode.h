/*
 * ed_decode.h — decoders turn one raw input payload into records, and give
 * the values of the fields a pipeline asked for.
 *
 *   lines: one record per input; field "line" = the payload without a
 *          trailing "\r".
 *   words: one record per word of the payload; field "word". Words as in
 *          ed_tokenize.h.
 *   json:  one record per input (one JSON object); fields by name, nested
 *          fields by dotted path ("customer.id"). A one-pass validating
 *          parser of our own (RFC 8259): ed_json.h, ed_json_fields.h.
 *   avro:  one record per input (one Avro binary datum, optionally in the
 *          Confluent wire format); fields as in JSON, by dotted path;
 *          eddy's walker over a schema compiled from the .avsc: ed_avro.h.
 * Meta fields ("@key", "@file", …) are not the decoder's business: the
 * source actor fills them from ed_input_t.
 */
#ifndef ED_DECODE_H
#define ED_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "actors/decode/ed_avro.h"
#include "actors/decode/ed_val.h"
#include "config/ed_config.h"

typedef struct ed_decoder ed_decoder_t;

/* Called once per decoded record with vals[nfields], in the order of the
 * `fields` given to ed_decoder_new. */
typedef void (*ed_decode_emit_fn)(void *ud, const ed_val_t *vals);

/* Creates a decoder for `fmt` that extracts `fields` (copied). For lines the
 * only field is "line", for words "word"; any other name is ED_EINVAL with
 * errstr naming the field and the format's fields. Returns 0 or ED_EINVAL. */
int ed_decoder_new(ed_decoder_t **dec_p, ed_format_t fmt, const char *const *fields, int nfields,
                   char *errstr, size_t errstr_size);

/* Creates a decoder for `format: avro` under `schema` (borrowed; must
 * outlive the decoder), with the framing (and, for Confluent framing, the
 * schema id every message must carry) as ed_avro.h describes. Every field
 * other than an @meta field must be a path the schema can hold
 * (ed_avro_schema_check_path); otherwise ED_EINVAL with errstr naming the
 * field and why. Returns 0 or ED_EINVAL. */
int ed_decoder_new_avro(ed_decoder_t **dec_p, const ed_avro_schema_t *schema,
                        ed_avro_framing_t framing, uint32_t schema_id, const char *const *fields,
                        int nfields, char *errstr, size_t errstr_size);

/* Decodes one payload of `len` bytes (need not be NUL-terminated) and calls
 * emit per record. Returns the number of records emitted (≥ 0), or ED_EINVAL
 * if the payload is malformed, with errstr saying what and at which byte
 * ("invalid JSON at byte 17: …"); nothing is emitted then. */
int ed_decoder_decode(ed_decoder_t *dec, const char *data, size_t len, ed_decode_emit_fn emit,
                      void *ud, char *errstr, size_t errstr_size);

/* Frees the decoder and NULLs *dec_p. NULL-safe. */
void ed_decoder_destroy(ed_decoder_t **dec_p);

#endif
