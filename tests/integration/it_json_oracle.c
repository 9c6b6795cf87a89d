/* it_json_oracle.c — eddy's JSON decoder against an independent oracle,
 * Python's json module: 200,000 random mutations of valid JSON objects
 * (tests/tools/json_cases.py writes each case with Python's verdict and the
 * values of the fields "a" and "b.c"). For every case eddy must accept what
 * Python accepts, reject what it rejects (with an error message), and give
 * the same field values. Needs python3 (make deps installs it), no servers.
 * Runs in the sanitizer build too, which makes it a fuzz test of the parser.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors/decode/ed_decode.h"
#include "runtime/ed_common.h"

#define CASES 200000
#define SEED 20261122

typedef struct {
    int emitted;
    ed_val_t v[2];
    char *str[2]; /* copies of string values (vals are borrowed) */
} s_got_t;

static void s_emit(void *ud, const ed_val_t *vals) {
    s_got_t *g = ud;
    g->emitted++;
    for (int i = 0; i < 2; i++) {
        g->v[i] = vals[i];
        free(g->str[i]);
        g->str[i] = NULL;
        if (vals[i].type == ED_VAL_STRING) {
            g->str[i] = malloc(vals[i].len + 1);
            memcpy(g->str[i], vals[i].ptr, vals[i].len);
            g->v[i].ptr = g->str[i];
        }
    }
}

static size_t s_unhex(const char *h, char *out) {
    size_t n = 0;
    if (strcmp(h, "-") == 0)
        return 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned b;
        sscanf(h, "%2x", &b);
        out[n++] = (char)b;
    }
    return n;
}

/* 1 if eddy's value v matches the oracle's description want (see
 * json_cases.py); on mismatch, a description in why. */
static int s_same(const ed_val_t *v, const char *want, char *why, size_t whysz) {
    static char buf[1 << 16];
    switch (want[0]) {
    case 'x':
        return 1; /* not comparable */
    case 'm':
        if (v->type == ED_VAL_MISSING)
            return 1;
        break;
    case 'n':
        if (v->type == ED_VAL_NULL)
            return 1;
        break;
    case 't':
    case 'f':
        if (v->type == ED_VAL_BOOL && v->num == (want[0] == 't'))
            return 1;
        break;
    case 'o':
        if (v->type == ED_VAL_OTHER)
            return 1;
        break;
    case 's': {
        size_t n = s_unhex(want + 2, buf);
        if (v->type == ED_VAL_STRING && v->len == n && memcmp(v->ptr, buf, n) == 0)
            return 1;
        break;
    }
    case 'd': {
        /* C99 reads float.hex(). == rather than the bits: Python reads -0 as
         * the integer 0, eddy (like strtod) as -0.0. */
        double d = strtod(want + 2, NULL);
        if (v->type == ED_VAL_NUMBER && d == v->num)
            return 1;
        snprintf(why, whysz, "number: oracle %a, eddy %a (type %d)", d, v->num, (int)v->type);
        return 0;
    }
    }
    snprintf(why, whysz, "oracle '%.60s', eddy type %d len %zu", want, (int)v->type, v->len);
    return 0;
}

static void test_against_python(void **state) {
    (void)state;
    const char *root = getenv("EDDY_ROOT");
    char path[] = "/tmp/eddy-json-oracle-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/tools/json_cases.py' %d %d '%s'",
             root && *root ? root : ".", CASES, SEED, path);
    if (system(cmd) != 0) {
        unlink(path);
        fail_msg("could not generate the cases: `%s` failed (is python3 installed? make deps)",
                 cmd);
    }
    FILE *f = fopen(path, "r");
    assert_non_null(f);

    const char *fields[] = {"a", "b.c"};
    ed_decoder_t *dec = NULL;
    char err[512];
    assert_int_equal(ed_decoder_new(&dec, ED_FMT_JSON, fields, 2, err, sizeof err), 0);

    char *line = NULL;
    size_t cap = 0;
    char *data = malloc(1 << 16);
    int ncases = 0, accepted = 0, bad = 0;
    s_got_t got = {0};
    while (getline(&line, &cap, f) > 0) {
        char verdict[4], hex[1 << 14], a[1 << 14], bc[1 << 14];
        if (sscanf(line, "%3s %16383s %16383s %16383s", verdict, hex, a, bc) != 4)
            fail_msg("unreadable case line: %.80s", line);
        size_t n = s_unhex(hex, data);
        got.emitted = 0;
        err[0] = '\0';
        /* An exactly sized copy: under ASan, any read past the record fails. */
        char *exact = malloc(n ? n : 1);
        memcpy(exact, data, n);
        int rc = ed_decoder_decode(dec, exact, n, s_emit, &got, err, sizeof err);
        free(exact);
        char why[1024] = "";
        int ok;
        if (verdict[0] == '1') {
            accepted++;
            ok = rc == 1 && got.emitted == 1;
            if (!ok)
                snprintf(why, sizeof why, "Python accepts, eddy rejects: %s", err);
            else if (!s_same(&got.v[0], a, why, sizeof why) ||
                     !s_same(&got.v[1], bc, why, sizeof why))
                ok = 0;
        } else {
            ok = rc == ED_EINVAL && got.emitted == 0 && strlen(err) > 10;
            if (!ok)
                snprintf(why, sizeof why, "Python rejects, eddy gives rc %d (err '%s')", rc, err);
        }
        if (!ok && ++bad <= 10)
            print_error("case %d %s: %s\n", ncases, hex, why);
        ncases++;
    }
    print_message("%d cases, %d valid JSON objects, %d disagreements\n", ncases, accepted, bad);
    free(got.str[0]);
    free(got.str[1]);
    free(line);
    free(data);
    fclose(f);
    unlink(path);
    ed_decoder_destroy(&dec);
    assert_int_equal(ncases, CASES);
    assert_true(accepted > CASES / 20); /* the mutations leave enough valid input */
    assert_int_equal(bad, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_python),
    };
    return cmocka_run_group_tests_name("json_oracle", tests, NULL, NULL);
}
