/* ed_state_store.c — see ed_state_store.h.
 *
 * Why a full snapshot per checkpoint rather than a log of changes: restore
 * is one sequential read, files never need compaction, and a checkpoint's
 * snapshot is complete on its own, so the directory holds at most the
 * committed checkpoint plus the ones in flight. The cost grows with the
 * state, not the input (measured in docs/architecture.md). */
#define _GNU_SOURCE
#include "actors/aggregate/ed_state_store.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "actors/aggregate/ed_aggsession.h"
#include "actors/decode/ed_hash.h"
#include "actors/sources/ed_watermark.h"
#include "runtime/ed_common.h"
#include "runtime/ed_file.h"

static const char S_MAGIC[8] = {'E', 'D', 'D', 'Y', 'S', 'N', 'A', 'P'};
/* zlib level: 1 (fastest) keeps a snapshot of 1M word-count keys well under
 * a second; higher levels saved little on this data. */
#define S_ZLEVEL 1
#define S_CHUNK (256u * 1024u)
#define S_MARKER "COMMITTED"
#define S_MARKER_HEAD "eddy state 1"

struct ed_state_store {
    char *dir;
    uint64_t fingerprint;
    char *layout; /* the layout lines (owned) */
    int naggs;
    uint64_t gen;        /* this run's generation */
    uint64_t rgen, rckpt; /* what to restore (rckpt 0: nothing) */
};

/* ---- little-endian fields, varints ---- */

