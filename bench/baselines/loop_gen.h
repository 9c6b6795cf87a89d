/*
 * loop_gen.h — the event stream of eddy's generator source
 * (actors/sources/ed_source_generator.c), as the single-threaded baselines
 * draw it: splitmix64 (Steele, Lea, Flood, OOPSLA 2014) seeded by SEED, one
 * draw for the key index mapped onto [0, KEYS) by Lemire's multiply-shift,
 * key text "k<index>". Shared by s1_loop.c and s7_loop.c.
 */
#ifndef LOOP_GEN_H
#define LOOP_GEN_H

#include <stddef.h>
#include <stdint.h>

/* The next number of the splitmix64 stream in *state. */
static inline uint64_t s_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* r mapped onto [0, n) (multiply-shift: the high 64 bits of r · n). */
static inline uint64_t s_range(uint64_t r, uint64_t n) {
    return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

/* Writes the key text "k<v>" (NUL-terminated) into buf (≥ 22 bytes);
 * returns its length without the NUL. */
static inline size_t s_key(char *buf, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    buf[0] = 'k';
    for (size_t i = 0; i < n; i++)
        buf[1 + i] = tmp[n - 1 - i];
    buf[1 + n] = '\0';
    return 1 + n;
}

#endif
