/* ed_clock.c — see ed_clock.h. */
#define _GNU_SOURCE
#include "runtime/ed_clock.h"

#include <assert.h>
#include <stdatomic.h>
#include <time.h>

/* The fake time in µs, or INT64_MIN for the real clocks. Atomic because
 * every worker thread reads it; only tests write it. */
static _Atomic int64_t s_fake_us = INT64_MIN;

static int64_t s_clock(clockid_t id, int64_t div) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * (1000000000 / div) + ts.tv_nsec / div;
}

int64_t ed_now_ms(void) {
    int64_t f = atomic_load_explicit(&s_fake_us, memory_order_relaxed);
    return f != INT64_MIN ? f / 1000 : s_clock(CLOCK_MONOTONIC, 1000000);
}

int64_t ed_now_us(void) {
    int64_t f = atomic_load_explicit(&s_fake_us, memory_order_relaxed);
    return f != INT64_MIN ? f : s_clock(CLOCK_MONOTONIC, 1000);
}

int64_t ed_wall_ms(void) {
    int64_t f = atomic_load_explicit(&s_fake_us, memory_order_relaxed);
    return f != INT64_MIN ? f / 1000 : s_clock(CLOCK_REALTIME, 1000000);
}

void ed_clock_fake(int64_t now_ms) { atomic_store(&s_fake_us, now_ms * 1000); }

void ed_clock_fake_advance(int64_t ms) {
    assert(atomic_load(&s_fake_us) != INT64_MIN);
    atomic_fetch_add(&s_fake_us, ms * 1000);
}

void ed_clock_real(void) { atomic_store(&s_fake_us, INT64_MIN); }
