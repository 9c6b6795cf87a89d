/*
 * fuzz.h — what the libFuzzer targets of tests/fuzz share: the entry
 * points libFuzzer calls, and the environment the config targets
 * interpolate.
 */
#ifndef ED_FUZZ_H
#define ED_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Called per input: `size` bytes at `data` (borrowed for the call).
 * Returns 0; a failed check aborts, which libFuzzer reports as a crash. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy of the input (owned: free it), for entry points
 * that take C strings; NULs inside the input end the text early. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

/* A target that defines FUZZ_ENV before including this file gets an
 * LLVMFuzzerInitialize (called once before the first input) that sets the
 * variables the seeds of config and interp interpolate: A=alpha,
 * B=${A} (text that must not be expanded again), E and FUZZ_EMPTY empty,
 * FUZZ_TOPIC=docs; U and FUZZ_UNSET unset. */
#ifdef FUZZ_ENV
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    setenv("A", "alpha", 1);
    setenv("B", "${A}", 1);
    setenv("E", "", 1);
    setenv("FUZZ_EMPTY", "", 1);
    setenv("FUZZ_TOPIC", "docs", 1);
    unsetenv("U");
    unsetenv("FUZZ_UNSET");
    return 0;
}
#endif

#endif
