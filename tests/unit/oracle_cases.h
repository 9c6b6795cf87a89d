/*
 * oracle_cases.h — a unit test helper for the tests checked against a
 * Python oracle (tests/tools/where_cases.py, expr_cases.py): runs the generator into a
 * temporary file and decodes the hex fields of its lines.
 */
#ifndef TEST_ORACLE_CASES_H
#define TEST_ORACLE_CASES_H

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

/* Decodes hex digits at h (up to a space, newline or NUL) into out, which
 * has room; NUL-terminates it. Returns the number of bytes. */
static inline size_t s_unhex(const char *h, char *out) {
    size_t n = 0;
    for (; h[0] && h[1] && h[0] != ' ' && h[0] != '\n'; h += 2) {
        unsigned b;
        sscanf(h, "%2x", &b);
        out[n++] = (char)b;
    }
    out[n] = '\0';
    return n;
}

/* An `R HEX` line of the cases: appends its record (owned) to recs and
 * lens (room for max), counting *n. Returns 1 if line was one, else 0. */
static inline int s_oracle_record(const char *line, char **recs, size_t *lens, int *n, int max) {
    if (line[0] != 'R')
        return 0;
    assert_true(*n < max);
    recs[*n] = malloc(strlen(line));
    lens[*n] = s_unhex(line + 2, recs[*n]);
    (*n)++;
    return 1;
}

/* Runs `python3 $EDDY_ROOT/tests/tools/SCRIPT NEXPR NREC SEED TMPFILE` and
 * opens the file it wrote (unlinked already: it lives while open). Fails
 * the test when the generator fails. */
static inline FILE *s_oracle_cases(const char *script, int nexpr, int nrec, int seed) {
    char path[] = "/tmp/eddy-oracle-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const char *root = getenv("EDDY_ROOT");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/tools/%s' %d %d %d '%s'",
             root && *root ? root : ".", script, nexpr, nrec, seed, path);
    if (system(cmd) != 0) {
        unlink(path);
        fail_msg("could not generate the cases: `%s` failed (is python3 installed? make deps)",
                 cmd);
    }
    FILE *f = fopen(path, "r");
    unlink(path);
    assert_non_null(f);
    return f;
}

#endif
