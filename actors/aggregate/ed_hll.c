/* ed_hll.c — see ed_hll.h. */
#include "actors/aggregate/ed_hll.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "actors/decode/ed_hash.h"
#include "runtime/ed_common.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ed_hll's encoding is little-endian; port s_hdr_t before building on this platform"
#endif

#define S_MAGIC 0xE1
#define S_VERSION 2 /* 2: sparse entries at precision S_SP (1: at p) */
#define S_SPARSE 0
#define S_DENSE 1
#define S_SP 25 /* the sparse form's precision (HLL++): 2^25 virtual registers */

/* The header; the payload follows at offset 8 (4-aligned). The allocated
 * capacity of a sparse sketch is a function of n (s_cap), so the block holds
 * nothing but its encoding and equal sketches have equal bytes. */
typedef struct {
    uint8_t magic;   /* S_MAGIC */
    uint8_t version; /* S_VERSION */
    uint8_t p;       /* precision */
    uint8_t form;    /* S_SPARSE or S_DENSE */
    uint32_t n;      /* sparse: entries in use; dense: 0 */
} s_hdr_t;

struct ed_hll {
    s_hdr_t h;
    uint32_t data[]; /* sparse entries, or the dense registers as bytes */
};

_Static_assert(sizeof(s_hdr_t) == 8, "8-byte header");

/* Dense payload: the 6-bit registers, then the histogram of register
 * values (uint32 × S_HIST), kept up to date so that an estimate costs
 * O(64), not O(2^p): an on_update aggregation estimates every changed
 * sketch at every flush. */
#define S_HIST 64

static size_t s_reg_bytes(int p) {
    return ((size_t)6 << p) / 8;
}

static size_t s_dense_bytes(int p) {
    return s_reg_bytes(p) + S_HIST * sizeof(uint32_t);
}

static uint32_t *s_hist(ed_hll_t *h) {
    return (uint32_t *)((uint8_t *)h->data + s_reg_bytes(h->h.p));
}

static const uint32_t *s_chist(const ed_hll_t *h) {
    return (const uint32_t *)((const uint8_t *)h->data + s_reg_bytes(h->h.p));
}

/* Sparse entries beyond which the dense form is smaller. */
static uint32_t s_sparse_max(int p) {
    return (uint32_t)(s_dense_bytes(p) / 4);
}

/* Entries allocated for n sparse entries: the next power of two ≥ n (at
 * least 2), at most s_sparse_max. Doubling keeps inserts amortised O(1)
 * reallocations. */
static uint32_t s_cap(uint32_t n, int p) {
    uint32_t c = 2;
    while (c < n)
        c *= 2;
    return c < s_sparse_max(p) ? c : s_sparse_max(p);
}

static size_t s_size(const ed_hll_t *h) {
    return sizeof(s_hdr_t) +
           (h->h.form == S_DENSE ? s_dense_bytes(h->h.p) : (size_t)h->h.n * sizeof(uint32_t));
}

ed_hll_t *ed_hll_new(int p) {
    assert(p >= ED_HLL_P_MIN && p <= ED_HLL_P_MAX);
    ed_hll_t *h = ed_malloc(sizeof(s_hdr_t) + s_cap(0, p) * sizeof(uint32_t));
    h->h = (s_hdr_t){S_MAGIC, S_VERSION, (uint8_t)p, S_SPARSE, 0};
    return h;
}

void ed_hll_destroy(ed_hll_t **h_p) {
    if (!h_p || !*h_p)
        return;
    free(*h_p);
    *h_p = NULL;
}

size_t ed_hll_mem(const ed_hll_t *h) {
    if (!h)
        return 0;
    if (h->h.form == S_DENSE)
        return s_size(h);
    return sizeof(s_hdr_t) + (size_t)s_cap(h->h.n, h->h.p) * sizeof(uint32_t);
}

ed_hll_t *ed_hll_dup(const ed_hll_t *h) {
    if (!h)
        return NULL;
    size_t n = ed_hll_mem(h);
    ed_hll_t *c = ed_malloc(n);
    memcpy(c, h, n);
    return c;
}

/* 6-bit register i of a dense payload. A register at bit offset 4 or 6 of
 * its byte continues into the next byte, which then exists. */
