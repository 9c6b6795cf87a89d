/*
 * ed_actor.h — the actor runtime: a fixed pool of worker threads, each
 * running an event loop (zmq_poll + timers + fds) over the actors it owns.
 *
 * Mailboxes: each worker binds one ZeroMQ PULL socket
 * (inproc://eddy-<rt>-worker-<i>) and connects one PUSH socket to every
 * worker (itself included); a message is the 8-byte pointer of an ed_msg_t,
 * demultiplexed by the receiver's actor id. So the number of sockets is
 * workers², independent of the number of actors, and an actor is just a
 * struct: a process can hold very many.
 *
 * Backpressure: the sockets' high-water mark (runtime.mailbox_hwm messages on
 * each side). ed_actor_send never blocks a worker: when the peer mailbox is
 * full the message waits in the sender's outbox (FIFO), and an actor with a
 * non-empty outbox is not ticked — a source stops reading until its messages
 * move. Messages are still delivered to it (so barriers progress).
 *
 * Supervision (one-for-one): a callback returning < 0 marks the actor failed;
 * the runtime calls stop(), waits a backoff (100 ms doubling to 5 s), and calls
 * init() again on the same state object, delivering messages that arrived
 * meanwhile afterwards. More than ED_ACTOR_MAX_RESTARTS failures within 60 s
 * stop the process with a message naming the actor and a non-zero exit.
 *
 * Threads: an actor's callbacks always run on its worker thread. Nothing in
 * an actor may be touched from another thread.
 */
#ifndef ED_ACTOR_H
#define ED_ACTOR_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/ed_common.h"
#include "runtime/ed_msg.h"

#define ED_ACTOR_MAX_RESTARTS 5

typedef struct ed_runtime ed_runtime_t;
typedef struct ed_actor ed_actor_t;

typedef struct ed_actor_type {
    const char *name; /* "source", "aggregator", "sink", "coordinator" */
    /* Acquires resources; called on the worker thread before any message, and
     * again after a failure. Returns 0 or < 0 with errstr (then supervised). */
    int (*init)(ed_actor_t *a, char *errstr, size_t errstr_size);
    /* Handles one message. Takes ownership by setting *msg_p = NULL; otherwise
     * the runtime frees it after the call. Returns 0 or < 0 (failure). */
    int (*on_message)(ed_actor_t *a, ed_msg_t **msg_p);
    /* Called when its timer (ed_actor_wake_at) is due, its fd is readable, or
     * it asked to run again (ed_actor_wake_now). Returns 0 or < 0 (failure). */
    int (*on_tick)(ed_actor_t *a, int64_t now_ms);
    /* Releases what init acquired; the state object itself stays. May be NULL. */
    void (*stop)(ed_actor_t *a);
} ed_actor_type_t;

/* Creates a runtime with `workers` threads (≥ 1) and mailboxes of `hwm`
 * messages. Returns an owned runtime or NULL with errstr. */
ed_runtime_t *ed_runtime_new(int workers, int hwm, char *errstr, size_t errstr_size);

/* Adds an actor before ed_runtime_start. `state` is borrowed (the caller frees
 * it after ed_runtime_destroy); `name` is copied. worker < 0 places actors
 * round-robin. Returns the actor (owned by the runtime). */
ed_actor_t *ed_runtime_add(ed_runtime_t *rt, const ed_actor_type_t *type, const char *name,
                           void *state, int worker);

/* Starts the workers: binds and connects mailboxes, calls init() of every
 * actor on its worker. Returns 0 or ED_ERR with errstr (e.g. zmq failure). */
int ed_runtime_start(ed_runtime_t *rt, char *errstr, size_t errstr_size);

/* Blocks until ed_runtime_shutdown has been called and every worker has
 * stopped its actors; returns the exit code given to shutdown. */
int ed_runtime_wait(ed_runtime_t *rt);

/* Asks the workers to stop (stop() on every actor, undelivered messages
 * freed). Thread-safe; the first call's exit code and reason win. */
void ed_runtime_shutdown(ed_runtime_t *rt, int exit_code, const char *reason);

/* Frees the runtime and NULLs *rt_p; call after ed_runtime_wait. */
void ed_runtime_destroy(ed_runtime_t **rt_p);

/* 1 once shutdown has been requested. Thread-safe. */
int ed_runtime_stopping(ed_runtime_t *rt);

/* Number of workers. */
int ed_runtime_workers(const ed_runtime_t *rt);

/* Sends *msg_p to actor `to` and NULLs *msg_p (ownership moves). Never blocks
 * and never fails: if the mailbox is full the message waits in this actor's
 * outbox, in order. Must be called from `a`'s worker thread. */
void ed_actor_send(ed_actor_t *a, uint32_t to, ed_msg_t **msg_p);

/* 1 if this actor's outbox holds messages waiting for room (backpressure). */
int ed_actor_blocked(const ed_actor_t *a);

/* Ensures on_tick runs no later than at_ms (monotonic ms); earlier wakes stay. */
void ed_actor_wake_at(ed_actor_t *a, int64_t at_ms);

