/* ed_gen_records.c — the record-shaped events of `eddy gen`: tweets (the
 * data-lake tutorial) and users (the Kafka → Cassandra tutorial, the
 * randomuser.me shape). Fields are documented in docs/gen.md. */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "actors/sources/ed_gen_impl.h"

void ed_gen_iso8601(char *out, size_t cap, int64_t ms) {
    int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    struct tm tm;
    time_t tt = (time_t)sec;
    gmtime_r(&tt, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - sec * 1000));
}

/* ---- tweets (the data-lake tutorial); docs/gen.md says what each field holds ---- */

/* Twitter's snowflake epoch (2010-11-04T01:42:54.657Z), ms since the Unix epoch. */
#define S_TWITTER_EPOCH_MS 1288834974657LL

/* Appends the code points of NUL-terminated UTF-8 s to *cps; returns s's byte length. */
static size_t s_cps(const char *s, int *cps) {
    size_t n = 0;
    for (; s[n]; n++)
        *cps += ((unsigned char)s[n] & 0xC0) != 0x80;
    return n;
}

/* Appends the NUL-terminated UTF-8 s to the JSON string being built at
 * out+*len, escaped: quote, backslash, newline; U+00E9 as \u00e9 (so the
 * output exercises \u escapes). */
static void s_json_text(char *out, size_t *len, size_t cap, const char *s) {
    for (; *s; s++) {
        const char *esc = NULL;
        if (*s == '"')
            esc = "\\\"";
        else if (*s == '\\')
            esc = "\\\\";
        else if (*s == '\n')
            esc = "\\n";
        else if ((unsigned char)s[0] == 0xC3 && (unsigned char)s[1] == 0xA9) {
            esc = "\\u00e9";
            s++;
        }
        size_t n = esc ? strlen(esc) : 1;
        assert(*len + n < cap);
        memcpy(out + *len, esc ? esc : s, n);
        *len += n;
    }
}

size_t ed_gen_tweet(ed_gen_t *g, uint64_t i, int64_t ts, int64_t base) {
    uint64_t *r = &g->vrng;
    /* On topic (matches the tutorial's filter): a phrase naming data
     * science, machine learning, AI or big data, in varying case. */
    static const char *const topics[] = {"data science", "Data Science", "machine learning",
                                         "Machine Learning", "AI", "ai", "big data",
                                         "Big Data", "AI-powered", "BIG DATA"};
    static const char *const on_open[] = {"Just finished a course on", "Why", "New post:",
                                          "Hiring engineers for", "Loving how",
                                          "Hot take:", "Our team ships", "Reading about"};
    static const char *const on_end[] = {"is changing everything", "in production",
                                         "at scale, finally", "for beginners",
                                         "- thread below", "is overhyped? discuss",
                                         "café meetup tonight", "🚀"};
    /* Off topic, with near misses the filter must not match: "said",
     * "rain", "bigdata" and "#MachineLearning" (no word boundary or no
     * space), and non-English text. */
    static const char *const off[] = {"Coffee first, then everything else",
                                      "She said the rain would stop by noon",
                                      "Maintaining my garden is a full-time job",
                                      "Trying the new ramen place downtown",
                                      "bigdata is one word on my keyboard apparently",
                                      "Game night with friends \"again\"",
                                      "Line one\nline two",
                                      "Que bonito día en la playa",
                                      "Guten Morgen aus Berlin",
                                      "機械学習の勉強中",
                                      "Café au lait and a croissant",
                                      "Mountains this weekend ⛰"};
    static const char *const tags[] = {"DataScience", "MachineLearning", "AI", "BigData",
                                       "Python", "100DaysOfCode", "coffee", "weekend"};
    static const char *const langs[] = {"en", "es", "de", "fr", "ja", "pt"};
    static const int lang_w[] = {70, 8, 6, 6, 5, 5};

    uint64_t user = ed_gen_rng_below(r, ED_GEN_TWEET_USERS);
    int on = ed_gen_rng_below(r, 100) < 35;
    int a = (int)ed_gen_rng_below(r, 10), b = (int)ed_gen_rng_below(r, 8), c = (int)ed_gen_rng_below(r, 8);
    int o = (int)ed_gen_rng_below(r, 12);
    int ntags = (int)ed_gen_rng_below(r, 3); /* 0..2 hashtags */
    int t0 = (int)ed_gen_rng_below(r, 8), t1 = (int)ed_gen_rng_below(r, 7);
    int lang = ed_gen_weighted(lang_w, 6, r);
    int truncated = ed_gen_rng_below(r, 100) < 5;

    char text[512];
    if (on)
        snprintf(text, sizeof text, "%s %s %s", on_open[b], topics[a], on_end[c]);
    else
        snprintf(text, sizeof text, "%s", off[o]);
    int cps = 0, starts[2];
    size_t tl = s_cps(text, &cps);
    for (int h = 0; h < ntags; h++) {
        int t = h == 0 ? t0 : (t0 + 1 + t1) % 8; /* two distinct tags */
        starts[h] = cps + 1;
        tl += (size_t)snprintf(text + tl, sizeof text - tl, " #%s", tags[t]);
        cps = starts[h] + 1 + (int)strlen(tags[t]); /* '#' + the tag */
    }

    uint64_t id = base >= S_TWITTER_EPOCH_MS
                      ? ((uint64_t)(base - S_TWITTER_EPOCH_MS) << 22) | (i & 0x3FFFFF)
                      : i + 1;
    /* Per-user properties, fixed for a user: a screen name and a
     * heavy-tailed follower count (10^(6u²) − 1, u uniform: median ~180). */
    static const char *const adj[] = {"quiet", "rapid", "curious", "sunny", "lazy", "brave"};
    static const char *const noun[] = {"Owl", "Coder", "Panda", "Rider", "Fox", "Analyst"};
    uint64_t um = ed_gen_rng_mix(user * 977 + 5);
    double u = (double)(ed_gen_rng_mix(user * 31 + 11) >> 11) * 0x1.0p-53;
    int64_t followers = (int64_t)floor(pow(10.0, 6.0 * u * u)) - 1;
    char created[32];
    ed_gen_iso8601(created, sizeof created, ts);

    size_t len = (size_t)snprintf(
        g->json, sizeof g->json,
        "{\"id\":%llu,\"id_str\":\"%llu\",\"created_at\":\"%s\",\"text\":\"",
        (unsigned long long)id, (unsigned long long)id, created);
    s_json_text(g->json, &len, sizeof g->json, text);
    len += (size_t)snprintf(g->json + len, sizeof g->json - len,
                            "\",\"truncated\":%s,\"user\":{\"id\":%llu,\"screen_name\":\"%s%s%llu\","
                            "\"followers_count\":%lld},\"entities\":{\"hashtags\":[",
                            truncated ? "true" : "false",
                            (unsigned long long)(ED_GEN_TWEET_USER_ID0 + user),
                            adj[um % 6], noun[(um >> 8) % 6], (unsigned long long)user,
                            (long long)followers);
    for (int h = 0; h < ntags; h++) {
        int t = h == 0 ? t0 : (t0 + 1 + t1) % 8;
        int end = starts[h] + 1 + (int)strlen(tags[t]);
        len += (size_t)snprintf(g->json + len, sizeof g->json - len,
                                "%s{\"text\":\"%s\",\"indices\":[%d,%d]}", h ? "," : "", tags[t],
                                starts[h], end);
    }
    len += (size_t)snprintf(g->json + len, sizeof g->json - len, "]},\"lang\":\"%s\"}",
                            langs[lang]);
    snprintf(g->key, sizeof g->key, "%llu", (unsigned long long)id);
    return len;
}