static inline unsigned s_get(const uint8_t *r, uint32_t i) {
    size_t bit = (size_t)i * 6, byte = bit >> 3;
    unsigned sh = bit & 7;
    unsigned v = r[byte] >> sh;
    if (sh > 2)
        v |= (unsigned)r[byte + 1] << (8 - sh);
    return v & 63;
}

static inline void s_set(uint8_t *r, uint32_t i, unsigned v) {
    size_t bit = (size_t)i * 6, byte = bit >> 3;
    unsigned sh = bit & 7;
    r[byte] = (uint8_t)((r[byte] & ~(63u << sh)) | (v << sh));
    if (sh > 2) {
        unsigned hi = 8 - sh; /* bits already written */
        r[byte + 1] = (uint8_t)((r[byte + 1] & ~(63u >> hi)) | (v >> hi));
    }
}

static inline uint32_t s_entry(uint32_t idx, unsigned rank) {
    return idx << 6 | rank;
}

/* The dense register (index at precision p, rank) of a sparse entry's
 * (index at S_SP, rank of the 64 − S_SP bits after it): the bits after the
 * top p are the index's low S_SP − p bits, then those 64 − S_SP. */
static inline void s_to_dense(uint32_t idx25, unsigned rank25, int p, uint32_t *idx,
                              unsigned *rank) {
    unsigned lowbits = (unsigned)(S_SP - p);
    uint32_t low = idx25 & ((1u << lowbits) - 1);
    *idx = idx25 >> lowbits;
    *rank = low ? (unsigned)__builtin_clz(low) - (32u - lowbits) + 1 : lowbits + rank25;
}

/* Raises dense register i to v if that is higher, keeping the histogram;
 * returns 1 if it changed. */
static inline int s_raise(ed_hll_t *h, uint32_t i, unsigned v) {
    uint8_t *r = (uint8_t *)h->data;
    unsigned old = s_get(r, i);
    if (old >= v)
        return 0;
    s_set(r, i, v);
    uint32_t *hist = s_hist(h);
    hist[old]--;
    hist[v]++;
    return 1;
}

/* Converts a sparse sketch to the dense form (a new block). */
static ed_hll_t *s_densify(ed_hll_t *h) {
    int p = h->h.p;
    ed_hll_t *d = ed_calloc(1, sizeof(s_hdr_t) + s_dense_bytes(p));
    d->h = (s_hdr_t){S_MAGIC, S_VERSION, (uint8_t)p, S_DENSE, 0};
    s_hist(d)[0] = 1u << p;
    for (uint32_t k = 0; k < h->h.n; k++) {
        uint32_t i;
        unsigned r;
        s_to_dense(h->data[k] >> 6, h->data[k] & 63, p, &i, &r);
        s_raise(d, i, r);
    }
    free(h);
    return d;
}

/* Adds (index at S_SP, rank) to *h_p: the entry's maximum in the sparse
 * form, its register's in the dense one; returns 1 if something grew. */
static int s_update(ed_hll_t **h_p, uint32_t idx, unsigned rank) {
    ed_hll_t *h = *h_p;
    if (h->h.form == S_DENSE) {
        uint32_t i;
        unsigned r;
        s_to_dense(idx, rank, h->h.p, &i, &r);
        return s_raise(h, i, r);
    }
    /* binary search for the index */
    uint32_t lo = 0, hi = h->h.n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((h->data[mid] >> 6) < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < h->h.n && (h->data[lo] >> 6) == idx) {
        if ((h->data[lo] & 63) >= rank)
            return 0;
        h->data[lo] = s_entry(idx, rank);
        return 1;
    }
    if (h->h.n + 1 > s_sparse_max(h->h.p)) {
        h = *h_p = s_densify(h);
        return s_update(h_p, idx, rank);
    }
    if (h->h.n == s_cap(h->h.n, h->h.p)) {
        uint32_t cap = s_cap(h->h.n + 1, h->h.p);
        h = *h_p = ed_realloc(h, sizeof(s_hdr_t) + (size_t)cap * sizeof(uint32_t));
    }
    memmove(h->data + lo + 1, h->data + lo, (size_t)(h->h.n - lo) * sizeof(uint32_t));
    h->data[lo] = s_entry(idx, rank);
    h->h.n++;
    return 1;
}

