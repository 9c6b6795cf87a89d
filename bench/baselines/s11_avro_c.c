/*
 * s11_avro_c.c — the S11 baseline: Avro datums decoded by avro-c's generic
 * reader (Debian libavro 1.11, avro_value_read into a generic value), then
 * product_id and amount read by name and aggregated (count + sum per
 * product). The library eddy would use if it did not decode Avro itself.
 *
 *   s11_avro_c SCHEMA.avsc DATA.bin
 *
 * DATA.bin: datums each preceded by its length (4 bytes, little-endian),
 * as bench/tools/orders_avro.py writes them; read into memory first, so
 * only decoding and aggregating are timed.
 */
#include <avro.h>

#include "s11_common.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: s11_avro_c SCHEMA.avsc DATA.bin\n");
        return 64;
    }
    size_t slen, len;
    char *sj = s11_slurp(argv[1], &slen), *d = s11_slurp(argv[2], &len);
    avro_schema_t schema;
    if (avro_schema_from_json_length(sj, slen, &schema)) {
        fprintf(stderr, "schema: %s\n", avro_strerror());
        return 1;
    }
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t v;
    avro_generic_value_new(iface, &v);
    avro_reader_t rd = avro_reader_memory(d, 0);
    s11_table_t t;
    s11_table_init(&t, 1 << 17);
    int64_t events = 0;
    double t0 = s11_now();
    for (size_t p = 0; p + 4 <= len;) {
        uint32_t n;
        memcpy(&n, d + p, 4);
        p += 4;
        avro_reader_memory_set_source(rd, d + p, n);
        avro_value_reset(&v);
        if (avro_value_read(rd, &v)) {
            fprintf(stderr, "datum %lld: %s\n", (long long)events, avro_strerror());
            return 1;
        }
        p += n;
        avro_value_t f;
        const char *s;
        size_t sz;
        double x;
        if (avro_value_get_by_name(&v, "product_id", &f, NULL) || avro_value_get_string(&f, &s, &sz) ||
            avro_value_get_by_name(&v, "amount", &f, NULL) || avro_value_get_double(&f, &x)) {
            fprintf(stderr, "datum %lld: %s\n", (long long)events, avro_strerror());
            return 1;
        }
        s11_add(&t, s, sz ? sz - 1 : 0, x); /* avro-c's size counts the NUL */
        events++;
    }
    s11_print(&t, events, s11_now() - t0, "avro-c 1.11 generic reader");
    return 0;
}
