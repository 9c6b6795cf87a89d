/* ed_actor.c — the actor runtime, see ed_actor.h. */
#define _GNU_SOURCE
#include "runtime/ed_actor.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "runtime/ed_stat.h"
#include "runtime/ed_tsan.h"

#define ED_RESTART_WINDOW_MS 60000
#define ED_BACKOFF_MIN_MS 100
#define ED_BACKOFF_MAX_MS 5000
/* Messages received per loop iteration before timers and ticks get a turn. */
#define ED_RECV_BUDGET 256
/* Longest poll: bounds how late a worker notices shutdown. */
#define ED_POLL_MAX_MS 50

typedef enum { ED_ACTOR_NEW = 0, ED_ACTOR_RUNNING, ED_ACTOR_FAILED } ed_actor_status_t;

struct ed_actor {
    uint32_t id;
    char *name;
    const ed_actor_type_t *type;
    void *state;
    int worker;
    ed_runtime_t *rt;
    ed_actor_status_t status;
    int64_t wake_at_ms; /* INT64_MAX = no timer */
    int busy;           /* tick again as soon as possible */
    int fd;             /* watched fd or -1 */
    ed_msg_t *out_head, *out_tail; /* outbox: messages waiting for mailbox room */
    ed_msg_t *in_head, *in_tail;   /* inbox: messages that arrived while FAILED */
    int failures;                  /* failures in the current window */
    int64_t window_start_ms;       /* start of the failure-counting window */
    int64_t restart_at_ms;         /* when FAILED: time of the next init() */
    int shutdown_code;             /* detached: exit code asked for, or -1 */
    /* Figures read live by other threads (ed_runtime_actor_stats): written
     * by the actor's worker with ed_stat_*, except `mailbox` (see there). */
    uint64_t msgs_in, records_in;   /* messages handled (entries of their batches) */
    uint64_t msgs_out, records_out; /* messages sent (entries of their batches) */
    uint64_t mailbox;     /* messages sent to it and not yet handled: added to by each
                             sender's thread, taken from by its own (atomic RMW) */
    uint64_t blocked_ms;  /* total time its outbox waited for room (backpressure) */
    int64_t blocked_since_ms; /* when its outbox became non-empty; 0 = not blocked */
    uint64_t restarts;    /* failures it was restarted after */
};

typedef struct {
    int idx;
    pthread_t thread;
    ed_runtime_t *rt;
    void *pull;
    void **push; /* [nworkers]; push[j] connects to worker j */
    ed_actor_t **actors;
    int nactors;
    int started;
} ed_worker_t;

struct ed_runtime {
    void *zctx;
    int nworkers;
    int hwm;
    ed_worker_t *workers;
    ed_actor_t **actors; /* by id; immutable after start */
    int nactors;
    int next_worker;
    pthread_barrier_t barrier; /* bind → connect → init → run */
    int barrier_inited;
    atomic_int stopping;
    atomic_int exit_code;
    atomic_int start_failed;
    char reason[512]; /* written once by the first shutdown caller (guarded by reason_lock) */
    pthread_mutex_t reason_lock;
    char start_err[512];
};

ed_runtime_t *ed_runtime_new(int workers, int hwm, char *errstr, size_t errstr_size) {
    if (workers < 1 || hwm < 1) {
        ed_seterr(errstr, errstr_size, ED_EINVAL, "runtime needs workers ≥ 1 and mailbox_hwm ≥ 1");
        return NULL;
    }
    ed_runtime_t *rt = ed_calloc(1, sizeof *rt);
    rt->zctx = zmq_ctx_new();
    if (!rt->zctx) {
        ed_seterr(errstr, errstr_size, ED_ERR, "cannot create ZeroMQ context: %s",
                  zmq_strerror(errno));
        free(rt);
        return NULL;
    }
    rt->nworkers = workers;
    rt->hwm = hwm;
    rt->workers = ed_calloc((size_t)workers, sizeof *rt->workers);
    for (int i = 0; i < workers; i++) {
        rt->workers[i].idx = i;
        rt->workers[i].rt = rt;
    }
    pthread_mutex_init(&rt->reason_lock, NULL);
    return rt;
}