int ed_hll_add_hash(ed_hll_t **h_p, uint64_t hash) {
    if (!*h_p)
        *h_p = ed_hll_new(ED_HLL_P);
    /* splitmix64's finalizer: decorrelates the sketch's bits from the top
     * bits the partitioner used (see the header). */
    uint64_t z = hash;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    uint32_t idx = (uint32_t)(z >> (64 - S_SP));
    uint64_t rest = z << S_SP; /* the other 64 − S_SP bits, left-aligned */
    unsigned rank = rest ? (unsigned)__builtin_clzll(rest) + 1 : (unsigned)(65 - S_SP);
    return s_update(h_p, idx, rank);
}

int ed_hll_add(ed_hll_t **h_p, const void *data, size_t len) {
    return ed_hll_add_hash(h_p, ed_hash64(data, len));
}

int ed_hll_merge(ed_hll_t **dst_p, const ed_hll_t *src) {
    if (!src)
        return 0;
    if (!*dst_p) {
        ed_hll_t *c = ed_hll_dup(src);
        *dst_p = c;
        return 0;
    }
    if ((*dst_p)->h.p != src->h.p)
        return ED_EINVAL;
    if (src->h.form == S_SPARSE) {
        for (uint32_t k = 0; k < src->h.n; k++)
            s_update(dst_p, src->data[k] >> 6, src->data[k] & 63);
        return 0;
    }
    /* src dense: make dst dense, then take the register-wise maximum */
    if ((*dst_p)->h.form == S_SPARSE)
        *dst_p = s_densify(*dst_p);
    const uint8_t *s = (const uint8_t *)src->data;
    uint32_t m = 1u << src->h.p;
    for (uint32_t i = 0; i < m; i++)
        s_raise(*dst_p, i, s_get(s, i));
    return 0;
}

/* Ertl (2017), the functions σ and τ of the improved estimator:
 *   σ(x) = x + Σ_{k≥1} x^(2^k) 2^(k−1)
 *   τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² 2^−k) / 3
 * both summed until the sum stops changing in double precision. */
static double s_sigma(double x) {
    if (x >= 1.0)
        return INFINITY;
    double y = 1.0, z = x, zp;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (z != zp);
    return z;
}

static double s_tau(double x) {
    if (x <= 0.0 || x >= 1.0)
        return 0.0;
    double y = 1.0, z = 1.0 - x, zp;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != zp);
    return z / 3.0;
}

double ed_hll_estimate(const ed_hll_t *h) {
    if (!h)
        return 0.0;
    int p = h->h.p, q = 64 - p;
    uint32_t m = 1u << p;
    uint32_t c[S_HIST] = {0}; /* histogram of register values 0..q+1 */
    if (h->h.form == S_SPARSE) {
        /* Linear counting over the 2^S_SP virtual registers (HLL++, Heule
         * et al. 2013): n of them taken; exact but for the values that
         * share one (about n² / 2^26 of them: 0.5 at 6,000). */
        double mp = (double)(1u << S_SP);
        return -mp * log1p(-(double)h->h.n / mp);
    }
    memcpy(c, s_chist(h), sizeof c);
    if (c[0] == m)
        return 0.0;
    double dm = (double)m;
    double z = dm * s_tau(1.0 - (double)c[q + 1] / dm);
    for (int k = q; k >= 1; k--)
        z = 0.5 * (z + (double)c[k]);
    z += dm * s_sigma((double)c[0] / dm);
    /* z is 0 only if every register is saturated (some 2^64 values):
     * answer the largest count a 64-bit hash can tell apart, not ∞. */
    if (!(z > 0.0))
        return 18446744073709551616.0;
    return dm * dm / (2.0 * M_LN2) / z; /* α∞ = 1 / (2 ln 2) */
}

int ed_hll_precision(const ed_hll_t *h) {
    return h->h.p;
}

int ed_hll_is_sparse(const ed_hll_t *h) {
    return h->h.form == S_SPARSE;
}

const void *ed_hll_bytes(const ed_hll_t *h) {
    return h;
}

size_t ed_hll_size(const ed_hll_t *h) {
    return h ? s_size(h) : 0;
}

