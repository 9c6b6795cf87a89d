/*
 * ed_clock.h — the clocks every module reads, and a fake clock for tests.
 *
 * Production code reads time only through these functions, so a unit test
 * can set the time (ed_clock_fake) and drive actors step by step without
 * sleeping. The fake is process-wide; set it before the code under test
 * runs, from one thread.
 */
#ifndef ED_CLOCK_H
#define ED_CLOCK_H

#include <stdint.h>

/* Monotonic clock in milliseconds (CLOCK_MONOTONIC), or the fake time. */
int64_t ed_now_ms(void);
/* Monotonic clock in microseconds (CLOCK_MONOTONIC), or the fake time. */
int64_t ed_now_us(void);
/* Wall clock in milliseconds since the Unix epoch (CLOCK_REALTIME), or the
 * fake time (the same number as ed_now_ms while faked). */
int64_t ed_wall_ms(void);

/* Test support: from now on every clock above returns `now_ms` (ms; µs =
 * now_ms × 1000) until ed_clock_fake_advance or ed_clock_real. */
void ed_clock_fake(int64_t now_ms);

/* Test support: moves the fake time forward by `ms` (must be faked). */
void ed_clock_fake_advance(int64_t ms);

/* Test support: back to the real clocks. */
void ed_clock_real(void);

#endif
