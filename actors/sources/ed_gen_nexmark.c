/* ed_gen_nexmark.c — the Nexmark event model; see ed_gen_nexmark.h and docs/gen.md.
 *
 * Speed matters here: the `nexmark` source must not be what a benchmark
 * measures. So no printf: numbers are written by hand, strings are drawn
 * four characters per random number, and a bid's channel URL is a pure
 * function of (seed, channel) computed when needed rather than a table
 * (10,000 URLs would be a megabyte of cache misses).
 */
#include "actors/sources/ed_gen_nexmark.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ed_common.h"

#include "actors/sources/ed_gen_impl.h"

/* Proportions of the event types among every 50 event numbers. */
#define S_PERSON_P 1
#define S_AUCTION_P 3
#define S_TOTAL_P 50
#define S_FIRST_ID 1000       /* first person id and first auction id */
#define S_FIRST_CATEGORY 10
#define S_CATEGORIES 5
#define S_ACTIVE_PEOPLE 1000  /* people a new auction or bid may name */
#define S_INFLIGHT_AUCTIONS 100
#define S_ID_LEAD 10          /* ids may run this far ahead of the newest */
#define S_HOT_BATCH 100       /* hot ids: the first (seller) or second (bidder) of each 100 */
#define S_HOT_AUCTION_RATIO 2 /* 1 − 1/2 of bids go to the hot auction */
#define S_HOT_SELLER_RATIO 4  /* 1 − 1/4 of auctions from a hot seller */
#define S_HOT_BIDDER_RATIO 4  /* 1 − 1/4 of bids from a hot bidder */
#define S_CHANNELS 10000

struct ed_nexmark {
    ed_nexmark_opts_t o;
    uint64_t seed_mix; /* the seed mixed once, xored into every event's stream */
    char letter[256];  /* a random byte → a letter, or 0 for a separator (20 of 256, ~1 in 13) */
};