ed_actor_t *ed_runtime_add(ed_runtime_t *rt, const ed_actor_type_t *type, const char *name,
                           void *state, int worker) {
    ed_actor_t *a = ed_calloc(1, sizeof *a);
    a->id = (uint32_t)rt->nactors;
    a->name = ed_strdup(name);
    a->type = type;
    a->state = state;
    a->rt = rt;
    a->fd = -1;
    a->wake_at_ms = INT64_MAX;
    if (worker < 0)
        worker = rt->next_worker++ % rt->nworkers;
    a->worker = worker % rt->nworkers;
    rt->actors = ed_realloc(rt->actors, sizeof *rt->actors * (size_t)(rt->nactors + 1));
    rt->actors[rt->nactors++] = a;
    ed_worker_t *w = &rt->workers[a->worker];
    w->actors = ed_realloc(w->actors, sizeof *w->actors * (size_t)(w->nactors + 1));
    w->actors[w->nactors++] = a;
    return a;
}

uint32_t ed_actor_id(const ed_actor_t *a) { return a->id; }
const char *ed_actor_name(const ed_actor_t *a) { return a->name; }
void *ed_actor_state(const ed_actor_t *a) { return a->state; }
ed_runtime_t *ed_actor_runtime(const ed_actor_t *a) { return a->rt; }
int ed_actor_worker(const ed_actor_t *a) { return a->worker; }
int ed_actor_blocked(const ed_actor_t *a) { return a->rt && a->out_head != NULL; }
int ed_runtime_stopping(ed_runtime_t *rt) { return atomic_load(&rt->stopping); }
int ed_runtime_workers(const ed_runtime_t *rt) { return rt->nworkers; }

void ed_actor_wake_at(ed_actor_t *a, int64_t at_ms) {
    if (at_ms < a->wake_at_ms)
        a->wake_at_ms = at_ms;
}
void ed_actor_wake_now(ed_actor_t *a) { a->busy = 1; }
void ed_actor_watch_fd(ed_actor_t *a, int fd) { a->fd = fd; }

void ed_actor_shutdown(ed_actor_t *a, int exit_code, const char *reason) {
    if (a->rt)
        ed_runtime_shutdown(a->rt, exit_code, reason);
    else if (a->shutdown_code < 0)
        a->shutdown_code = exit_code;
}

void ed_runtime_shutdown(ed_runtime_t *rt, int exit_code, const char *reason) {
    pthread_mutex_lock(&rt->reason_lock);
    if (!atomic_load(&rt->stopping)) {
        atomic_store(&rt->exit_code, exit_code);
        snprintf(rt->reason, sizeof rt->reason, "%s", reason ? reason : "");
        atomic_store(&rt->stopping, 1);
    }
    pthread_mutex_unlock(&rt->reason_lock);
}

/* Tries to hand one message to the destination worker's mailbox. */
static int s_push(ed_actor_t *a, ed_msg_t *m) {
    ed_worker_t *w = &a->rt->workers[a->worker];
    int dst = a->rt->actors[m->to]->worker;
    ED_TSAN_RELEASE(m); /* the receiver reads what was written into m */
    if (zmq_send(w->push[dst], &m, sizeof m, ZMQ_DONTWAIT) == (int)sizeof m)
        return 0;
    return -1; /* EAGAIN: HWM reached (or interrupted); stays in the outbox */
}

static void s_append(ed_msg_t **head, ed_msg_t **tail, ed_msg_t *m) {
    m->next = NULL;
    if (*tail)
        (*tail)->next = m;
    else
        *head = m;
    *tail = m;
}

void ed_actor_send(ed_actor_t *a, uint32_t to, ed_msg_t **msg_p) {
    ed_msg_t *m = *msg_p;
    *msg_p = NULL;
    m->from = a->id;
    m->to = to;
    m->next = NULL;
    ed_stat_add(&a->msgs_out, 1);
    ed_stat_add(&a->records_out, m->batch ? m->batch->count : 0);
    if (!a->rt) { /* detached: the capture list is the outbox */
        s_append(&a->out_head, &a->out_tail, m);
        return;
    }
    assert(to < (uint32_t)a->rt->nactors);
    ed_stat_add_shared(&a->rt->actors[to]->mailbox, 1);
    /* Keep FIFO order: once something waits in the outbox, queue behind it. */
    if (!a->out_head && s_push(a, m) == 0)
        return;
    if (!a->out_head)
        ed_stat_set_i64(&a->blocked_since_ms, ed_now_ms());
    s_append(&a->out_head, &a->out_tail, m);
}