int ed_hll_decode(const void *buf, size_t len, ed_hll_t **out, char *errstr,
                  size_t errstr_size) {
    *out = NULL;
    s_hdr_t hd;
    if (len < sizeof hd)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "approx_distinct state: %zu bytes, shorter than the 8-byte header", len);
    memcpy(&hd, buf, sizeof hd);
    if (hd.magic != S_MAGIC || hd.version != S_VERSION)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "approx_distinct state: byte 0-1 are %#x %u, not a version-%d sketch "
                         "(magic %#x)",
                         hd.magic, hd.version, S_VERSION, S_MAGIC);
    if (hd.p < ED_HLL_P_MIN || hd.p > ED_HLL_P_MAX)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "approx_distinct state: byte 2: precision %u outside [%d, %d]", hd.p,
                         ED_HLL_P_MIN, ED_HLL_P_MAX);
    unsigned maxrank = 65u - hd.p, sp_maxrank = 65u - S_SP;
    uint32_t m = 1u << hd.p, sp_m = 1u << S_SP;
    const uint8_t *payload = (const uint8_t *)buf + sizeof hd;
    if (hd.form == S_DENSE) {
        if (len != sizeof hd + s_dense_bytes(hd.p))
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "approx_distinct state: dense sketch of %zu bytes; expected %zu",
                             len, sizeof hd + s_dense_bytes(hd.p));
        uint32_t hist[S_HIST] = {0}, stored[S_HIST];
        for (uint32_t i = 0; i < m; i++) {
            unsigned v = s_get(payload, i);
            if (v > maxrank)
                return ed_seterr(errstr, errstr_size, ED_EINVAL,
                                 "approx_distinct state: register %u (byte %zu) is %u; at most %u",
                                 i, sizeof hd + (size_t)i * 6 / 8, v, maxrank);
            hist[v]++;
        }
        memcpy(stored, payload + s_reg_bytes(hd.p), sizeof stored);
        for (int k = 0; k < S_HIST; k++)
            if (stored[k] != hist[k])
                return ed_seterr(errstr, errstr_size, ED_EINVAL,
                                 "approx_distinct state: byte %zu: the histogram says %u "
                                 "registers of value %d, the registers hold %u",
                                 sizeof hd + s_reg_bytes(hd.p) + (size_t)k * 4, stored[k], k,
                                 hist[k]);
        if (hd.n != 0)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "approx_distinct state: bytes 4-7 of a dense sketch are %u; "
                             "expected 0",
                             hd.n);
        ed_hll_t *h = ed_malloc(len);
        memcpy(h, buf, len);
        *out = h;
        return 0;
    }
    if (hd.form != S_SPARSE)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "approx_distinct state: byte 3: form %u is neither sparse (0) nor "
                         "dense (1)",
                         hd.form);
    if (hd.n > s_sparse_max(hd.p) || len != sizeof hd + (size_t)hd.n * 4)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "approx_distinct state: sparse sketch of %u entries in %zu bytes; "
                         "expected %zu bytes and at most %u entries",
                         hd.n, len, sizeof hd + (size_t)hd.n * 4, s_sparse_max(hd.p));
    uint32_t prev = 0;
    for (uint32_t k = 0; k < hd.n; k++) {
        uint32_t e;
        memcpy(&e, payload + (size_t)k * 4, 4);
        uint32_t idx = e >> 6, rank = e & 63;
        size_t at = sizeof hd + (size_t)k * 4;
        if (idx >= sp_m || rank == 0 || rank > sp_maxrank)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "approx_distinct state: byte %zu: entry (register %u, rank %u) out "
                             "of range (registers < %u, ranks 1..%u)",
                             at, idx, rank, sp_m, sp_maxrank);
        if (k > 0 && idx <= prev)
            return ed_seterr(errstr, errstr_size, ED_EINVAL,
                             "approx_distinct state: byte %zu: register %u after %u; entries "
                             "must be sorted and unique",
                             at, idx, prev);
        prev = idx;
    }
    ed_hll_t *h = ed_malloc(sizeof hd + (size_t)s_cap(hd.n, hd.p) * 4);
    memcpy(h, buf, len);
    *out = h;
    return 0;
}