static const char *const s_first[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                      "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
static const char *const s_last[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                     "Walton", "Smith",  "Jones",   "Noris"};
static const char *const s_cities[] = {"Phoenix", "Los Angeles", "San Francisco", "Boise",
                                       "Portland", "Bend", "Redmond", "Seattle", "Kent",
                                       "Cheyenne"};
static const char *const s_states[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
static const char *const s_hot_channels[] = {"Google", "Facebook", "Baidu", "Apple"};

ed_nexmark_t *ed_nexmark_new(const ed_nexmark_opts_t *opts) {
    assert(opts->rate > 0);
    ed_nexmark_t *nx = ed_calloc(1, sizeof *nx);
    nx->o = *opts;
    nx->seed_mix = ed_gen_rng_mix(opts->seed ^ 0x6e65786d61726bULL); /* "nexmark" */
    for (int b = 0; b < 256; b++)
        nx->letter[b] = b < 236 ? (char)('a' + b % 26) : 0;
    return nx;
}

void ed_nexmark_destroy(ed_nexmark_t **nx_p) {
    if (!nx_p || !*nx_p)
        return;
    free(*nx_p);
    *nx_p = NULL;
}

ed_nexmark_type_t ed_nexmark_type(uint64_t n) {
    uint64_t r = n % S_TOTAL_P;
    return r < S_PERSON_P ? ED_NEXMARK_PERSON
                          : r < S_PERSON_P + S_AUCTION_P ? ED_NEXMARK_AUCTION : ED_NEXMARK_BID;
}

int64_t ed_nexmark_time(const ed_nexmark_t *nx, uint64_t n) {
    return nx->o.start_ms + (int64_t)floor((double)n * 1000.0 / nx->o.rate);
}

/* The 0-based id of the newest person at or before event n. */
static int64_t s_last_person(uint64_t n) {
    int64_t epoch = (int64_t)(n / S_TOTAL_P), off = (int64_t)(n % S_TOTAL_P);
    if (off >= S_PERSON_P)
        off = S_PERSON_P - 1;
    return epoch * S_PERSON_P + off;
}

/* The 0-based id of the newest auction at or before event n (−1 before the first). */
static int64_t s_last_auction(uint64_t n) {
    int64_t epoch = (int64_t)(n / S_TOTAL_P), off = (int64_t)(n % S_TOTAL_P);
    if (off < S_PERSON_P) {
        epoch--;
        off = S_AUCTION_P - 1;
    } else if (off >= S_PERSON_P + S_AUCTION_P) {
        off = S_AUCTION_P - 1;
    } else {
        off -= S_PERSON_P;
    }
    return epoch * S_AUCTION_P + off;
}

/* One of the recent people (or up to S_ID_LEAD not yet seen), 0-based. */
static int64_t s_some_person(uint64_t n, uint64_t *r) {
    int64_t people = s_last_person(n) + 1;
    int64_t active = people < S_ACTIVE_PEOPLE ? people : S_ACTIVE_PEOPLE;
    return people - active + (int64_t)ed_gen_rng_below(r, (uint64_t)(active + S_ID_LEAD));
}

/* One of the auctions in flight (or up to S_ID_LEAD not yet seen), 0-based. */
static int64_t s_some_auction(uint64_t n, uint64_t *r) {
    int64_t max = s_last_auction(n), min = max - S_INFLIGHT_AUCTIONS;
    if (min < 0)
        min = 0;
    return min + (int64_t)ed_gen_rng_below(r, (uint64_t)(max - min + 1 + S_ID_LEAD));
}

/* A price in cents: round(10^(6u) · 100) (as e^(6u·ln 10), faster than pow), u uniform
 * in [0, 1): 1.00 to 1,000,000.00
 * dollars, log-uniform. */
static int64_t s_price(uint64_t *r) {
    return (int64_t)llround(exp(ed_gen_rng_unit(r) * (6.0 * 2.302585092994045684)) * 100.0);
}

/* ---- writing ---- */

#define S_LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) += sizeof(s) - 1)

static char *s_str(char *p, const char *s) {
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* Decimal digits two at a time from a table: the numbers of an event (ids,
 * prices, 13-digit times) were a third of the time with one division per
 * digit. */
static const char s_pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233"
                                 "34353637383940414243444546474849505152535455565758596061626364656667"
                                 "6869707172737475767778798081828384858687888990919293949596979899";

static char *s_i64(char *p, int64_t v) {
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0)
        *p++ = '-';
    /* digits without a loop: ⌊log10⌋ from the bit length, corrected once */
    static const uint64_t pow10[20] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL,
                                       1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
                                       10000000000ULL, 100000000000ULL, 1000000000000ULL,
                                       10000000000000ULL, 100000000000000ULL,
                                       1000000000000000ULL, 10000000000000000ULL,
                                       100000000000000000ULL, 1000000000000000000ULL,
                                       10000000000000000000ULL};
    int g = ((63 - __builtin_clzll(u | 1)) * 1233) >> 12;
    int n = g + 1 + (g < 19 && u >= pow10[g + 1]);
    char *e = p + n;
    while (u >= 100) {
        unsigned d = (unsigned)(u % 100) * 2;
        u /= 100;
        *--e = s_pairs[d + 1];
        *--e = s_pairs[d];
    }
    if (u >= 10) {
        *--e = s_pairs[u * 2 + 1];
        *--e = s_pairs[u * 2];
    } else {
        *--e = (char)('0' + u);
    }
    return p + n;
}

/* A random lowercase word of 3 to max − 1 characters (Nexmark's nextString),
 * with `sep` (a space, '_') for about 1 character in 13, never first or
 * last; sep 0 = letters only. Eight characters per random number, one
 * table look-up each, no branch on the random bits. */
static char *s_word(const ed_nexmark_t *nx, char *p, int max, char sep, uint64_t *r) {
    int len = 3 + (int)ed_gen_rng_below(r, (uint64_t)(max - 3));
    uint64_t bits = 0;
    for (int i = 0; i < len; i++) {
        if ((i & 7) == 0)
            bits = ed_gen_rng_next(r);
        unsigned b = (unsigned)(bits & 0xff);
        bits >>= 8;
        char c = nx->letter[b], alt = (char)('a' + (b & 15)); /* a letter where no separator may go */
        char sp = sep && i > 0 && i < len - 1 ? sep : alt;
        p[i] = c ? c : sp;
    }
    return p + len;
}

/* "https://www.nexmark.com/<w>/<w>/<w>/item.htm?query=1", the words drawn
 * from a stream fixed by (seed, which): the same URL every time. */
static char *s_url(char *p, const ed_nexmark_t *nx, uint64_t which) {
    uint64_t r = ed_gen_rng_mix(nx->seed_mix ^ (which * 0x9e3779b97f4a7c15ULL + 0x75726cULL));
    S_LIT(p, "https://www.nexmark.com/");
    p = s_word(nx, p, 5, '_', &r);
    *p++ = '/';
    p = s_word(nx, p, 5, '_', &r);
    *p++ = '/';
    p = s_word(nx, p, 5, '_', &r);
    S_LIT(p, "/item.htm?query=1");
    return p;
}

/* A channel's URL: its base URL and, for 9 channels in 10, "&channel_id=" and
 * the channel number with its 32 bits reversed. */
static char *s_channel_url(char *p, const ed_nexmark_t *nx, uint32_t ch) {
    p = s_url(p, nx, 16 + ch);
    if (ed_gen_rng_mix(nx->seed_mix + ch) % 10 != 0) {
        uint32_t rev = 0;
        for (int b = 0; b < 32; b++)
            rev |= ((ch >> b) & 1u) << (31 - b);
        S_LIT(p, "&channel_id=");
        p = s_i64(p, (int64_t)rev);
    }
    return p;
}

static char *s_person(char *p, const ed_nexmark_t *nx, uint64_t n, int64_t ts, uint64_t *r, int64_t *id) {
    *id = s_last_person(n) + S_FIRST_ID;
    S_LIT(p, "{\"event_type\":0,\"id\":");
    p = s_i64(p, *id);
    S_LIT(p, ",\"name\":\"");
    p = s_str(p, s_first[ed_gen_rng_below(r, ED_ARRAY_SIZE(s_first))]);
    *p++ = ' ';
    p = s_str(p, s_last[ed_gen_rng_below(r, ED_ARRAY_SIZE(s_last))]);
    S_LIT(p, "\",\"email\":\"");
    p = s_word(nx, p, 7, 0, r);
    *p++ = '@';
    p = s_word(nx, p, 5, 0, r);
    S_LIT(p, ".com\",\"credit_card\":\"");
    for (int g = 0; g < 4; g++) {
        unsigned v = (unsigned)ed_gen_rng_below(r, 10000);
        if (g)
            *p++ = ' ';
        p[0] = (char)('0' + v / 1000);
        p[1] = (char)('0' + v / 100 % 10);
        p[2] = (char)('0' + v / 10 % 10);
        p[3] = (char)('0' + v % 10);
        p += 4;
    }
    S_LIT(p, "\",\"city\":\"");
    p = s_str(p, s_cities[ed_gen_rng_below(r, ED_ARRAY_SIZE(s_cities))]);
    S_LIT(p, "\",\"state\":\"");
    p = s_str(p, s_states[ed_gen_rng_below(r, ED_ARRAY_SIZE(s_states))]);
    S_LIT(p, "\",\"date_time\":");
    return s_i64(p, ts);
}

static char *s_auction(char *p, const ed_nexmark_t *nx, uint64_t n, int64_t ts, uint64_t *r,
                       int64_t *id) {
    *id = s_last_auction(n) + S_FIRST_ID;
    int64_t seller = ed_gen_rng_below(r, S_HOT_SELLER_RATIO) > 0
                         ? s_last_person(n) / S_HOT_BATCH * S_HOT_BATCH
                         : s_some_person(n, r);
    int64_t initial = s_price(r), reserve = initial + s_price(r);
    /* It runs for 1 ms to twice the event time the next 100 auctions take
     * to arrive, so about 100 are in flight at any time. */
    uint64_t ahead = (uint64_t)S_INFLIGHT_AUCTIONS * S_TOTAL_P / S_AUCTION_P;
    int64_t horizon = ed_nexmark_time(nx, n + ahead) - ed_nexmark_time(nx, n);
    int64_t expires = ts + 1 + (int64_t)ed_gen_rng_below(r, (uint64_t)(horizon * 2 > 1 ? horizon * 2 : 1));
    S_LIT(p, "{\"event_type\":1,\"id\":");
    p = s_i64(p, *id);
    S_LIT(p, ",\"item_name\":\"");
    p = s_word(nx, p, 20, ' ', r);
    S_LIT(p, "\",\"description\":\"");
    p = s_word(nx, p, 100, ' ', r);
    S_LIT(p, "\",\"initial_bid\":");
    p = s_i64(p, initial);
    S_LIT(p, ",\"reserve\":");
    p = s_i64(p, reserve);
    S_LIT(p, ",\"date_time\":");
    p = s_i64(p, ts);
    S_LIT(p, ",\"expires\":");
    p = s_i64(p, expires);
    S_LIT(p, ",\"seller\":");
    p = s_i64(p, seller + S_FIRST_ID);
    S_LIT(p, ",\"category\":");
    return s_i64(p, S_FIRST_CATEGORY + (int64_t)ed_gen_rng_below(r, S_CATEGORIES));
}

static char *s_bid(char *p, const ed_nexmark_t *nx, uint64_t n, int64_t ts, uint64_t *r,
                   int64_t *id) {
    int64_t auction = ed_gen_rng_below(r, S_HOT_AUCTION_RATIO) > 0
                          ? s_last_auction(n) / S_HOT_BATCH * S_HOT_BATCH
                          : s_some_auction(n, r);
    int64_t bidder = ed_gen_rng_below(r, S_HOT_BIDDER_RATIO) > 0
                         ? s_last_person(n) / S_HOT_BATCH * S_HOT_BATCH + 1
                         : s_some_person(n, r);
    *id = auction + S_FIRST_ID;
    S_LIT(p, "{\"event_type\":2,\"auction\":");
    p = s_i64(p, *id);
    S_LIT(p, ",\"bidder\":");
    p = s_i64(p, bidder + S_FIRST_ID);
    S_LIT(p, ",\"price\":");
    p = s_i64(p, s_price(r));
    S_LIT(p, ",\"channel\":\"");
    if (ed_gen_rng_below(r, 2) > 0) { /* one of the 4 hot channels, each with one URL */
        int h = (int)ed_gen_rng_below(r, ED_ARRAY_SIZE(s_hot_channels));
        p = s_str(p, s_hot_channels[h]);
        S_LIT(p, "\",\"url\":\"");
        p = s_url(p, nx, (uint64_t)h);
    } else {
        uint32_t ch = (uint32_t)ed_gen_rng_below(r, S_CHANNELS);
        S_LIT(p, "channel-");
        p = s_i64(p, ch);
        S_LIT(p, "\",\"url\":\"");
        p = s_channel_url(p, nx, ch);
    }
    S_LIT(p, "\",\"date_time\":");
    return s_i64(p, ts);
}

size_t ed_nexmark_event(const ed_nexmark_t *nx, uint64_t n, int64_t ts_ms, char *out, int64_t *id) {
    uint64_t r = ed_gen_rng_mix(nx->seed_mix ^ n);
    char *p = out;
    switch (ed_nexmark_type(n)) {
    case ED_NEXMARK_PERSON: p = s_person(p, nx, n, ts_ms, &r, id); break;
    case ED_NEXMARK_AUCTION: p = s_auction(p, nx, n, ts_ms, &r, id); break;
    default: p = s_bid(p, nx, n, ts_ms, &r, id); break;
    }
    *p++ = '}';
    assert((size_t)(p - out) <= ED_NEXMARK_MAX_JSON);
    return (size_t)(p - out);
}