static void s_put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void s_put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t s_get32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static uint64_t s_get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void s_uv(ed_buf_t *b, uint64_t v) {
    uint8_t tmp[10];
    int n = 0;
    do {
        tmp[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    ed_buf_append(b, tmp, (size_t)n);
}
static void s_sv(ed_buf_t *b, int64_t v) {
    s_uv(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* A payload being read; `bad` once it ran past the end or held nonsense. */
typedef struct {
    const uint8_t *p, *end;
    int bad;
    char why[256]; /* what a state block's load said was wrong, or "" */
} s_rd_t;

static uint64_t s_ruv(s_rd_t *r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = 1;
            return 0;
        }
        uint8_t c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}
static int64_t s_rsv(s_rd_t *r) {
    uint64_t u = s_ruv(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}
static const uint8_t *s_rbytes(s_rd_t *r, uint64_t n) {
    if (r->bad || (uint64_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

/* Reads the computes' state blocks of aggregation `agg` (its computes
 * taken from t: the session windows hold the same ones) into buf, sized
 * ed_aggtable_state_size; NULL and r->bad when they do not decode. Then
 * buf owns what it holds (a sketch): the caller releases it if the entry
 * is not put. */
static const uint8_t *s_rstate(s_rd_t *r, const ed_aggtable_t *t, uint16_t agg, uint8_t *buf) {
    ed_aggspec_t sp;
    size_t used = 0;
    if (r->bad || ed_aggtable_spec(t, agg, &sp) < 0 ||
        ed_aggfn_load(sp.fns, sp.ncompute, buf, r->p, (size_t)(r->end - r->p), &used, r->why,
                      sizeof r->why) < 0) {
        r->bad = 1;
        return NULL;
    }
    r->p += used;
    return buf;
}

/* Releases what state buf of aggregation agg owns (an entry not put). */
static void s_rstate_drop(const ed_aggtable_t *t, uint16_t agg, uint8_t *buf) {
    ed_aggspec_t sp;
    if (ed_aggtable_spec(t, agg, &sp) == 0)
        ed_aggfn_release(sp.fns, sp.ncompute, buf);
}

/* ---- snapshot files ---- */

static void s_header_encode(const ed_state_header_t *h, uint64_t len, uint32_t crc,
                            uint8_t out[ED_STATE_HEADER_SIZE]) {
    memcpy(out, S_MAGIC, 8);
    s_put32(out + 8, h->version);
    s_put32(out + 12, ED_STATE_HEADER_SIZE);
    s_put64(out + 16, h->fingerprint);
    s_put32(out + 24, h->agg_idx);
    s_put32(out + 28, h->agg_count);
    s_put64(out + 32, h->generation);
    s_put64(out + 40, h->checkpoint);
    s_put64(out + 48, h->entries);
    s_put64(out + 56, len);
    s_put32(out + 64, crc);
    s_put32(out + 68, (uint32_t)crc32(0L, out, 68));
}

int ed_state_file_write(const char *path, const ed_state_header_t *h, const void *payload,
                        size_t len, char *errstr, size_t errstr_size) {
    uint8_t head[ED_STATE_HEADER_SIZE];
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < len; off += UINT32_MAX / 2) {
        size_t k = len - off < UINT32_MAX / 2 ? len - off : UINT32_MAX / 2;
        crc = crc32(crc, (const Bytef *)payload + off, (uInt)k);
    }
    s_header_encode(h, len, (uint32_t)crc, head);
    ed_file_writer_t *f = ed_file_writer_new(path, errstr, errstr_size);
    if (!f)
        return ED_EIO;
    if (ed_file_write(f, head, sizeof head, errstr, errstr_size) < 0)
        goto fail;
    z_stream z = {0};
    if (deflateInit(&z, S_ZLEVEL) != Z_OK) {
        ed_seterr(errstr, errstr_size, ED_EIO, "cannot start zlib compression for '%s'", path);
        goto fail;
    }
    uint8_t *out = ed_malloc(S_CHUNK);
    const uint8_t *in = payload;
    size_t left = len;
    int zr, rc = 0;
    do {
        uInt take = left > S_CHUNK ? S_CHUNK : (uInt)left;
        z.next_in = (Bytef *)(uintptr_t)in;
        z.avail_in = take;
        in += take;
        left -= take;
        int flush = left ? Z_NO_FLUSH : Z_FINISH;
        do {
            z.next_out = out;
            z.avail_out = S_CHUNK;
            zr = deflate(&z, flush);
            size_t have = S_CHUNK - z.avail_out;
            if (have && ed_file_write(f, out, have, errstr, errstr_size) < 0)
                rc = -1;
        } while (rc == 0 && z.avail_out == 0);
    } while (rc == 0 && left);
    deflateEnd(&z);
    free(out);
    if (rc < 0 || zr != Z_STREAM_END) {
        if (rc == 0)
            ed_seterr(errstr, errstr_size, ED_EIO, "zlib compression of '%s' failed", path);
        goto fail;
    }
    return ed_file_commit(&f, errstr, errstr_size);
fail:
    ed_file_abort(&f);
    return ED_EIO;
}

int ed_state_file_read(const char *path, ed_state_header_t *h, uint8_t **payload, size_t *len,
                       char *errstr, size_t errstr_size) {
    *payload = NULL;
    *len = 0;
    char *data;
    size_t n;
    int rc = ed_file_read(path, &data, &n, errstr, errstr_size);
    if (rc < 0)
        return rc;
    const uint8_t *d = (const uint8_t *)data;
    const char *bad = NULL;
    if (n < 12 || memcmp(d, S_MAGIC, 8) != 0)
        bad = "is not an eddy state snapshot (no EDDYSNAP header)";
    else if (s_get32(d + 8) != ED_STATE_VERSION) {
        ed_seterr(errstr, errstr_size, ED_EINVAL,
                  "state snapshot '%s' has format version %" PRIu32
                  ", this eddy reads version %u; run the eddy that wrote it to the end "
                  "(--exit-when-idle) or delete the state directory to start from empty state",
                  path, s_get32(d + 8), ED_STATE_VERSION);
        free(data);
        return ED_EINVAL;
    } else if (n < ED_STATE_HEADER_SIZE || s_get32(d + 12) != ED_STATE_HEADER_SIZE ||
               s_get32(d + 68) != (uint32_t)crc32(0L, d, 68))
        bad = "has a corrupt header (CRC-32 mismatch)";
    uint8_t *out = NULL;
    uint64_t want = 0;
    if (!bad) {
        *h = (ed_state_header_t){
            .version = s_get32(d + 8),
            .fingerprint = s_get64(d + 16),
            .agg_idx = s_get32(d + 24),
            .agg_count = s_get32(d + 28),
            .generation = s_get64(d + 32),
            .checkpoint = s_get64(d + 40),
            .entries = s_get64(d + 48),
        };
        want = s_get64(d + 56);
        if (want >= UINT32_MAX || n - ED_STATE_HEADER_SIZE >= UINT32_MAX)
            bad = "claims a payload of 4 GiB or more (corrupt)";
    }
    if (!bad) {
        out = ed_malloc(want ? want : 1);
        z_stream z = {0};
        inflateInit(&z);
        z.next_in = (Bytef *)(uintptr_t)(d + ED_STATE_HEADER_SIZE);
        z.avail_in = (uInt)(n - ED_STATE_HEADER_SIZE);
        z.next_out = out;
        z.avail_out = (uInt)want;
        int zr = inflate(&z, Z_FINISH);
        uint64_t got = z.total_out;
        inflateEnd(&z);
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, out, (uInt)got);
        if (zr != Z_STREAM_END || got != want)
            bad = "is truncated or corrupt (its compressed payload does not decode)";
        else if ((uint32_t)crc != s_get32(d + 64))
            bad = "is corrupt (payload CRC-32 mismatch)";
    }
    free(data);
    if (bad) {
        free(out);
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "state snapshot '%s' %s; restore the file from a backup, or delete the "
                         "state directory to start from empty state (sinks then keep what they "
                         "hold, and windows open at the stop restart empty)",
                         path, bad);
    }
    *payload = out;
    *len = (size_t)want;
    return 0;
}

/* ---- layout ---- */

uint64_t ed_state_layout(const ed_config_t *conf, ed_buf_t *out) {
    size_t start = out->len;
    ed_buf_printf(out, "aggregators %d\n", conf->runtime.aggregators);
    for (int a = 0; a < conf->naggregations; a++) {
        const ed_conf_aggregation_t *ca = &conf->aggregations[a];
        ed_buf_printf(out, "aggregation %s from %s key", ca->name, ca->from ? ca->from : "?");
        for (int k = 0; k < ca->nkey; k++)
            ed_buf_printf(out, " %s=%s", ca->key[k].column, ca->key[k].field);
        ed_buf_puts(out, " compute");
        for (int c = 0; c < ca->ncompute; c++)
            ed_buf_printf(out, " %s=%s(%s)", ca->compute[c].name, ca->compute[c].fn->name,
                          ca->compute[c].field ? ca->compute[c].field : "");
        ed_buf_printf(out, " window kind %d size %lld slide %lld lateness %lld late %d emit %d\n",
                      (int)ca->window.kind, (long long)ca->window.size_ms,
                      (long long)ca->window.slide_ms, (long long)ca->window.allowed_lateness_ms,
                      (int)ca->window.late, (int)ca->window.emit);
    }
    return ed_hash64(out->data + start, out->len - start);
}

/* ---- the directory ---- */

static char *s_path(const ed_state_store_t *st, const char *name) {
    size_t n = strlen(st->dir) + strlen(name) + 2;
    char *p = ed_malloc(n);
    snprintf(p, n, "%s/%s", st->dir, name);
    return p;
}

static char *s_snap_path(const ed_state_store_t *st, int idx, uint64_t gen, uint64_t ckpt) {
    char name[96];
    snprintf(name, sizeof name, "agg-%d-%" PRIu64 "-%" PRIu64 ".snap", idx, gen, ckpt);
    return s_path(st, name);
}

/* The first line where layouts a and b differ, for the error: "was: …;
 * now: …" into out. */
static void s_first_diff(const char *a, const char *b, char *out, size_t n) {
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || memcmp(a, b, la) != 0) {
            snprintf(out, n, "was '%.*s', now '%.*s'", (int)la, a, (int)lb, b);
            return;
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
    snprintf(out, n, "the layout lines are equal but the fingerprint differs");
}

/* Parses the COMMITTED marker `text` of directory st->dir. */
static int s_read_marker(ed_state_store_t *st, const char *path, const char *text, char *errstr,
                         size_t errstr_size) {
    unsigned long long gen = 0, ckpt = 0, fp = 0;
    int naggs = 0, used = 0;
    if (strncmp(text, S_MARKER_HEAD "\n", sizeof S_MARKER_HEAD) != 0 ||
        sscanf(text + sizeof S_MARKER_HEAD,
               "generation %llu\ncheckpoint %llu\naggregators %d\nfingerprint %llx\n%n", &gen,
               &ckpt, &naggs, &fp, &used) != 4 ||
        used == 0)
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "state directory '%s': '%s' is not an eddy COMMITTED marker of format "
                         "1; delete the directory to start from empty state",
                         st->dir, path);
    const char *old_layout = text + sizeof S_MARKER_HEAD + used;
    if (fp != st->fingerprint || naggs != st->naggs) {
        char diff[600];
        s_first_diff(old_layout, st->layout, diff, sizeof diff);
        return ed_seterr(errstr, errstr_size, ED_EINVAL,
                         "state directory '%s' holds the state of a pipeline with another layout "
                         "(aggregations, keys, computes, windows or runtime.aggregators changed: "
                         "%s); restore the config it was written with, or delete the directory "
                         "to start from empty state",
                         st->dir, diff);
    }
    st->rgen = gen;
    st->rckpt = ckpt;
    st->gen = gen + 1;
    return 0;
}

int ed_state_store_open(const char *dir, const ed_config_t *conf, int naggs,
                        ed_state_store_t **st_p, char *errstr, size_t errstr_size) {
    *st_p = NULL;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return ed_seterr(errstr, errstr_size, ED_EIO,
                         "runtime.state_dir '%s': cannot create the directory: %s; create it or "
                         "choose another path",
                         dir, strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return ed_seterr(errstr, errstr_size, ED_EIO,
                         "runtime.state_dir '%s' is not a directory; choose a directory path",
                         dir);
    ed_state_store_t *st = ed_calloc(1, sizeof *st);
    st->dir = ed_strdup(dir);
    st->naggs = naggs;
    st->gen = 1;
    ed_buf_t lay = ED_BUF_INIT;
    st->fingerprint = ed_state_layout(conf, &lay);
    st->layout = lay.data ? lay.data : ed_strdup("");
    char *path = s_path(st, S_MARKER), *text = NULL;
    size_t len = 0;
    int rc = ed_file_read(path, &text, &len, errstr, errstr_size);
    if (rc == ED_ENOENT)
        rc = 0;
    else if (rc == 0)
        rc = s_read_marker(st, path, text, errstr, errstr_size);
    free(text);
    free(path);
    if (rc < 0) {
        ed_state_store_destroy(&st);
        return rc;
    }
    *st_p = st;
    return 0;
}

void ed_state_store_destroy(ed_state_store_t **st_p) {
    ed_state_store_t *st = *st_p;
    if (!st)
        return;
    free(st->dir);
    free(st->layout);
    free(st);
    *st_p = NULL;
}

uint64_t ed_state_store_restored(const ed_state_store_t *st, char *buf, size_t n) {
    if (!st->rckpt)
        snprintf(buf, n, "empty");
    else
        snprintf(buf, n, "generation %" PRIu64 " checkpoint %" PRIu64, st->rgen, st->rckpt);
    return st->rckpt;
}

/* ---- save ---- */

typedef struct {
    ed_buf_t *b;
    const ed_aggtable_t *t; /* the computes of each aggregation, to encode states */
    int has_group;
    uint16_t agg;
    int64_t ws, we;
} s_enc_t;

/* The state blocks of an entry of aggregation agg: as their bytes, but
 * blocks that own memory (a sketch) by their encoding (ed_aggfn_save). */
static void s_enc_state(s_enc_t *x, uint16_t agg, const uint8_t *state, uint32_t size) {
    ed_aggspec_t sp;
    if (ed_aggtable_spec(x->t, agg, &sp) == 0)
        ed_aggfn_save(sp.fns, sp.ncompute, state, x->b);
    else
        ed_buf_append(x->b, state, size);
}

static void s_enc_entry(void *ud, const ed_aggtable_entry_t *e) {
    s_enc_t *x = ud;
    ed_buf_t *b = x->b;
    if (!x->has_group || e->agg != x->agg || e->window_start_ms != x->ws ||
        e->window_end_ms != x->we) {
        ed_buf_append(b, "\x01", 1);
        s_uv(b, e->agg);
        s_sv(b, e->window_start_ms);
        s_sv(b, e->window_end_ms);
        *x = (s_enc_t){b, x->t, 1, e->agg, e->window_start_ms, e->window_end_ms};
    }
    ed_buf_append(b, "\x02", 1);
    s_uv(b, e->key_len);
    ed_buf_append(b, e->key, e->key_len);
    s_uv(b, (uint64_t)e->n);
    s_uv(b, (uint64_t)(e->n - e->n_flushed));
    s_enc_state(x, e->agg, e->state, e->state_size);
}

/* A session window (ed_aggsession.h): record 3. */
static void s_enc_session(void *ud, const ed_aggsession_entry_t *e) {
    s_enc_t *x = ud;
    ed_buf_t *b = x->b;
    ed_buf_append(b, "\x03", 1);
    s_uv(b, e->agg);
    s_uv(b, e->key_len);
    ed_buf_append(b, e->key, e->key_len);
    s_sv(b, e->start_ms);
    s_sv(b, e->end_ms);
    s_uv(b, (uint64_t)e->n);
    s_enc_state(x, e->agg, e->state, e->state_size);
}

int ed_state_store_save(const ed_state_store_t *st, int idx, uint64_t ckpt,
                        const ed_aggtable_t *t, const ed_aggwin_t *w, size_t *bytes,
                        char *errstr, size_t errstr_size) {
    ed_buf_t b = ED_BUF_INIT;
    int ns = ed_aggwin_nsenders(w);
    s_uv(&b, (uint64_t)ns);
    for (int i = 0; i < ns; i++) {
        int64_t wm = ed_aggwin_sender_watermark(w, i);
        /* The end of input closed every window; a later run over new input
         * starts from no watermark rather than taking all of it as late. */
        s_uv(&b, (uint64_t)ed_aggwin_sender_source(w, i));
        s_sv(&b, wm == ED_WATERMARK_END ? ED_WATERMARK_NONE : wm);
    }
    s_enc_t x = {.b = &b, .t = t};
    size_t entries = ed_aggtable_each(t, s_enc_entry, &x);
    entries += ed_aggsession_each(ed_aggwin_sessions(w), s_enc_session, &x);
    ed_buf_append(&b, "", 1); /* the terminating 0 record */
    ed_state_header_t h = {
        .version = ED_STATE_VERSION,
        .fingerprint = st->fingerprint,
        .agg_idx = (uint32_t)idx,
        .agg_count = (uint32_t)st->naggs,
        .generation = st->gen,
        .checkpoint = ckpt,
        .entries = entries,
    };
    char *path = s_snap_path(st, idx, st->gen, ckpt);
    int rc = ed_state_file_write(path, &h, b.data, b.len, errstr, errstr_size);
    if (rc == 0 && bytes) {
        struct stat sb;
        *bytes = stat(path, &sb) == 0 ? (size_t)sb.st_size : 0;
    }
    free(path);
    ed_buf_free(&b);
    return rc;
}

int ed_state_store_link(const ed_state_store_t *st, int idx, uint64_t from, uint64_t ckpt,
                        char *errstr, size_t errstr_size) {
    char *a = s_snap_path(st, idx, st->gen, from), *b = s_snap_path(st, idx, st->gen, ckpt);
    int rc = 0;
    if (link(a, b) < 0)
        rc = ed_seterr(errstr, errstr_size, ED_EIO, "cannot link '%s' to '%s': %s", a, b,
                       strerror(errno));
    else
        rc = ed_file_sync_dir(st->dir, errstr, errstr_size);
    free(a);
    free(b);
    return rc;
}

/* ---- restore ---- */

/* Restores the senders' watermarks: the k-th sender of a source gets the
 * k-th saved one of that source when both runs have as many (the same
 * plan), else every sender of it gets the lowest saved (more decoders or
 * instances now: safe, nothing judged before becomes on time). */
static void s_restore_wm(s_rd_t *r, ed_aggwin_t *w) {
    uint64_t ns = s_ruv(r);
    if (r->bad || ns > (uint64_t)(r->end - r->p))
        return (void)(r->bad = 1);
    int *src = ed_calloc((size_t)ns + 1, sizeof *src);
    int64_t *wm = ed_calloc((size_t)ns + 1, sizeof *wm);
    for (uint64_t i = 0; i < ns && !r->bad; i++) {
        src[i] = (int)s_ruv(r);
        wm[i] = s_rsv(r);
    }
    int now = ed_aggwin_nsenders(w);
    for (int i = 0; i < now && !r->bad; i++) {
        int s = ed_aggwin_sender_source(w, i), k = 0, saved = 0, current = 0;
        for (int j = 0; j < i; j++)
            k += ed_aggwin_sender_source(w, j) == s;
        for (int j = 0; j < now; j++)
            current += ed_aggwin_sender_source(w, j) == s;
        int64_t low = ED_WATERMARK_END, kth = ED_WATERMARK_NONE;
        for (uint64_t j = 0; j < ns; j++) {
            if (src[j] != s)
                continue;
            if (saved == k)
                kth = wm[j];
            saved++;
            if (wm[j] < low)
                low = wm[j];
        }
        if (saved)
            ed_aggwin_restore_watermark(w, i, saved == current ? kth : low);
    }
    free(src);
    free(wm);
}

/* Reads the rest of a session record (3) into `s`; -1 (and r->bad) when it
 * does not decode or does not fit. */
static int s_dec_session(s_rd_t *r, const ed_aggtable_t *t, ed_aggsession_t *s, uint8_t *buf) {
    ed_aggsession_entry_t e = {0};
    uint64_t agg = s_ruv(r), klen = s_ruv(r);
    e.key = s_rbytes(r, klen);
    e.key_len = (uint32_t)klen;
    e.start_ms = s_rsv(r);
    e.end_ms = s_rsv(r);
    e.n = (int64_t)s_ruv(r);
    e.agg = agg > UINT16_MAX ? UINT16_MAX : (uint16_t)agg;
    e.state_size = ed_aggsession_state_size(s, e.agg);
    if (!r->bad && klen <= UINT32_MAX / 2 && e.state_size != UINT32_MAX &&
        e.state_size == ed_aggtable_state_size(t, e.agg))
        e.state = s_rstate(r, t, e.agg, buf);
    if (r->bad || !e.state || ed_aggsession_put(s, &e) < 0) {
        if (e.state)
            s_rstate_drop(t, e.agg, buf);
        r->bad = 1;
        return -1;
    }
    return 0;
}

/* The largest state block of any aggregation of t. */
static uint32_t s_max_state(const ed_aggtable_t *t) {
    uint32_t m = 0, z;
    for (uint32_t a = 0; a <= UINT16_MAX && (z = ed_aggtable_state_size(t, (uint16_t)a)) !=
                                                UINT32_MAX;
         a++)
        m = z > m ? z : m;
    return m;
}

int ed_state_store_restore(const ed_state_store_t *st, int idx, ed_aggtable_t *t,
                           ed_aggwin_t *w, size_t *entries, char *errstr, size_t errstr_size) {
    *entries = 0;
    if (!st->rckpt)
        return 0;
    char *path = s_snap_path(st, idx, st->rgen, st->rckpt);
    ed_state_header_t h;
    uint8_t *data;
    size_t len;
    int rc = ed_state_file_read(path, &h, &data, &len, errstr, errstr_size);
    if (rc == ED_ENOENT)
        rc = ed_seterr(errstr, errstr_size, ED_EINVAL,
                       "state directory '%s': COMMITTED names generation %" PRIu64
                       " checkpoint %" PRIu64 " but '%s' is missing; restore it, or delete the "
                       "directory to start from empty state",
                       st->dir, st->rgen, st->rckpt, path);
    if (rc < 0) {
        free(path);
        return rc;
    }
    const char *bad = NULL;
    if (h.fingerprint != st->fingerprint || h.agg_count != (uint32_t)st->naggs)
        bad = "was written by a pipeline with another layout than COMMITTED says";
    else if (h.agg_idx != (uint32_t)idx || h.generation != st->rgen || h.checkpoint > st->rckpt)
        bad = "holds another aggregator's or checkpoint's state than its name says";
    s_rd_t r = {data, data + len, 0, ""};
    /* One entry's state blocks at a time, decoded here, then put. */
    uint8_t *sbuf = ed_calloc(1, s_max_state(t) + 8);
    if (!bad) {
        s_restore_wm(&r, w);
        /* Bounded by the payload: an entry takes at least 4 bytes. */
        ed_aggtable_reserve(t, h.entries < len / 4 ? (size_t)h.entries : len / 4);
    }
    size_t n = 0;
    ed_aggtable_entry_t e = {0};
    int has_group = 0;
    while (!bad && !r.bad) {
        const uint8_t *tagp = s_rbytes(&r, 1);
        if (!tagp || *tagp == 0)
            break;
        if (*tagp == 1) {
            uint64_t agg = s_ruv(&r);
            e.window_start_ms = s_rsv(&r);
            e.window_end_ms = s_rsv(&r);
            if (agg > UINT16_MAX)
                r.bad = 1;
            e.agg = (uint16_t)agg;
            has_group = 1;
            continue;
        }
        if (*tagp == 3) {
            if (s_dec_session(&r, t, ed_aggwin_sessions(w), sbuf) < 0)
                break;
            n++;
            continue;
        }
        if (*tagp != 2 || !has_group) {
            r.bad = 1;
            break;
        }
        uint64_t klen = s_ruv(&r);
        e.key = s_rbytes(&r, klen);
        e.key_len = (uint32_t)klen;
        e.n = (int64_t)s_ruv(&r);
        e.n_flushed = e.n - (int64_t)s_ruv(&r);
        e.state_size = ed_aggtable_state_size(t, e.agg);
        if (r.bad || klen > UINT32_MAX / 2 || e.state_size == UINT32_MAX) {
            r.bad = 1;
            break;
        }
        e.state = s_rstate(&r, t, e.agg, sbuf);
        if (r.bad || ed_aggtable_put(t, &e) < 0) {
            if (e.state)
                s_rstate_drop(t, e.agg, sbuf);
            r.bad = 1;
            break;
        }
        n++;
    }
    if (!bad && (r.bad || r.p != r.end || n != h.entries))
        bad = "does not decode (a bug, or a file edited by hand)";
    free(data);
    free(sbuf);
    if (bad) {
        rc = ed_seterr(errstr, errstr_size, ED_EINVAL,
                       "state snapshot '%s' %s%s%s; delete the state directory '%s' to start "
                       "from empty state",
                       path, bad, r.why[0] ? ": " : "", r.why, st->dir);
        free(path);
        return rc;
    }
    free(path);
    *entries = n;
    return 0;
}

/* ---- commit ---- */

int ed_state_store_commit(ed_state_store_t *st, uint64_t ckpt, char *errstr,
                          size_t errstr_size) {
    ed_buf_t b = ED_BUF_INIT;
    ed_buf_printf(&b,
                  S_MARKER_HEAD "\ngeneration %" PRIu64 "\ncheckpoint %" PRIu64
                                "\naggregators %d\nfingerprint %016" PRIx64 "\n",
                  st->gen, ckpt, st->naggs, st->fingerprint);
    ed_buf_puts(&b, st->layout);
    char *path = s_path(st, S_MARKER);
    int rc = ed_file_replace(path, b.data, b.len, errstr, errstr_size);
    free(path);
    ed_buf_free(&b);
    if (rc < 0)
        return rc;
    /* What this commit supersedes: every snapshot of an earlier run, and
     * this run's older checkpoints (later ones are being written). */
    DIR *d = opendir(st->dir);
    if (!d)
        return 0; /* the marker is written; stale files only cost space */
    struct dirent *de;
    while ((de = readdir(d))) {
        int idx, used = 0;
        unsigned long long g, c;
        if (sscanf(de->d_name, "agg-%d-%llu-%llu.snap%n", &idx, &g, &c, &used) != 3 || !used)
            continue;
        if (g < st->gen || (g == st->gen && c < ckpt)) {
            char *p = s_path(st, de->d_name);
            (void)unlink(p);
            free(p);
        }
    }
    closedir(d);
    return 0;
}
