/* fuzz_interp.c — libFuzzer target: ${VAR} interpolation of config scalars
 * (config/ed_conf_read.h: ${VAR}, ${VAR:-default}, $$) on arbitrary text.
 *
 * The bytes are one scalar node whose text is also the whole "file", so the
 * error positions (line and column of the offending "${") are computed over
 * the same bytes. Variables (tests/fuzz/fuzz.h): A=alpha, B=${A} (not expanded again),
 * E= (empty); U is unset. Checked: text without '$' comes back unchanged;
 * $$ alone gives $; a failure is exactly one error naming the file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/ed_conf_read.h"
#include "runtime/ed_common.h"
#define FUZZ_ENV /* LLVMFuzzerInitialize sets the variables the seeds use */
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = fuzz_cstr(data, size);
    size_t chars = 0;
    for (size_t i = 0; i < size; i++)
        chars += ((unsigned char)text[i] & 0xC0) != 0x80;
    ed_node_t n = {.type = ED_NODE_SCALAR, .line = 1, .col = 1, .start = 0, .end = chars,
                   .text = text, .len = size, .plain = 1};
    ed_config_t conf;
    memset(&conf, 0, sizeof conf);
    ed_conf_ctx_t *cx = ed_conf_ctx_new("fuzz.yaml", text, size, &conf, NULL);
    char *out = NULL;
    int rc = ed_conf_scalar(cx, &n, "value", "fuzz", "a string", ED_CR_EMPTY_OK, &out);
    if (rc == 0) {
        if (!out || ed_conf_nerrors(cx) != 0)
            abort();
        if (!memchr(text, '$', size) && (strlen(out) != strlen(text) || strcmp(out, text) != 0))
            abort();
        if (size == 2 && !memcmp(text, "$$", 2) && strcmp(out, "$") != 0)
            abort();
    } else {
        static char err[4096];
        if (out || ed_conf_nerrors(cx) != 1 || ed_conf_report(cx, err, sizeof err) != ED_EINVAL ||
            strncmp(err, "fuzz.yaml:", 10) != 0)
            abort();
    }
    free(out);
    ed_conf_ctx_destroy(&cx);
    free(text);
    return 0;
}
