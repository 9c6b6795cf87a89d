/* ed_decode.c — see ed_decode.h.
 *
 * The decoder object: which fields a format gives, and one call per payload.
 * JSON is parsed by ed_json.c into a token tape, then ed_json_fields.c
 * converts only the fields asked for; lines and words are here (words are
 * split by ed_tokenize.c); Avro is read by ed_avro.c.
 *
 * lines/words: fields other than "line"/"word" are accepted only if they are
 * @meta fields, and are always ED_VAL_MISSING here (the source fills them).
 * For json an "@name" field is an ordinary key ("@timestamp" is common).
 */
#include "actors/decode/ed_decode.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_avro.h"
#include "actors/decode/ed_json.h"
#include "actors/decode/ed_json_fields.h"
#include "actors/decode/ed_tokenize.h"
#include "runtime/ed_common.h"

struct ed_decoder {
    ed_format_t fmt;
    int nfields;
    char **fields;  /* owned copies */
    int *is_data;   /* lines/words: 1 if the field is "line"/"word", 0 for @meta */
    ed_val_t *vals; /* nfields (≥ 1 allocated) */
    /* json */
    ed_json_t *json;           /* the parser and its tape */
    ed_json_fields_t *jfields; /* the fields asked for, compiled */
    /* avro */
    ed_avro_t *avro; /* the reader of the fields asked for */
    /* words: lowercased words */
    char *scratch;
    size_t scratch_cap;
};

static void s_reserve(char **buf, size_t *cap, size_t need) {
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    *buf = ed_realloc(*buf, c);
    *cap = c;
}

static const char *s_fmt_name(ed_format_t fmt) {
    switch (fmt) {
    case ED_FMT_LINES:
        return "lines";
    case ED_FMT_WORDS:
        return "words";
    case ED_FMT_JSON:
        return "json";
    case ED_FMT_AVRO:
        return "avro";
    }
    return "?";
}

/* ----------------------------------------------------------- constructor */

/* A decoder of `fmt` with copies of the field names and room for their values. */
static ed_decoder_t *s_alloc(ed_format_t fmt, const char *const *fields, int nfields) {
    ed_decoder_t *dec = ed_calloc(1, sizeof *dec);
    dec->fmt = fmt;
    dec->nfields = nfields;
    size_t nf = (size_t)(nfields ? nfields : 1);
    dec->fields = ed_calloc(nf, sizeof *dec->fields);
    dec->vals = ed_calloc(nf, sizeof *dec->vals);
    for (int f = 0; f < nfields; f++)
        dec->fields[f] = ed_strdup(fields[f]);
    return dec;
}

int ed_decoder_new(ed_decoder_t **dec_p, ed_format_t fmt, const char *const *fields, int nfields,
                   char *errstr, size_t errstr_size) {
    *dec_p = NULL;
    if (fmt == ED_FMT_AVRO)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "format 'avro' needs its schema: use ed_decoder_new_avro");
    if (fmt != ED_FMT_LINES && fmt != ED_FMT_WORDS && fmt != ED_FMT_JSON)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "unknown input format %d", (int)fmt);
    if (nfields < 0)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "negative field count %d", nfields);

    const char *only = fmt == ED_FMT_LINES ? "line" : "word";
    for (int f = 0; f < nfields; f++) {
        const char *name = fields[f];
        if (!name || !*name)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "empty field name (field %d) for format '%s'", f + 1, s_fmt_name(fmt));
        if (name[0] == '@')
            continue; /* meta field: the source actor fills it */
        if (fmt != ED_FMT_JSON) {
            if (strcmp(name, only) != 0)
                return ed_seterr(errstr, errstr_size, ED_EINVAL,
                                 "unknown field '%s' for format '%s'; its only field is '%s' "
                                 "(plus @meta fields such as @key)",
                                 name, s_fmt_name(fmt), only);
        } else {
            size_t n = strlen(name);
            if (name[0] == '.' || name[n - 1] == '.' || strstr(name, ".."))
                return ed_seterr(errstr, errstr_size, ED_EINVAL,
                                 "invalid JSON field path '%s': empty path segment; write "
                                 "nested fields as a.b.c",
                                 name);
        }
    }

    ed_decoder_t *dec = s_alloc(fmt, fields, nfields);
    size_t nf = (size_t)(nfields ? nfields : 1);
    if (fmt == ED_FMT_JSON) {
        dec->json = ed_json_new();
        dec->jfields = ed_json_fields_new(fields, nfields);
    } else {
        dec->is_data = ed_calloc(nf, sizeof *dec->is_data);
        for (int f = 0; f < nfields; f++)
            dec->is_data[f] = dec->fields[f][0] != '@';
    }
    *dec_p = dec;
    return 0;
}

