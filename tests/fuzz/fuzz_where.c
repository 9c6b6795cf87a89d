/* fuzz_where.c — libFuzzer target: the `where:` language
 * (actors/decode/ed_where.h): parsing and compiling arbitrary text, then
 * evaluating what parses over fixed records.
 *
 * The fields the expression names are read from a fixed JSON record by
 * eddy's JSON field reader (so nested paths, null, arrays and objects
 * occur), then from a record where field i has the i-th of every value type
 * (missing, string, number, bool, null, object), so every predicate meets
 * every type. @key is a string, other meta fields are missing. Checked:
 * parse errors say something and name the place ("expression:"); a parsed
 * expression names at least one field and its counters add up. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_json.h"
#include "actors/decode/ed_json_fields.h"
#include "actors/decode/ed_where.h"
#include "runtime/ed_common.h"
#include "tests/fuzz/fuzz.h"

static const char s_record[] =
    "{\"status\":\"failed\",\"amount\":1250.5,\"n\":-3,\"ok\":true,\"none\":null,"
    "\"text\":\"Big Data and machine learning \\u00e9t\\u00e9 \\ud83d\\ude00\","
    "\"customer\":{\"id\":\"c-17\",\"tier\":\"gold\",\"age\":41},"
    "\"tags\":[\"a\",\"b\"],\"\":\"empty key\",\"category\":\"books\"}";

static void s_eval(ed_where_ctx_t *cx, const ed_val_t *vals, uint64_t *evals) {
    int r = ed_where_eval(cx, vals);
    if (r != 0 && r != 1)
        abort();
    (*evals)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static ed_json_t *json;
    if (!json) {
        json = ed_json_new();
        char e[256];
        if (ed_json_parse(json, s_record, sizeof s_record - 1, e, sizeof e) != 0)
            abort();
    }
    char *text = fuzz_cstr(data, size);
    ed_where_t *w = NULL;
    char err[1024] = "";
    int rc = ed_where_parse(text, NULL, &w, err, sizeof err);
    if (rc != 0) {
        if (rc != ED_EINVAL || w || !strstr(err, "expression"))
            abort();
        free(text);
        return 0;
    }
    int nf = ed_where_nfields(w);
    if (nf < 1)
        abort();
    const char **names = malloc((size_t)nf * sizeof *names);
    ed_val_t *vals = malloc((size_t)nf * sizeof *vals);
    for (int i = 0; i < nf; i++) {
        names[i] = ed_where_field(w, i);
        int line, col;
        ed_where_field_pos(w, i, &line, &col);
        if (line < 1 || col < 1)
            abort();
    }
    ed_json_fields_t *fields = ed_json_fields_new(names, nf);
    ed_json_fields_get(fields, ed_json_tape(json), s_record, vals);
    for (int i = 0; i < nf; i++)
        if (names[i][0] == '@')
            vals[i] = strcmp(names[i], "@key") == 0
                          ? (ed_val_t){.type = ED_VAL_STRING, .ptr = "k1", .len = 2}
                          : (ed_val_t){.type = ED_VAL_MISSING};
    ed_where_ctx_t *cx = ed_where_ctx_new(w);
    uint64_t evals = 0;
    s_eval(cx, vals, &evals);
    static const char obj[] = "{\"id\":1}";
    for (int i = 0; i < nf; i++) {
        switch (i % 6) {
        case 0: vals[i] = (ed_val_t){.type = ED_VAL_MISSING}; break;
        case 1: vals[i] = (ed_val_t){.type = ED_VAL_STRING, .ptr = "books", .len = 5}; break;
        case 2: vals[i] = (ed_val_t){.type = ED_VAL_NUMBER, .ptr = "1000", .len = 4, .num = 1000}; break;
        case 3: vals[i] = (ed_val_t){.type = ED_VAL_BOOL, .ptr = "true", .len = 4, .num = 1}; break;
        case 4: vals[i] = (ed_val_t){.type = ED_VAL_NULL}; break;
        default: vals[i] = (ed_val_t){.type = ED_VAL_OTHER, .ptr = obj, .len = sizeof obj - 1}; break;
        }
    }
    s_eval(cx, vals, &evals);
    s_eval(cx, vals, &evals); /* again: PCRE2's scratch is reused */
    const ed_where_counts_t *c = ed_where_ctx_counts(cx);
    if (c->evals != evals || c->passed > c->evals)
        abort();
    if (strcmp(ed_where_text(w), text) != 0)
        abort();
    ed_where_ctx_destroy(&cx);
    ed_json_fields_destroy(&fields);
    ed_where_destroy(&w);
    free(vals);
    free(names);
    free(text);
    return 0;
}
