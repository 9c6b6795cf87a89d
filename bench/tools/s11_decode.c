/*
 * s11_decode.c — the eddy side of bench S11: eddy's own decoders
 * (actors/decode/ed_decode.h) over the S2 order events, the fields asked for
 * product_id and amount, aggregated as the baselines do (count + sum per
 * product, bench/baselines/s11_common.h).
 *
 *   s11_decode avro SCHEMA.avsc DATA.bin    Avro datums, length-prefixed
 *                                          (bench/tools/orders_avro.py)
 *   s11_decode json DATA.jsonl              the same events as JSON lines
 *
 * The input is read into memory first; only decoding and aggregating are
 * timed. Built by the root Makefile (build/bench/s11_decode, linked with
 * libeddy.a).
 */
#define _GNU_SOURCE
#include "actors/decode/ed_avro.h"
#include "actors/decode/ed_decode.h"
#include "bench/baselines/s11_common.h"

static s11_table_t s_t;

static void s_emit(void *ud, const ed_val_t *vals) {
    (void)ud;
    double x = 0;
    if (vals[0].type != ED_VAL_STRING || ed_val_to_num(&vals[1], &x) != 0) {
        fprintf(stderr, "s11_decode: a record without product_id or amount\n");
        exit(1);
    }
    s11_add(&s_t, vals[0].ptr, vals[0].len, x);
}

int main(int argc, char **argv) {
    int avro = argc == 4 && !strcmp(argv[1], "avro");
    if (!avro && !(argc == 3 && !strcmp(argv[1], "json"))) {
        fprintf(stderr, "usage: s11_decode avro SCHEMA.avsc DATA.bin | s11_decode json DATA.jsonl\n");
        return 64;
    }
    const char *fields[] = {"product_id", "amount"};
    char err[1024];
    size_t len;
    ed_avro_schema_t *schema = NULL;
    ed_decoder_t *dec = NULL;
    if (avro) {
        size_t slen;
        char *sj = s11_slurp(argv[2], &slen);
        if (ed_avro_schema_new(&schema, sj, slen, argv[2], err, sizeof err) != 0 ||
            ed_decoder_new_avro(&dec, schema, ED_AVRO_FRAME_NONE, 0, fields, 2, err, sizeof err)) {
            fprintf(stderr, "s11_decode: %s\n", err);
            return 1;
        }
        free(sj);
    } else if (ed_decoder_new(&dec, ED_FMT_JSON, fields, 2, err, sizeof err) != 0) {
        fprintf(stderr, "s11_decode: %s\n", err);
        return 1;
    }
    char *d = s11_slurp(argv[avro ? 3 : 2], &len);
    s11_table_init(&s_t, 1 << 17);
    int64_t events = 0;
    double t0 = s11_now();
    for (size_t p = 0; p < len;) {
        size_t n;
        if (avro) {
            uint32_t n32;
            memcpy(&n32, d + p, 4);
            p += 4;
            n = n32;
        } else {
            const char *nl = memchr(d + p, '\n', len - p);
            n = nl ? (size_t)(nl - (d + p)) : len - p;
        }
        if (ed_decoder_decode(dec, d + p, n, s_emit, NULL, err, sizeof err) != 1) {
            fprintf(stderr, "s11_decode: input %lld: %s\n", (long long)events, err);
            return 1;
        }
        p += n + (avro ? 0 : 1);
        events++;
    }
    s11_print(&s_t, events, s11_now() - t0, avro ? "eddy Avro decoder" : "eddy JSON decoder");
    ed_decoder_destroy(&dec);
    ed_avro_schema_destroy(&schema);
    free(d);
    return 0;
}