int ed_decoder_new_avro(ed_decoder_t **dec_p, const ed_avro_schema_t *schema,
                        ed_avro_framing_t framing, uint32_t schema_id, const char *const *fields,
                        int nfields, char *errstr, size_t errstr_size) {
    *dec_p = NULL;
    if (nfields < 0)
        return ed_seterr(errstr, errstr_size, ED_EINVAL, "negative field count %d", nfields);
    for (int f = 0; f < nfields; f++) {
        const char *name = fields[f];
        if (!name || !*name)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "empty field name (field %d) for format 'avro'", f + 1);
        if (name[0] == '@')
            continue;
        if (ed_avro_schema_check_path(schema, name, errstr, errstr_size) < 0) {
            char why[512];
            snprintf(why, sizeof why, "%s", errstr);
            return ed_seterr(errstr, errstr_size, ED_EINVAL, "field '%s' is not in the schema: %s",
                             name, why);
        }
    }
    ed_decoder_t *dec = s_alloc(ED_FMT_AVRO, fields, nfields);
    /* @meta fields are never in the datum: the reader leaves them MISSING */
    dec->avro = ed_avro_new(schema, fields, nfields, framing, schema_id);
    *dec_p = dec;
    return 0;
}

void ed_decoder_destroy(ed_decoder_t **dec_p) {
    if (!dec_p || !*dec_p)
        return;
    ed_decoder_t *dec = *dec_p;
    for (int f = 0; f < dec->nfields; f++)
        free(dec->fields[f]);
    free(dec->fields);
    free(dec->is_data);
    free(dec->vals);
    ed_json_destroy(&dec->json);
    ed_json_fields_destroy(&dec->jfields);
    ed_avro_destroy(&dec->avro);
    free(dec->scratch);
    free(dec);
    *dec_p = NULL;
}

/* ----------------------------------------------------------- lines/words */

static int s_decode_lines(ed_decoder_t *dec, const char *data, size_t len, ed_decode_emit_fn emit,
                          void *ud) {
    /* Sources split on '\n' already; a trailing "\n" is dropped too so a
     * Kafka message "text\n" reads as "text". */
    if (len && data[len - 1] == '\n')
        len--;
    if (len && data[len - 1] == '\r')
        len--;
    for (int f = 0; f < dec->nfields; f++) {
        ed_val_t *v = &dec->vals[f];
        if (dec->is_data[f])
            *v = (ed_val_t){.type = ED_VAL_STRING, .ptr = data, .len = len};
        else
            *v = (ed_val_t){.type = ED_VAL_MISSING};
    }
    emit(ud, dec->vals);
    return 1;
}

typedef struct {
    ed_decoder_t *dec;
    ed_decode_emit_fn emit;
    void *ud;
} s_words_ctx_t;

static void s_on_word(void *ud, const char *word, size_t len) {
    s_words_ctx_t *c = ud;
    ed_decoder_t *dec = c->dec;
    for (int f = 0; f < dec->nfields; f++) {
        if (dec->is_data[f]) {
            dec->vals[f].ptr = word;
            dec->vals[f].len = len;
        }
    }
    c->emit(c->ud, dec->vals);
}

static int s_decode_words(ed_decoder_t *dec, const char *data, size_t len, ed_decode_emit_fn emit,
                          void *ud) {
    s_reserve(&dec->scratch, &dec->scratch_cap, len);
    for (int f = 0; f < dec->nfields; f++)
        dec->vals[f] = (ed_val_t){.type = dec->is_data[f] ? ED_VAL_STRING : ED_VAL_MISSING};
    s_words_ctx_t c = {dec, emit, ud};
    size_t n = ed_tokenize_words(data, len, dec->scratch, s_on_word, &c);
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* ------------------------------------------------------------------ json */

static int s_decode_json(ed_decoder_t *dec, const char *d, size_t len, ed_decode_emit_fn emit,
                         void *ud, char *errstr, size_t errstr_size) {
    int rc = ed_json_parse(dec->json, d, len, errstr, errstr_size);
    if (rc < 0)
        return rc;
    ed_json_fields_get(dec->jfields, ed_json_tape(dec->json), d, dec->vals);
    emit(ud, dec->vals);
    return 1;
}

static int s_decode_avro(ed_decoder_t *dec, const char *d, size_t len, ed_decode_emit_fn emit,
                         void *ud, char *errstr, size_t errstr_size) {
    int rc = ed_avro_decode(dec->avro, d, len, dec->vals, errstr, errstr_size);
    if (rc < 0)
        return rc;
    emit(ud, dec->vals);
    return 1;
}

int ed_decoder_decode(ed_decoder_t *dec, const char *data, size_t len, ed_decode_emit_fn emit,
                      void *ud, char *errstr, size_t errstr_size) {
    switch (dec->fmt) {
    case ED_FMT_LINES:
        return s_decode_lines(dec, data, len, emit, ud);
    case ED_FMT_WORDS:
        return s_decode_words(dec, data, len, emit, ud);
    case ED_FMT_JSON:
        return s_decode_json(dec, data, len, emit, ud, errstr, errstr_size);
    case ED_FMT_AVRO:
        return s_decode_avro(dec, data, len, emit, ud, errstr, errstr_size);
    }
    return ed_seterr(errstr, errstr_size, ED_EINVAL, "unknown input format %d", (int)dec->fmt);
}