/* ---- users (the Kafka → Cassandra tutorial); docs/gen.md says what each field holds ---- */

typedef struct {
    const char *country, *code; /* name, code of the postcode shape */
    const char *cities[4];
    const char *phone; /* printf pattern of the phone number: %03d %03d %04d in order */
} s_country_t;

static const s_country_t s_countries[] = {
    {"United States", "US", {"Austin", "Denver", "Seattle", "Boston"}, "(%03d) %03d-%04d"},
    {"Germany", "DE", {"Berlin", "München", "Köln", "Hamburg"}, "0%03d-%03d%04d"},
    {"United Kingdom", "GB", {"London", "Leeds", "Bristol", "York"}, "0%03d %03d %04d"},
    {"France", "FR", {"Paris", "Lyon", "Nantes", "Lille"}, "0%03d %03d %04d"},
    {"Brazil", "BR", {"São Paulo", "Recife", "Curitiba", "Natal"}, "(%03d) %03d-%04d"},
    {"India", "IN", {"Pune", "Chennai", "Jaipur", "Kochi"}, "%03d%03d%04d"},
    {"Japan", "JP", {"Tokyo", "Osaka", "Sapporo", "Kyoto"}, "0%03d-%03d-%04d"},
    {"Australia", "AU", {"Sydney", "Perth", "Hobart", "Cairns"}, "0%03d %03d %04d"},
};
#define S_NCOUNTRIES ((int)(sizeof s_countries / sizeof s_countries[0]))
static const int s_country_w[] = {30, 12, 12, 10, 10, 12, 8, 6};

static const char *const s_first[2][12] = {
    {"Emma", "Olivia", "Zoë", "Mia", "Léa", "Hannah", "Aiko", "Priya", "Isabela", "Chloe",
     "Sofia", "Grace"},
    {"Liam", "Noah", "José", "Lukas", "Hugo", "Arjun", "Kenji", "Oliver", "Mateus", "Jack",
     "Ethan", "Felix"}};
static const char *const s_last[16] = {"Smith", "Müller", "García", "Brown", "Dubois",
                                       "Sato", "Silva", "Patel", "Wilson", "Schmidt",
                                       "Martin", "Costa", "Taylor", "Nguyen", "O'Brien",
                                       "Kowalski"};
static const char *const s_title[2][3] = {{"Ms", "Mrs", "Miss"}, {"Mr", "Mr", "Monsieur"}};

/* The postcode of a country, as randomuser.me gives it: a JSON number for
 * the countries whose codes are all digits, a string for the others. */
