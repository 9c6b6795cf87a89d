/* fuzz_time.c — libFuzzer target: event-time parsing (actors/decode/ed_time.h)
 * of arbitrary field values in every time format.
 *
 * The bytes are given as a string value (in a buffer of exactly their size,
 * so a read past the value is an ASan report) and, when they are 8 bytes or
 * more, their first 8 as a double number value (NaN, infinities and huge
 * values included). Checked against libc, independently of eddy's calendar
 * code: when ISO-8601 text is accepted, its date alone (the first 10 bytes)
 * is accepted too and is timegm(3) of that date, and the whole value lies
 * within a day and the largest zone offset of that midnight. */
#define _GNU_SOURCE /* timegm */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actors/decode/ed_time.h"
#include "tests/fuzz/fuzz.h"

static const ed_time_format_t s_fmts[] = {ED_TIME_AUTO, ED_TIME_EPOCH_S, ED_TIME_EPOCH_MS,
                                          ED_TIME_ISO8601, ED_TIME_NONE};

/* timegm of the YYYY-MM-DD at s, in ms. */
static int64_t s_date_ms(const char *s) {
    struct tm tm = {0};
    tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
    tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
    tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
    return (int64_t)timegm(&tm) * 1000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size ? size : 1);
    memcpy(s, data, size);
    ed_val_t str = {.type = ED_VAL_STRING, .ptr = s, .len = size};
    int64_t ms;
    for (size_t f = 0; f < sizeof s_fmts / sizeof s_fmts[0]; f++)
        (void)ed_time_parse(&str, s_fmts[f], &ms);
    if (ed_time_parse(&str, ED_TIME_ISO8601, &ms) == 0) {
        if (size < 10)
            abort();
        ed_val_t date = {.type = ED_VAL_STRING, .ptr = s, .len = 10};
        int64_t dms;
        if (ed_time_parse(&date, ED_TIME_ISO8601, &dms) != 0 || dms != s_date_ms(s))
            abort();
        /* at most 23:59:60.999 after midnight, and a zone of at most ±23:59 */
        const int64_t day = 86401000, zone = (23 * 60 + 59) * 60000;
        if (ms < dms - zone || ms >= dms + day + zone)
            abort();
    }
    if (size >= 8) {
        ed_val_t num = {.type = ED_VAL_NUMBER, .ptr = s, .len = size};
        memcpy(&num.num, s, sizeof num.num);
        for (size_t f = 0; f < sizeof s_fmts / sizeof s_fmts[0]; f++)
            (void)ed_time_parse(&num, s_fmts[f], &ms);
        ed_val_t b = {.type = ED_VAL_BOOL, .ptr = "true", .len = 4, .num = 1};
        (void)ed_time_parse(&b, ED_TIME_AUTO, &ms);
    }
    free(s);
    return 0;
}
