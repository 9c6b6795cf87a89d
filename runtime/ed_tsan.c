/* ed_tsan.c — C11 threads made visible to ThreadSanitizer (see ed_tsan.h).
 *
 * librdkafka (Debian's build) starts its threads with glibc's thrd_create,
 * which calls pthread_create inside libc, past TSan's interceptor; neither
 * gcc 12's nor clang 14's TSan intercepts thrd_create. Such a thread has no
 * TSan state, and the first access TSan checks in it crashes the process
 * (a SIGSEGV in the sanitizer's allocator or race reporter); and a thrd_join
 * that TSan does not see leaves the joined thread's last accesses looking
 * like races with whatever the joiner does next (freeing what a librdkafka
 * log callback read, in rd_kafka_destroy). Its C11 mutexes and condition
 * variables (mtx_*, cnd_*, call_once) likewise lock inside libc, unseen. In
 * the TSan build only, the program defines these functions itself over the
 * intercepted pthread ones, with glibc's semantics (its C11 types are the
 * pthread ones; a thread's start function runs in a trampoline that returns
 * its int as the thread's result); librdkafka's references resolve to them. The Makefile links them in with
 * -Wl,--undefined=thrd_create. Nothing here in other builds. */
#include "runtime/ed_tsan.h"

#ifdef ED_TSAN
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

typedef struct {
    thrd_start_t fn;
    void *arg;
} s_c11_start_t;

static void *s_c11_trampoline(void *p) {
    s_c11_start_t st = *(s_c11_start_t *)p;
    free(p);
    return (void *)(intptr_t)st.fn(st.arg);
}

int thrd_create(thrd_t *thr, thrd_start_t fn, void *arg) {
    s_c11_start_t *st = malloc(sizeof *st);
    if (!st)
        return thrd_nomem;
    st->fn = fn;
    st->arg = arg;
    int rc = pthread_create((pthread_t *)thr, NULL, s_c11_trampoline, st);
    if (rc == 0)
        return thrd_success;
    free(st);
    return rc == ENOMEM || rc == EAGAIN ? thrd_nomem : thrd_error;
}

int thrd_join(thrd_t thr, int *res) {
    void *r;
    if (pthread_join((pthread_t)thr, &r) != 0)
        return thrd_error;
    if (res)
        *res = (int)(intptr_t)r;
    return thrd_success;
}

int thrd_detach(thrd_t thr) {
    return pthread_detach((pthread_t)thr) == 0 ? thrd_success : thrd_error;
}

int mtx_init(mtx_t *m, int type) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    if (type & mtx_recursive)
        pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    int rc = pthread_mutex_init((pthread_mutex_t *)m, &a);
    pthread_mutexattr_destroy(&a);
    return rc == 0 ? thrd_success : thrd_error;
}

int mtx_lock(mtx_t *m) {
    return pthread_mutex_lock((pthread_mutex_t *)m) == 0 ? thrd_success : thrd_error;
}

int mtx_unlock(mtx_t *m) {
    return pthread_mutex_unlock((pthread_mutex_t *)m) == 0 ? thrd_success : thrd_error;
}

void mtx_destroy(mtx_t *m) {
    pthread_mutex_destroy((pthread_mutex_t *)m);
}

int cnd_init(cnd_t *c) {
    int rc = pthread_cond_init((pthread_cond_t *)c, NULL);
    return rc == 0 ? thrd_success : rc == ENOMEM ? thrd_nomem : thrd_error;
}

int cnd_signal(cnd_t *c) {
    return pthread_cond_signal((pthread_cond_t *)c) == 0 ? thrd_success : thrd_error;
}

int cnd_broadcast(cnd_t *c) {
    return pthread_cond_broadcast((pthread_cond_t *)c) == 0 ? thrd_success : thrd_error;
}

int cnd_wait(cnd_t *c, mtx_t *m) {
    return pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m) == 0 ? thrd_success
                                                                             : thrd_error;
}

int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts) {
    int rc = pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts);
    return rc == 0 ? thrd_success : rc == ETIMEDOUT ? thrd_timedout : thrd_error;
}

void cnd_destroy(cnd_t *c) {
    pthread_cond_destroy((pthread_cond_t *)c);
}

void call_once(once_flag *flag, void (*fn)(void)) {
    pthread_once((pthread_once_t *)flag, fn);
}
#endif
