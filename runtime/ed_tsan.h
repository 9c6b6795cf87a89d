/*
 * ed_tsan.h — telling ThreadSanitizer about synchronization it cannot see.
 *
 * Actors hand each other message pointers through ZeroMQ inproc sockets.
 * libzmq orders the handoff with its own lock-free pipes (atomics compiled
 * in libzmq, which is not instrumented), so under `make SAN=thread` every
 * read of a received message would look like a race with the sender's
 * writes. ED_TSAN_RELEASE(p) before handing p over and ED_TSAN_ACQUIRE(p)
 * after receiving it state that ordering (the sanitizer's own
 * __tsan_release / __tsan_acquire on the address p). They compile to
 * nothing outside the ThreadSanitizer build, and change no behaviour in it.
 * runtime/ed_tsan.c does the same for librdkafka's C11 threads and locks.
 */
#ifndef ED_TSAN_H
#define ED_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define ED_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ED_TSAN 1
#endif
#endif

#ifdef ED_TSAN
#include <sanitizer/tsan_interface.h>
/* Everything written before this, by this thread, happens before whatever
 * follows an ED_TSAN_ACQUIRE of the same address p in another thread. */
#define ED_TSAN_RELEASE(p) __tsan_release((void *)(p))
/* Pairs with the ED_TSAN_RELEASE of p whose handoff was just received. */
#define ED_TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#else
#define ED_TSAN_RELEASE(p) ((void)(p))
#define ED_TSAN_ACQUIRE(p) ((void)(p))
#endif

#endif