/* Moves as much of the outbox as the mailboxes accept. */
static void s_flush_outbox(ed_actor_t *a) {
    while (a->out_head) {
        ed_msg_t *m = a->out_head;
        ed_msg_t *next = m->next; /* once pushed, m belongs to the receiver's thread */
        if (s_push(a, m) != 0)
            return;
        a->out_head = next;
        if (!a->out_head) {
            a->out_tail = NULL;
            int64_t since = a->blocked_since_ms, now = ed_now_ms();
            ed_stat_add(&a->blocked_ms, (uint64_t)(now > since ? now - since : 0));
            ed_stat_set_i64(&a->blocked_since_ms, 0);
        }
    }
}

static void s_free_list(ed_msg_t **head, ed_msg_t **tail) {
    while (*head) {
        ed_msg_t *m = *head;
        *head = m->next;
        ed_msg_destroy(&m);
    }
    *tail = NULL;
}

/* Supervision: records a failure and schedules a restart, or stops the
 * process when the actor keeps failing. */
static void s_fail(ed_actor_t *a, const char *what, const char *err) {
    int64_t now = ed_now_ms();
    if (a->type->stop && a->status == ED_ACTOR_RUNNING)
        a->type->stop(a);
    if (now - a->window_start_ms > ED_RESTART_WINDOW_MS) {
        a->window_start_ms = now;
        a->failures = 0;
    }
    a->failures++;
    ed_stat_add(&a->restarts, 1);
    a->status = ED_ACTOR_FAILED;
    if (a->failures > ED_ACTOR_MAX_RESTARTS) {
        char reason[512];
        snprintf(reason, sizeof reason,
                 "actor '%s' failed %d times within %d s (last: %s: %s); giving up", a->name,
                 a->failures, ED_RESTART_WINDOW_MS / 1000, what, err);
        ED_LOG_E(a->name, "%s", reason);
        ed_actor_shutdown(a, 1, reason);
        return;
    }
    int64_t backoff = ED_BACKOFF_MIN_MS << (a->failures - 1);
    if (backoff > ED_BACKOFF_MAX_MS)
        backoff = ED_BACKOFF_MAX_MS;
    a->restart_at_ms = now + backoff;
    ED_LOG_W(a->name, "%s failed: %s; restarting in %lld ms (failure %d of %d allowed)", what, err,
             (long long)backoff, a->failures, ED_ACTOR_MAX_RESTARTS);
}

static void s_deliver(ed_actor_t *a, ed_msg_t *m) {
    if (a->status != ED_ACTOR_RUNNING) {
        s_append(&a->in_head, &a->in_tail, m);
        return;
    }
    if (a->rt)
        __atomic_fetch_sub(&a->mailbox, 1, __ATOMIC_RELAXED);
    ed_stat_add(&a->msgs_in, 1);
    ed_stat_add(&a->records_in, m->batch ? m->batch->count : 0);
    int rc = a->type->on_message ? a->type->on_message(a, &m) : 0;
    ed_msg_destroy(&m);
    if (rc < 0)
        s_fail(a, "on_message", ed_err_name(rc));
}

static void s_init(ed_actor_t *a) {
    char err[512] = "";
    int rc = a->type->init ? a->type->init(a, err, sizeof err) : 0;
    if (rc < 0) {
        a->status = ED_ACTOR_RUNNING; /* so s_fail calls stop() to release what init acquired before failing */
        s_fail(a, "init", err[0] ? err : ed_err_name(rc));
        return;
    }
    a->status = ED_ACTOR_RUNNING;
    /* Deliver what arrived while it was down, in order. */
    while (a->in_head && a->status == ED_ACTOR_RUNNING) {
        ed_msg_t *m = a->in_head;
        a->in_head = m->next;
        if (!a->in_head)
            a->in_tail = NULL;
        s_deliver(a, m);
    }
}

