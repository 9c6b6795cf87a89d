/* fuzz_json.c — libFuzzer target: the JSON decoder (actors/decode/ed_json.h,
 * ed_json_fields.h, ed_decode.h) on arbitrary bytes.
 *
 * The input is copied into a buffer of exactly its size, so a read past the
 * record is an ASan report. On success the tape is checked for its
 * invariants (offsets inside the record, every subtree's skip consistent,
 * object members key/value pairs with string keys), every string is
 * unescaped into a buffer of its raw length (decoding never lengthens), and
 * the decoder must agree with the parser (one record iff the parse
 * succeeded) and give values whose bytes are all readable. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_decode.h"
#include "actors/decode/ed_json.h"
#include "actors/decode/ed_json_fields.h"
#include "tests/fuzz/fuzz.h"

static const char *const s_fields[] = {"a", "b", "a.b", "id", "user.id", "text", "x.y.z", ""};
#define S_NFIELDS ((int)(sizeof s_fields / sizeof s_fields[0]))

static volatile unsigned s_sink; /* keeps the reads of value bytes */

static void s_touch(const ed_val_t *v) {
    if (v->type == ED_VAL_STRING || v->type == ED_VAL_NUMBER || v->type == ED_VAL_BOOL ||
        v->type == ED_VAL_OTHER)
        for (size_t i = 0; i < v->len; i++)
            s_sink += (unsigned char)v->ptr[i];
}

static int s_records;

static void s_emit(void *ud, const ed_val_t *vals) {
    (void)ud;
    s_records++;
    for (int i = 0; i < S_NFIELDS - 1; i++)
        s_touch(&vals[i]);
}

/* Checks the subtree at tape index i (ending before `end`); returns the
 * index past it. */
static int32_t s_check(const ed_json_tok_t *t, int32_t i, int32_t end, size_t size) {
    if (i >= end || t[i].skip <= i || t[i].skip > end || t[i].start > t[i].end || t[i].end > size)
        abort();
    if (t[i].type == ED_JSON_STR || t[i].type == ED_JSON_LIT) {
        if (t[i].skip != i + 1)
            abort();
        return i + 1;
    }
    if (t[i].type != ED_JSON_OBJ && t[i].type != ED_JSON_ARR)
        abort();
    int32_t j = i + 1;
    int n = 0;
    while (j < t[i].skip) {
        if (t[i].type == ED_JSON_OBJ && n % 2 == 0 && t[j].type != ED_JSON_STR)
            abort(); /* an object's key is a string */
        j = s_check(t, j, t[i].skip, size);
        n++;
    }
    if (j != t[i].skip || (t[i].type == ED_JSON_OBJ && n % 2))
        abort();
    return j;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ed_json_t *json;
    static ed_json_fields_t *fields;
    static ed_decoder_t *dec;
    char err[512];
    if (!json) {
        json = ed_json_new();
        fields = ed_json_fields_new(s_fields, S_NFIELDS);
        if (ed_decoder_new(&dec, ED_FMT_JSON, s_fields, S_NFIELDS - 1, err, sizeof err) != 0)
            abort();
    }
    char *d = malloc(size ? size : 1);
    memcpy(d, data, size);
    err[0] = '\0';
    int rc = ed_json_parse(json, d, size, err, sizeof err);
    if (rc == 0) {
        const ed_json_tok_t *t = ed_json_tape(json);
        if (t[0].type != ED_JSON_OBJ)
            abort();
        int32_t n = s_check(t, 0, t[0].skip, size);
        for (int32_t i = 0; i < n; i++) {
            if (t[i].type != ED_JSON_STR)
                continue;
            size_t raw = t[i].end - t[i].start;
            char *out = malloc(raw ? raw : 1);
            size_t got = ed_json_unescape(d + t[i].start, raw, out);
            if (got > raw)
                abort();
            free(out);
        }
        ed_val_t vals[S_NFIELDS];
        ed_json_fields_get(fields, t, d, vals);
        for (int i = 0; i < S_NFIELDS; i++)
            s_touch(&vals[i]);
    } else if (!err[0]) {
        abort(); /* an error must say what */
    }
    s_records = 0;
    int drc = ed_decoder_decode(dec, d, size, s_emit, NULL, err, sizeof err);
    if ((rc == 0) != (drc == 1) || s_records != (drc == 1))
        abort();
    free(d);
    return 0;
}
