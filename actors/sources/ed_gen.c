/* ed_gen.c — the event model of `eddy gen`; see ed_gen.h and docs/gen.md. */
#include "actors/sources/ed_gen.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/ed_common.h"

#include "actors/sources/ed_gen_impl.h"

/* Cumulative Zipf(s = 1) weights over ranks 1..n, normalised to 1. */
static double *s_zipf_cdf(int n) {
    double *c = ed_malloc(sizeof *c * (size_t)n), sum = 0;
    for (int r = 0; r < n; r++)
        c[r] = (sum += 1.0 / (double)(r + 1));
    for (int r = 0; r < n; r++)
        c[r] /= sum;
    c[n - 1] = 1.0;
    return c;
}

/* A popularity rank in [0, n) (0 = most popular). */
static int s_zipf(const double *cdf, int n, uint64_t *state) {
    double u = ed_gen_rng_unit(state);
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Product id (1..ED_GEN_PRODUCTS) of a popularity rank: 389 is prime to
 * 1000, so this is a permutation and ids do not reveal popularity. */
static int s_product_id(int rank) {
    return 1 + (int)(((uint64_t)rank * 389 + 17) % ED_GEN_PRODUCTS);
}

static const char *const s_categories[ED_GEN_CATEGORIES] = {
    "electronics", "books", "clothing", "home", "toys", "sports", "beauty", "grocery"};

static const char *s_category(int product_id) {
    return s_categories[(ed_gen_rng_mix((uint64_t)product_id) >> 7) % ED_GEN_CATEGORIES];
}

/* Unit price in cents: 4.99 to 500.00, fixed per product. */
static int64_t s_price_cents(int product_id) {
    return 499 + (int64_t)(ed_gen_rng_mix((uint64_t)product_id * 31 + 7) % 49502);
}

int ed_gen_kind_parse(const char *name, ed_gen_kind_t *kind) {
    static const char *const names[] = {"orders", "reviews", "views", "alerts",
                                        "tweets", "users",   "nexmark"};
    for (int i = 0; i < (int)ED_ARRAY_SIZE(names); i++)
        if (!strcmp(name, names[i])) {
            *kind = (ed_gen_kind_t)i;
            return 0;
        }
    return ED_EINVAL;
}

ed_gen_t *ed_gen_new(const ed_gen_opts_t *opts) {
    assert(opts->count >= 1 && opts->rate > 0 && opts->disorder_ms >= 0 &&
           opts->late_fraction >= 0 && opts->late_fraction <= 1 && opts->late_by_ms >= 0);
    ed_gen_t *g = ed_calloc(1, sizeof *g);
    g->o = *opts;
    g->vrng = opts->seed;
    g->trng = opts->seed ^ 0x7465696d65ULL; /* "time": an independent stream */
    g->zprod = s_zipf_cdf(ED_GEN_PRODUCTS);
    g->zpage = s_zipf_cdf(ED_GEN_PAGES);
    if (opts->kind == ED_GEN_NEXMARK) {
        ed_nexmark_opts_t no = {.seed = opts->seed, .rate = opts->rate, .start_ms = opts->start_ms};
        g->nx = ed_nexmark_new(&no);
    }
    return g;
}

void ed_gen_destroy(ed_gen_t **g_p) {
    if (!g_p || !*g_p)
        return;
    free((*g_p)->zprod);
    free((*g_p)->zpage);
    ed_nexmark_destroy(&(*g_p)->nx);
    free(*g_p);
    *g_p = NULL;
}

/* orders and alerts: the same record; alerts add flash bursts and fail more. */
static size_t s_order(ed_gen_t *g, uint64_t i, int64_t ts, int64_t base) {
    uint64_t *r = &g->vrng;
    int rank = s_zipf(g->zprod, ED_GEN_PRODUCTS, r);
    uint64_t customer = ed_gen_rng_below(r, ED_GEN_CUSTOMERS);
    static const int qty_w[] = {60, 25, 10, 5};
    int qty = 1 + ed_gen_weighted(qty_w, 4, r);
    static const char *const statuses[] = {"completed", "pending", "cancelled", "failed"};
    static const int status_w[] = {80, 8, 7, 5}, status_alert_w[] = {75, 8, 7, 10};
    int status = ed_gen_weighted(g->o.kind == ED_GEN_ALERTS ? status_alert_w : status_w, 4, r);
    double burst_u = ed_gen_rng_unit(r); /* drawn for every order, so the stream stays aligned */
    if (g->o.kind == ED_GEN_ALERTS) {
        /* Each minute of base time from the start, during its seconds
         * [20, 30), 30 % of the orders go to one product of the cold tail
         * (popularity ranks 101..1000), chosen per minute. */
        int64_t rel = base - g->o.start_ms;
        int64_t minute = rel >= 0 ? rel / 60000 : -1 - (-rel - 1) / 60000;
        int64_t in_min = rel - minute * 60000;
        if (in_min >= 20000 && in_min < 30000 && burst_u < 0.3)
            rank = 100 + (int)(ed_gen_rng_mix(g->o.seed ^ (uint64_t)minute) % (ED_GEN_PRODUCTS - 100));
    }
    int pid = s_product_id(rank);
    int64_t cents = s_price_cents(pid) * qty;
    snprintf(g->key, sizeof g->key, "%llu", (unsigned long long)(i + 1));
    return (size_t)snprintf(g->json, sizeof g->json,
                            "{\"order_id\":%llu,\"ts\":%lld,\"customer\":\"c%llu\",\"product_id\":%d,"
                            "\"category\":\"%s\",\"amount\":%lld.%02lld,\"status\":\"%s\"}",
                            (unsigned long long)(i + 1), (long long)ts,
                            (unsigned long long)customer, pid, s_category(pid),
                            (long long)(cents / 100), (long long)(cents % 100), statuses[status]);
}

static size_t s_review(ed_gen_t *g, uint64_t i, int64_t ts) {
    uint64_t *r = &g->vrng;
    int pid = s_product_id(s_zipf(g->zprod, ED_GEN_PRODUCTS, r));
    static const int rating_w[] = {15, 8, 12, 25, 40}; /* 1..5 stars */
    int rating = 1 + ed_gen_weighted(rating_w, 5, r);
    static const char *const open[3][5] = {
        {"Terrible", "Disappointing", "Poor", "Awful", "Not worth it:"},
        {"Okay", "Average", "Decent", "Not bad,", "Fine"},
        {"Great", "Excellent", "Love this", "Really good", "Fantastic"}};
    static const char *const middle[5] = {"product", "quality", "value for money", "build",
                                          "purchase"};
    static const char *const end[3][4] = {
        {"broke after a week", "would not recommend", "arrived damaged", "stopped working"},
        {"does the job", "as expected", "nothing special", "could be better"},
        {"would buy again", "highly recommended", "works perfectly", "arrived quickly"}};
    int mood = rating <= 2 ? 0 : rating == 3 ? 1 : 2;
    int a = (int)ed_gen_rng_below(r, 5), b = (int)ed_gen_rng_below(r, 5), c = (int)ed_gen_rng_below(r, 4);
    snprintf(g->key, sizeof g->key, "%llu", (unsigned long long)(i + 1));
    return (size_t)snprintf(g->json, sizeof g->json,
                            "{\"review_id\":%llu,\"ts\":%lld,\"product_id\":%d,\"rating\":%d,"
                            "\"text\":\"%s %s, %s\"}",
                            (unsigned long long)(i + 1), (long long)ts, pid, rating,
                            open[mood][a], middle[b], end[mood][c]);
}

static size_t s_view(ed_gen_t *g, int64_t ts) {
    uint64_t *r = &g->vrng;
    static const char *const named[10] = {"/",      "/search", "/cart", "/checkout", "/login",
                                          "/deals", "/help",   "/about", "/blog",    "/account"};
    int rank = s_zipf(g->zpage, ED_GEN_PAGES, r);
    char page[32];
    if (rank < 10)
        snprintf(page, sizeof page, "%s", named[rank]);
    else
        snprintf(page, sizeof page, "/products/%d", s_product_id(rank - 10));
    uint64_t user = ed_gen_rng_below(r, ED_GEN_USERS);
    static const char *const countries[] = {"US", "IN", "DE", "GB", "BR", "FR", "JP",
                                            "CA", "ES", "AU", "MX", "NL", "SE"};
    static const int country_w[] = {30, 12, 8, 8, 7, 6, 6, 5, 4, 4, 4, 3, 3};
    static const char *const referrers[] = {"google.com",   "direct",     "facebook.com",
                                            "twitter.com",  "bing.com",   "newsletter",
                                            "reddit.com",   "linkedin.com", "duckduckgo.com"};
    static const int referrer_w[] = {35, 25, 10, 6, 6, 5, 5, 4, 4};
    int country = ed_gen_weighted(country_w, 13, r);
    int ref = ed_gen_weighted(referrer_w, 9, r);
    snprintf(g->key, sizeof g->key, "u%llu", (unsigned long long)user);
    return (size_t)snprintf(g->json, sizeof g->json,
                            "{\"ts\":%lld,\"page\":\"%s\",\"user\":\"u%llu\",\"country\":\"%s\","
                            "\"referrer\":\"%s\"}",
                            (long long)ts, page, (unsigned long long)user, countries[country],
                            referrers[ref]);
}

int ed_gen_next(ed_gen_t *g, ed_gen_event_t *ev) {
    if (g->next >= g->o.count)
        return 0;
    uint64_t i = g->next++;
    int64_t base = g->o.start_ms + (int64_t)floor((double)i * 1000.0 / g->o.rate);
    /* the time stream draws exactly two numbers per event whatever the
     * options, so one option never shifts another's choices */
    uint64_t d = ed_gen_rng_next(&g->trng), l = ed_gen_rng_next(&g->trng);
    int64_t ts = base;
    if (g->o.disorder_ms > 0)
        ts -= (int64_t)(((unsigned __int128)d * (uint64_t)(g->o.disorder_ms + 1)) >> 64);
    int late = g->o.late_fraction > 0 && (double)(l >> 11) * 0x1.0p-53 < g->o.late_fraction;
    if (late)
        ts -= g->o.late_by_ms;
    size_t len = 0;
    switch (g->o.kind) {
    case ED_GEN_ORDERS:
    case ED_GEN_ALERTS: len = s_order(g, i, ts, base); break;
    case ED_GEN_REVIEWS: len = s_review(g, i, ts); break;
    case ED_GEN_VIEWS: len = s_view(g, ts); break;
    case ED_GEN_TWEETS: len = ed_gen_tweet(g, i, ts, base); break;
    case ED_GEN_USER_RECORDS: len = ed_gen_user(g, i, ts); break;
    case ED_GEN_NEXMARK: {
        int64_t id;
        len = ed_nexmark_event(g->nx, i, ts, g->json, &id);
        snprintf(g->key, sizeof g->key, "%lld", (long long)id);
        break;
    }
    }
    assert(len < sizeof g->json);
    ev->index = i;
    ev->ts_ms = ts;
    ev->base_ms = base;
    ev->late = late;
    ev->json = g->json;
    ev->len = len;
    ev->key = g->key;
    ev->key_len = strlen(g->key);
    return 1;
}
