/* fuzz_config.c — libFuzzer target: the config loader
 * (config/ed_config.h) on arbitrary YAML text, from memory (no file is
 * written): YAML parsing, ${VAR} interpolation, every section's reader,
 * defaults and validation of references, with the build's registry of
 * source and sink types.
 *
 * A load either gives a config (freed again: leaks are LeakSanitizer
 * reports) or ED_EINVAL with a message that names the file ("fuzz.yaml:"),
 * as every config error must. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actors/ed_registry.h"
#include "config/ed_config.h"
#include "runtime/ed_common.h"
#define FUZZ_ENV /* LLVMFuzzerInitialize sets the variables the seeds use */
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstr(data, size);
    static char err[16384];
    err[0] = '\0';
    ed_config_t *conf = NULL;
    int rc = ed_config_load_string(text, "fuzz.yaml", ed_registry(), &conf, err, sizeof err);
    if (rc == 0) {
        if (!conf)
            abort();
        ed_config_destroy(&conf);
    } else if (rc != ED_EINVAL || conf || !strstr(err, "fuzz.yaml")) {
        abort();
    }
    free(text);
    return 0;
}