/* Asks for on_tick again as soon as possible (the actor has more work). */
void ed_actor_wake_now(ed_actor_t *a);

/* Watches fd for readability (one fd per actor; -1 removes it). */
void ed_actor_watch_fd(ed_actor_t *a, int fd);

/* Asks the actor's runtime to stop with `exit_code` (as ed_runtime_shutdown);
 * a detached actor records the request instead. */
void ed_actor_shutdown(ed_actor_t *a, int exit_code, const char *reason);

uint32_t ed_actor_id(const ed_actor_t *a);
const char *ed_actor_name(const ed_actor_t *a);
void *ed_actor_state(const ed_actor_t *a);
ed_runtime_t *ed_actor_runtime(const ed_actor_t *a); /* NULL for a detached actor */
int ed_actor_worker(const ed_actor_t *a);

/* ---- live figures, read from any thread (the HTTP endpoint) ---- */

/* What the runtime counts per actor (runtime/ed_stat.h: relaxed atomics). */
typedef struct {
    uint64_t msgs_in;     /* messages handled by on_message */
    uint64_t records_in;  /* entries of the batches of those messages */
    uint64_t msgs_out;    /* messages sent (ed_actor_send) */
    uint64_t records_out; /* entries of the batches of those messages */
    uint64_t mailbox;     /* messages sent to it and not handled yet (in ZeroMQ queues or
                             in senders' outboxes): its mailbox depth */
    uint64_t blocked_ms;  /* ms its outbox waited for mailbox room (backpressure), the
                             current wait included */
    int blocked;          /* 1 if it is blocked now */
    uint64_t restarts;    /* failures its supervisor restarted it after */
    int worker;           /* worker thread it runs on */
} ed_actor_stats_t;

/* Number of actors (ids 0 .. n-1). Immutable after ed_runtime_start. */
int ed_runtime_nactors(const ed_runtime_t *rt);

/* Name and type name ("sink") of actor id (borrowed, immutable). */
const char *ed_runtime_actor_name(const ed_runtime_t *rt, uint32_t id);
const char *ed_runtime_actor_type(const ed_runtime_t *rt, uint32_t id);

/* Fills *out with actor id's figures as of now_ms (ed_now_ms(), for the
 * current blocked time). Thread-safe: any thread, any time after the
 * actors were added and before ed_runtime_destroy. */
void ed_runtime_actor_stats(const ed_runtime_t *rt, uint32_t id, int64_t now_ms,
                            ed_actor_stats_t *out);

/* ---- test support: a detached actor, driven step by step ----
 *
 * A detached actor belongs to no runtime and no thread: a test calls its
 * type's callbacks through ed_actor_step_* with a fake clock
 * (runtime/ed_clock.h). What it sends is kept in order in a capture list
 * (ed_actor_take_sent) instead of a mailbox; its timers and wake requests
 * are recorded (ed_actor_wake_time, ed_actor_wants_tick). */

/* Creates a detached actor of `type` with id `id` (the id its messages
 * carry as `from`) over `state` (borrowed); `name` is copied. */
ed_actor_t *ed_actor_new_detached(const ed_actor_type_t *type, const char *name, void *state,
                                  uint32_t id);

/* Calls stop() if init succeeded, frees the actor and every message still
 * captured; NULLs *a_p. NULL-safe. Detached actors only. */
void ed_actor_destroy_detached(ed_actor_t **a_p);

/* Calls init() (no-op without one). Returns its result. */
int ed_actor_step_init(ed_actor_t *a, char *errstr, size_t errstr_size);

/* Delivers *msg_p (taken, NULLed) to on_message with `to` set to the
 * actor's id; frees it afterwards unless the handler kept it. Returns the
 * handler's result. */
int ed_actor_step_message(ed_actor_t *a, ed_msg_t **msg_p);

/* Clears the recorded timer and wake request, then calls on_tick(now_ms),
 * as a worker does when either is due. Returns its result (0 without one). */
int ed_actor_step_tick(ed_actor_t *a, int64_t now_ms);

/* The oldest message the actor sent and nobody took yet (owned by the
 * caller), or NULL. */
ed_msg_t *ed_actor_take_sent(ed_actor_t *a);

/* Messages captured and not yet taken. */
int ed_actor_nsent(const ed_actor_t *a);

/* Earliest time (ms) the actor asked to be ticked at (ed_actor_wake_at),
 * INT64_MAX if none. Cleared by ed_actor_step_tick. */
int64_t ed_actor_wake_time(const ed_actor_t *a);

/* 1 if the actor asked to be ticked as soon as possible (ed_actor_wake_now). */
int ed_actor_wants_tick(const ed_actor_t *a);

/* The fd it watches, or -1. */
int ed_actor_watched_fd(const ed_actor_t *a);

/* 1 and *exit_code if a detached actor asked for shutdown, else 0. */
int ed_actor_shutdown_requested(const ed_actor_t *a, int *exit_code);

#endif