static void s_worker_loop(ed_worker_t *w) {
    ed_runtime_t *rt = w->rt;
    /* At most one poll item per actor (its fd or its outbox) plus the mailbox. */
    zmq_pollitem_t *items = ed_calloc((size_t)w->nactors + 1, sizeof *items);
    int *item_actor = ed_calloc((size_t)w->nactors + 1, sizeof *item_actor);
    while (!atomic_load(&rt->stopping)) {
        int64_t now = ed_now_ms();
        int64_t timeout = ED_POLL_MAX_MS;
        int nitems = 1;
        items[0] = (zmq_pollitem_t){.socket = w->pull, .events = ZMQ_POLLIN};
        for (int i = 0; i < w->nactors; i++) {
            ed_actor_t *a = w->actors[i];
            if (a->out_head) {
                /* Wake as soon as the mailbox it waits on has room. */
                int dst = rt->actors[a->out_head->to]->worker;
                items[nitems] = (zmq_pollitem_t){.socket = w->push[dst], .events = ZMQ_POLLOUT};
                item_actor[nitems++] = -1;
                continue;
            }
            if (a->status == ED_ACTOR_FAILED) {
                int64_t t = a->restart_at_ms - now;
                if (t < timeout)
                    timeout = t < 0 ? 0 : t;
                continue;
            }
            if (a->busy)
                timeout = 0;
            else if (a->wake_at_ms != INT64_MAX) {
                int64_t t = a->wake_at_ms - now;
                if (t < timeout)
                    timeout = t < 0 ? 0 : t;
            }
            if (a->fd >= 0) {
                items[nitems] = (zmq_pollitem_t){.fd = a->fd, .events = ZMQ_POLLIN};
                item_actor[nitems++] = i;
            }
        }
        int rc = zmq_poll(items, nitems, (long)timeout);
        if (rc < 0 && errno != EINTR && errno != ETERM) {
            ED_LOG_E("runtime", "worker %d: zmq_poll failed: %s", w->idx, zmq_strerror(errno));
            ed_runtime_shutdown(rt, 1, "zmq_poll failed");
            break;
        }
        /* 1. Mailbox. */
        for (int n = 0; n < ED_RECV_BUDGET; n++) {
            ed_msg_t *m;
            if (zmq_recv(w->pull, &m, sizeof m, ZMQ_DONTWAIT) != (int)sizeof m)
                break;
            ED_TSAN_ACQUIRE(m);
            ed_actor_t *a = rt->actors[m->to];
            assert(a->worker == w->idx);
            s_deliver(a, m);
        }
        /* 2. fd readiness marks the owner for a tick. */
        for (int i = 1; i < nitems; i++)
            if (item_actor[i] >= 0 && (items[i].revents & ZMQ_POLLIN))
                w->actors[item_actor[i]]->busy = 1;
        /* 3. Outboxes, restarts, ticks. */
        now = ed_now_ms();
        for (int i = 0; i < w->nactors; i++) {
            ed_actor_t *a = w->actors[i];
            if (a->out_head)
                s_flush_outbox(a);
            if (a->status == ED_ACTOR_FAILED) {
                if (now >= a->restart_at_ms)
                    s_init(a);
                continue;
            }
            if (a->out_head)
                continue; /* backpressure: no new work until its messages move */
            if (a->busy || a->wake_at_ms <= now) {
                a->busy = 0;
                a->wake_at_ms = INT64_MAX;
                if (a->type->on_tick) {
                    int trc = a->type->on_tick(a, now);
                    if (trc < 0)
                        s_fail(a, "on_tick", ed_err_name(trc));
                }
            }
        }
    }
    free(items);
    free(item_actor);
}

