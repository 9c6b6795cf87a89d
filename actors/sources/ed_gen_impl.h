/*
 * ed_gen_impl.h — what the files of the event model share (private to
 * actors/sources/ed_gen*.c): the generator's state, its random streams and
 * the record builders that live outside ed_gen.c. The public interface is
 * ed_gen.h; the fields are documented in docs/gen.md.
 *
 * Random numbers: splitmix64 (Steele, Lea, Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014) — one 64-bit state per
 * stream, the same sequence on every platform, so a seed gives the same
 * bytes everywhere.
 */
#ifndef ED_GEN_IMPL_H
#define ED_GEN_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "actors/sources/ed_gen.h"
#include "actors/sources/ed_gen_nexmark.h"

struct ed_gen {
    ed_gen_opts_t o;
    uint64_t next;      /* index of the next event */
    uint64_t vrng;      /* value stream */
    uint64_t trng;      /* time stream: disorder and lateness */
    double *zprod;      /* Zipf CDF over product ranks */
    double *zpage;      /* Zipf CDF over page ranks */
    uint64_t users;     /* users introduced so far (gen users) */
    ed_nexmark_t *nx;   /* gen nexmark */
    char json[2048];
    char key[32];
};

/* The next number of a splitmix64 stream. */
static inline uint64_t ed_gen_rng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A stateless mix of one number (splitmix64's finalizer), for properties
 * fixed per product: category, price. */
static inline uint64_t ed_gen_rng_mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double ed_gen_rng_unit(uint64_t *state) {
    return (double)(ed_gen_rng_next(state) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n). */
static inline uint64_t ed_gen_rng_below(uint64_t *state, uint64_t n) {
    return (uint64_t)(((unsigned __int128)ed_gen_rng_next(state) * n) >> 64);
}

/* Picks an index by integer weights (summing to 100). */
static inline int ed_gen_weighted(const int *w, int n, uint64_t *state) {
    int u = (int)ed_gen_rng_below(state, 100);
    for (int i = 0; i < n; i++) {
        if (u < w[i])
            return i;
        u -= w[i];
    }
    return n - 1;
}

/* Builders: each writes one event of its kind as JSON into g->json (no
 * newline) and its Kafka key into g->key, drawing values from g->vrng, and
 * returns the JSON length. i is the 0-based event index, ts its event time
 * and base its base time (ms since the epoch; see ed_gen.h). */
size_t ed_gen_tweet(ed_gen_t *g, uint64_t i, int64_t ts, int64_t base);
size_t ed_gen_user(ed_gen_t *g, uint64_t i, int64_t ts);

/* Formats ms since the epoch as ISO 8601 UTC with milliseconds
 * ("2026-01-01T00:00:00.000Z") into out (at least 25 bytes). */
void ed_gen_iso8601(char *out, size_t cap, int64_t ms);

#endif
