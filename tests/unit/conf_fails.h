/*
 * conf_fails.h — a unit test helper: loads a config that must fail and
 * looks for one error line among those the load reports.
 */
#ifndef TEST_CONF_FAILS_H
#define TEST_CONF_FAILS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "actors/ed_registry.h"
#include "config/ed_config.h"
#include "runtime/ed_err.h"

/* Loads text as if from file `name` expecting ED_EINVAL with one error
 * line (of the several a load may report) starting with `prefix` and
 * containing `phrase`. */
static inline void s_fails_as(const char *text, const char *name, const char *prefix,
                              const char *phrase) {
    ed_config_t *c = NULL;
    char err[4096] = "";
    int rc = ed_config_load_string(text, name, ed_registry(), &c, err, sizeof err);
    if (rc != ED_EINVAL)
        fail_msg("expected ED_EINVAL, got %s (%s)\n--- config:\n%s", ed_err_name(rc), err, text);
    assert_null(c);
    for (const char *line = err; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char one[1024];
        snprintf(one, sizeof one, "%.*s", (int)len, line);
        if (!strncmp(one, prefix, strlen(prefix)) && strstr(one, phrase))
            return;
        line = nl ? nl + 1 : NULL;
    }
    fail_msg("errors\n%s\nexpected a line with prefix '%s' and phrase '%s'", err, prefix, phrase);
}

/* Loads text expecting success; returns the config. */
static inline ed_config_t *s_ok(const char *text) {
    ed_config_t *c = NULL;
    char err[512] = "";
    int rc = ed_config_load_string(text, "t.yaml", ed_registry(), &c, err, sizeof err);
    if (rc)
        fail_msg("load failed: %s\n--- config:\n%s", err, text);
    return c;
}

/* s_fails_as from "t.yaml". */
static inline void s_fails(const char *text, const char *prefix, const char *phrase) {
    s_fails_as(text, "t.yaml", prefix, phrase);
}

#endif