static void *s_worker_main(void *arg) {
    ed_worker_t *w = arg;
    ed_runtime_t *rt = w->rt;
    char endpoint[128];
    w->pull = zmq_socket(rt->zctx, ZMQ_PULL);
    zmq_setsockopt(w->pull, ZMQ_RCVHWM, &rt->hwm, sizeof rt->hwm);
    snprintf(endpoint, sizeof endpoint, "inproc://eddy-%p-worker-%d", (void *)rt, w->idx);
    if (zmq_bind(w->pull, endpoint) != 0) {
        pthread_mutex_lock(&rt->reason_lock);
        snprintf(rt->start_err, sizeof rt->start_err, "cannot bind %s: %s", endpoint,
                 zmq_strerror(errno));
        pthread_mutex_unlock(&rt->reason_lock);
        atomic_store(&rt->start_failed, 1);
    }
    pthread_barrier_wait(&rt->barrier); /* every PULL is bound */
    w->push = ed_calloc((size_t)rt->nworkers, sizeof *w->push);
    int linger = 0;
    for (int j = 0; j < rt->nworkers; j++) {
        w->push[j] = zmq_socket(rt->zctx, ZMQ_PUSH);
        zmq_setsockopt(w->push[j], ZMQ_SNDHWM, &rt->hwm, sizeof rt->hwm);
        zmq_setsockopt(w->push[j], ZMQ_LINGER, &linger, sizeof linger);
        snprintf(endpoint, sizeof endpoint, "inproc://eddy-%p-worker-%d", (void *)rt, j);
        if (!atomic_load(&rt->start_failed))
            zmq_connect(w->push[j], endpoint);
    }
    pthread_barrier_wait(&rt->barrier); /* every PUSH is connected */
    if (!atomic_load(&rt->start_failed)) {
        for (int i = 0; i < w->nactors; i++)
            s_init(w->actors[i]);
        s_worker_loop(w);
    }
    /* Stop: actors release resources; undelivered messages are freed. */
    for (int i = 0; i < w->nactors; i++) {
        ed_actor_t *a = w->actors[i];
        if (a->status == ED_ACTOR_RUNNING && a->type->stop)
            a->type->stop(a);
        a->status = ED_ACTOR_NEW;
        s_free_list(&a->out_head, &a->out_tail);
        s_free_list(&a->in_head, &a->in_tail);
    }
    pthread_barrier_wait(&rt->barrier); /* nobody sends any more */
    ed_msg_t *m;
    while (zmq_recv(w->pull, &m, sizeof m, ZMQ_DONTWAIT) == (int)sizeof m) {
        ED_TSAN_ACQUIRE(m);
        ed_msg_destroy(&m);
    }
    for (int j = 0; j < rt->nworkers; j++)
        zmq_close(w->push[j]);
    free(w->push);
    zmq_setsockopt(w->pull, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(w->pull);
    return NULL;
}

int ed_runtime_start(ed_runtime_t *rt, char *errstr, size_t errstr_size) {
    pthread_barrier_init(&rt->barrier, NULL, (unsigned)rt->nworkers);
    rt->barrier_inited = 1;
    for (int i = 0; i < rt->nworkers; i++) {
        if (pthread_create(&rt->workers[i].thread, NULL, s_worker_main, &rt->workers[i]) != 0) {
            /* Threads already started wait at the barrier forever: fatal. */
            ED_LOG_E("runtime", "cannot start worker thread %d: %s", i, strerror(errno));
            abort();
        }
        rt->workers[i].started = 1;
    }
    return 0;
    (void)errstr;
    (void)errstr_size;
}

int ed_runtime_wait(ed_runtime_t *rt) {
    for (int i = 0; i < rt->nworkers; i++)
        if (rt->workers[i].started)
            pthread_join(rt->workers[i].thread, NULL);
    if (atomic_load(&rt->start_failed)) {
        ED_LOG_E("runtime", "%s", rt->start_err);
        return 1;
    }
    return atomic_load(&rt->exit_code);
}

void ed_runtime_destroy(ed_runtime_t **rt_p) {
    ed_runtime_t *rt = *rt_p;
    if (!rt)
        return;
    zmq_ctx_term(rt->zctx);
    for (int i = 0; i < rt->nactors; i++) {
        free(rt->actors[i]->name);
        free(rt->actors[i]);
    }
    for (int i = 0; i < rt->nworkers; i++)
        free(rt->workers[i].actors);
    free(rt->workers);
    free(rt->actors);
    if (rt->barrier_inited)
        pthread_barrier_destroy(&rt->barrier);
    pthread_mutex_destroy(&rt->reason_lock);
    free(rt);
    *rt_p = NULL;
}

/* ---- detached actors (test support) ---- */

ed_actor_t *ed_actor_new_detached(const ed_actor_type_t *type, const char *name, void *state,
                                  uint32_t id) {
    ed_actor_t *a = ed_calloc(1, sizeof *a);
    a->id = id;
    a->name = ed_strdup(name);
    a->type = type;
    a->state = state;
    a->fd = -1;
    a->wake_at_ms = INT64_MAX;
    a->shutdown_code = -1;
    return a;
}

void ed_actor_destroy_detached(ed_actor_t **a_p) {
    ed_actor_t *a = *a_p;
    if (!a)
        return;
    assert(!a->rt);
    if (a->status == ED_ACTOR_RUNNING && a->type->stop)
        a->type->stop(a);
    s_free_list(&a->out_head, &a->out_tail);
    s_free_list(&a->in_head, &a->in_tail);
    free(a->name);
    free(a);
    *a_p = NULL;
}

int ed_actor_step_init(ed_actor_t *a, char *errstr, size_t errstr_size) {
    int rc = a->type->init ? a->type->init(a, errstr, errstr_size) : 0;
    a->status = rc < 0 ? ED_ACTOR_FAILED : ED_ACTOR_RUNNING;
    return rc;
}

int ed_actor_step_message(ed_actor_t *a, ed_msg_t **msg_p) {
    ed_msg_t *m = *msg_p;
    *msg_p = NULL;
    m->to = a->id;
    m->next = NULL;
    int rc = a->type->on_message ? a->type->on_message(a, &m) : 0;
    ed_msg_destroy(&m);
    return rc;
}

int ed_actor_step_tick(ed_actor_t *a, int64_t now_ms) {
    a->busy = 0;
    a->wake_at_ms = INT64_MAX;
    return a->type->on_tick ? a->type->on_tick(a, now_ms) : 0;
}

ed_msg_t *ed_actor_take_sent(ed_actor_t *a) {
    ed_msg_t *m = a->out_head;
    if (m) {
        a->out_head = m->next;
        if (!a->out_head)
            a->out_tail = NULL;
        m->next = NULL;
    }
    return m;
}

int ed_actor_nsent(const ed_actor_t *a) {
    int n = 0;
    for (const ed_msg_t *m = a->out_head; m; m = m->next)
        n++;
    return n;
}

int64_t ed_actor_wake_time(const ed_actor_t *a) { return a->wake_at_ms; }
int ed_actor_wants_tick(const ed_actor_t *a) { return a->busy; }
int ed_actor_watched_fd(const ed_actor_t *a) { return a->fd; }

int ed_actor_shutdown_requested(const ed_actor_t *a, int *exit_code) {
    if (a->shutdown_code < 0)
        return 0;
    if (exit_code)
        *exit_code = a->shutdown_code;
    return 1;
}

int ed_runtime_nactors(const ed_runtime_t *rt) { return rt->nactors; }

const char *ed_runtime_actor_name(const ed_runtime_t *rt, uint32_t id) {
    return rt->actors[id]->name;
}

const char *ed_runtime_actor_type(const ed_runtime_t *rt, uint32_t id) {
    return rt->actors[id]->type->name;
}

void ed_runtime_actor_stats(const ed_runtime_t *rt, uint32_t id, int64_t now_ms,
                            ed_actor_stats_t *out) {
    const ed_actor_t *a = rt->actors[id];
    int64_t since = ed_stat_get_i64(&a->blocked_since_ms);
    out->msgs_in = ed_stat_get(&a->msgs_in);
    out->records_in = ed_stat_get(&a->records_in);
    out->msgs_out = ed_stat_get(&a->msgs_out);
    out->records_out = ed_stat_get(&a->records_out);
    uint64_t mb = ed_stat_get(&a->mailbox);
    out->mailbox = mb > (uint64_t)INT64_MAX ? 0 : mb; /* a delivery noted before its send */
    out->blocked = since != 0;
    out->blocked_ms = ed_stat_get(&a->blocked_ms) + (since && now_ms > since ? (uint64_t)(now_ms - since) : 0);
    out->restarts = ed_stat_get(&a->restarts);
    out->worker = a->worker;
}