static int s_postcode(char *out, size_t cap, const char *code, uint64_t *r) {
    int a = (int)ed_gen_rng_below(r, 90000) + 10000, b = (int)ed_gen_rng_below(r, 1000);
    if (!strcmp(code, "GB"))
        return snprintf(out, cap, "\"%c%c%d %d%c%c\"", 'A' + a % 26, 'A' + b % 26, a % 20 + 1,
                        b % 10, 'A' + (a >> 3) % 26, 'A' + (b >> 2) % 26);
    if (!strcmp(code, "BR"))
        return snprintf(out, cap, "\"%05d-%03d\"", a, b);
    if (!strcmp(code, "JP"))
        return snprintf(out, cap, "\"%03d-%04d\"", a % 1000, b * 10 + a % 10);
    if (!strcmp(code, "AU"))
        return snprintf(out, cap, "%d", 1000 + a % 9000);
    if (!strcmp(code, "IN"))
        return snprintf(out, cap, "%d", 100000 + a * 9 % 900000);
    return snprintf(out, cap, "%d", a);
}

/* Lowercase ASCII letters of s (UTF-8 letters and other bytes dropped), for
 * e-mail addresses: "Müller" → "mller" is what a naive site would do; we
 * keep it simple and deterministic. */
static void s_ascii_lower(char *out, size_t cap, const char *s) {
    size_t n = 0;
    for (; *s && n + 1 < cap; s++)
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
            out[n++] = (char)(*s | 0x20);
    out[n] = '\0';
}

size_t ed_gen_user(ed_gen_t *g, uint64_t i, int64_t ts) {
    uint64_t *r = &g->vrng;
    /* 10 % of the events after the first update an earlier user (a new
     * location and phone); the others introduce the next id. */
    int update = g->users > 0 && ed_gen_rng_below(r, 100) < 10;
    uint64_t pick = ed_gen_rng_below(r, g->users ? g->users : 1);
    uint64_t id = update ? 1 + pick : ++g->users;
    (void)i;
    /* Fixed per user: gender, name, birth date, username. */
    uint64_t um = ed_gen_rng_mix(id * 7919 + 3);
    int female = (int)(um & 1);
    const char *first = s_first[!female][(um >> 1) % 12];
    const char *last = s_last[(um >> 5) % 16];
    const char *title = s_title[!female][(um >> 9) % 3];
    static const int64_t dob_lo = -631152000000LL, dob_span = 1767139200000LL; /* 1950..2005 */
    int64_t dob = dob_lo + (int64_t)((ed_gen_rng_mix(id * 131 + 9) >> 11) % (uint64_t)(dob_span / 86400000)) *
                               86400000LL;
    int age = (int)floor((double)(ts - dob) / (365.2425 * 86400000.0));
    static const char *const adj[] = {"quiet", "rapid", "curious", "sunny", "lazy", "brave"};
    static const char *const noun[] = {"owl", "coder", "panda", "rider", "fox", "analyst"};
    /* Per event: where the user lives now and their phone. */
    const s_country_t *c = &s_countries[ed_gen_weighted(s_country_w, S_NCOUNTRIES, r)];
    const char *city = c->cities[ed_gen_rng_below(r, 4)];
    char postcode[32], phone[32], fl[32], ll[32], dobs[32], regs[32];
    s_postcode(postcode, sizeof postcode, c->code, r);
    int p1 = (int)ed_gen_rng_below(r, 900) + 100, p2 = (int)ed_gen_rng_below(r, 900) + 100;
    int p3 = (int)ed_gen_rng_below(r, 9000) + 1000;
    snprintf(phone, sizeof phone, c->phone, p1, p2, p3);
    s_ascii_lower(fl, sizeof fl, first);
    s_ascii_lower(ll, sizeof ll, last);
    ed_gen_iso8601(dobs, sizeof dobs, dob);
    ed_gen_iso8601(regs, sizeof regs, ts);
    /* O'Brien: the one name with a character JSON leaves alone but SQL must quote */
    size_t len = (size_t)snprintf(
        g->json, sizeof g->json,
        "{\"id\":%llu,\"gender\":\"%s\",\"name\":{\"title\":\"%s\",\"first\":\"%s\",\"last\":\"%s\"},"
        "\"location\":{\"city\":\"%s\",\"country\":\"%s\",\"postcode\":%s},"
        "\"email\":\"%s.%s%llu@example.com\",\"login\":{\"username\":\"%s%s%llu\"},"
        "\"dob\":{\"date\":\"%s\",\"age\":%d},\"registered\":{\"date\":\"%s\"},\"phone\":\"%s\","
        "\"picture\":{\"large\":\"https://randomuser.me/api/portraits/%s/%llu.jpg\"}}",
        (unsigned long long)id, female ? "female" : "male", title, first, last, city, c->country,
        postcode, fl, ll, (unsigned long long)id, adj[(um >> 13) % 6], noun[(um >> 17) % 6],
        (unsigned long long)id, dobs, age, regs, phone, female ? "women" : "men",
        (unsigned long long)(id % 100));
    snprintf(g->key, sizeof g->key, "%llu", (unsigned long long)id);
    return len;
}
