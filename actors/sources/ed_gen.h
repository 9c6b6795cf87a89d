/*
 * ed_gen.h — the tutorials' synthetic events (orders, reviews, views,
 * alerts input, tweets, users) as JSON lines, deterministic for a seed. `eddy gen` writes
 * them to a file or a Kafka topic (ed_gen_main); the generator source may
 * use the same model later. `nexmark` is the model of ed_gen_nexmark.h, the
 * same events as the `nexmark` source. Every field is documented in docs/gen.md.
 *
 * Event i (0-based) has the base event time start + ⌊i · 1000 / rate⌋ ms.
 * With `disorder` D its time is base − U[0, D] (uniform, whole ms), so
 * every event is at most D behind the highest event time before it: a
 * source with max_out_of_orderness ≥ D sees none of them late. With
 * `late_fraction` F, each event with probability F is moved `late_by`
 * further back ("arrives far behind"). Field values come from one random
 * stream and times from another (both splitmix64, seeded from the seed), so
 * --disorder and --late-fraction change the `ts` of events and nothing else.
 * Product and page popularity follow Zipf's law (s = 1): the item of
 * popularity rank r is drawn with probability ∝ 1/r.
 */
#ifndef ED_GEN_H
#define ED_GEN_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ED_GEN_ORDERS = 0, /* {order_id, ts, customer, product_id, category, amount, status} */
    ED_GEN_REVIEWS,    /* {review_id, ts, product_id, rating, text} */
    ED_GEN_VIEWS,      /* {ts, page, user, country, referrer} */
    ED_GEN_ALERTS,     /* orders with flash bursts and more failures (the alerts pattern) */
    ED_GEN_TWEETS,     /* {id, id_str, created_at, text, truncated, user{id, screen_name,
                          followers_count}, entities{hashtags[{text, indices}]}, lang} */
    ED_GEN_USER_RECORDS, /* {id, gender, name{title, first, last}, location{city, country, postcode},
                          email, login{username}, dob{date, age}, registered{date}, phone,
                          picture{large}}: the randomuser.me shape; 10 % update an earlier id */
    ED_GEN_NEXMARK,    /* persons, auctions and bids of the Nexmark benchmark (ed_gen_nexmark.h) */
} ed_gen_kind_t;

/* Sizes of the generated populations (documented in docs/gen.md). */
#define ED_GEN_PRODUCTS 1000
#define ED_GEN_CUSTOMERS 50000
#define ED_GEN_PAGES 200
#define ED_GEN_USERS 100000
#define ED_GEN_CATEGORIES 8
#define ED_GEN_TWEET_USERS 20000      /* tweet authors */
#define ED_GEN_TWEET_USER_ID0 1000000 /* user.id of author 0 */

typedef struct {
    ed_gen_kind_t kind;
    uint64_t count;       /* events to generate, ≥ 1 */
    double rate;          /* events per second of event time, > 0 (default 1000) */
    uint64_t seed;        /* default 1 */
    int64_t start_ms;     /* base time of event 0, ms since the epoch */
    int64_t disorder_ms;  /* D ≥ 0 */
    double late_fraction; /* F in [0, 1] */
    int64_t late_by_ms;   /* how far a late event is moved back, ≥ 0 (default 5 min) */
} ed_gen_opts_t;

/* One generated event; all borrowed from the generator until the next call. */
typedef struct {
    uint64_t index;   /* i, 0-based */
    int64_t ts_ms;    /* its `ts` field */
    int64_t base_ms;  /* its base time (before disorder and lateness) */
    int late;         /* 1 if moved back by late_by */
    const char *json; /* one JSON object, no newline */
    size_t len;
    const char *key;  /* the Kafka key: order_id, review_id or user */
    size_t key_len;
} ed_gen_event_t;

typedef struct ed_gen ed_gen_t;

/* Parses a kind name ("orders", "reviews", "views", "alerts", "tweets", "users",
 * "nexmark"). Returns 0
 * and *kind, or ED_EINVAL. */
int ed_gen_kind_parse(const char *name, ed_gen_kind_t *kind);

/* Creates a generator. Options are checked by the caller (asserts here).
 * Owned; free with ed_gen_destroy. Never NULL. */
ed_gen_t *ed_gen_new(const ed_gen_opts_t *opts);

/* Frees and NULLs *g_p. NULL-safe. */
void ed_gen_destroy(ed_gen_t **g_p);

/* Produces the next event into *ev. Returns 1, or 0 after `count` events. */
int ed_gen_next(ed_gen_t *g, ed_gen_event_t *ev);

/* `eddy gen …`: argv[0] is "gen". Parses the options, generates, writes a
 * file (or stdout) or produces to Kafka, prints a summary on stderr.
 * Returns the exit code: 0 ok, 1 write or delivery failure (named on
 * stderr), 64 usage error. */
int ed_gen_main(int argc, char **argv);

#endif
