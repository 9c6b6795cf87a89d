/*
 * ed_gen_nexmark.h — the Nexmark benchmark's events (persons, auctions, bids)
 * as flat JSON objects, one per event number, for the `nexmark` source
 * (ed_source_nexmark.c) and `eddy gen nexmark`. Fields and distributions:
 * docs/gen.md#nexmark.
 *
 * The model follows the Nexmark generator of Apache Beam and of
 * nexmark/nexmark (Flink) in its facts, not its code: of every 50 event
 * numbers 1 is a person, 3 are auctions and 46 are bids; ids are dense
 * from 1000; bids go to a hot auction with probability 1/2 and come from a
 * hot bidder with probability 3/4, auctions from a hot seller with
 * probability 3/4; prices are round(10^(6u) · 100) with u uniform in [0, 1).
 * Event n has the event time start + ⌊n · 1000 / rate⌋ ms.
 *
 * Determinism: each event draws from its own splitmix64 stream seeded by
 * (seed, n), so event n is the same whatever came before it: instances of
 * a source can each make every k-th event and together make the same
 * stream as one.
 *
 * Threads: an ed_nexmark_t is immutable after ed_nexmark_new and may be
 * shared; ed_nexmark_event writes only into the caller's buffer.
 */
#ifndef ED_GEN_NEXMARK_H
#define ED_GEN_NEXMARK_H

#include <stddef.h>
#include <stdint.h>

/* The longest event ed_nexmark_event writes, in bytes (an auction with a
 * 100-character description), with room to spare. */
#define ED_NEXMARK_MAX_JSON 512

/* The event types, as the `event_type` field (Flink's Nexmark numbering). */
typedef enum { ED_NEXMARK_PERSON = 0, ED_NEXMARK_AUCTION = 1, ED_NEXMARK_BID = 2 } ed_nexmark_type_t;

typedef struct {
    uint64_t seed;    /* random seed */
    double rate;      /* events per second of event time, > 0 (default 10000, Beam's) */
    int64_t start_ms; /* event time of event 0, ms since the epoch */
} ed_nexmark_opts_t;

typedef struct ed_nexmark ed_nexmark_t;

/* Creates the model (copies opts; builds the channel URL table from the
 * seed). Owned; free with ed_nexmark_destroy. Never NULL; asserts rate > 0. */
ed_nexmark_t *ed_nexmark_new(const ed_nexmark_opts_t *opts);

/* Frees and NULLs *nx_p. NULL-safe. */
void ed_nexmark_destroy(ed_nexmark_t **nx_p);

/* The type of event number n (0-based): n mod 50 = 0 a person, 1..3 an
 * auction, else a bid. */
ed_nexmark_type_t ed_nexmark_type(uint64_t n);

/* Writes event number n as one JSON object (no newline, not NUL-terminated)
 * into out, which has at least ED_NEXMARK_MAX_JSON bytes, with `date_time`
 * = ts_ms (pass ed_nexmark_time(nx, n) for the model's own time). Returns
 * its length. *id gets the event's id (person and auction: `id`; bid: its
 * `auction`), the Kafka key of `eddy gen`. */
size_t ed_nexmark_event(const ed_nexmark_t *nx, uint64_t n, int64_t ts_ms, char *out, int64_t *id);

/* The event time of event n: start + ⌊n · 1000 / rate⌋ ms. */
int64_t ed_nexmark_time(const ed_nexmark_t *nx, uint64_t n);

#endif
