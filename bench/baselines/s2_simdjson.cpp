// s2_simdjson.cpp — the S2 baseline: one thread decoding a file of JSON order
// events (one object per line) with simdjson's On-Demand API and aggregating
// count and sum(amount) per product_id in an open-addressing hash table (XXH3,
// as eddy). It is the "machine limit" for decode + aggregate that eddy's S2
// figure is divided by.
//
//   s2_simdjson FILE
//
// Prints one JSON object: events, distinct products, rejected lines, total
// count, sum of amounts, seconds, events/s. Timed: reading the file (from the
// page cache, like eddy's directory source) through the last event.
#include <simdjson.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string_view>
#include <vector>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace {

double now_s() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

// Keys are copied into an arena (the input buffer could be reused, as a
// stream processor's is); slots are 32 bytes.
struct Slot {
    uint64_t hash;
    uint32_t koff; // offset in the arena + 1; 0 = empty
    uint32_t klen;
    int64_t count;
    double sum;
};

struct Table {
    std::vector<Slot> slots;
    std::vector<char> arena;
    size_t mask = 0, used = 0;

    Table() : slots(1 << 14), mask((1 << 14) - 1) {}

    void grow() {
        std::vector<Slot> old(slots.size() * 2);
        old.swap(slots);
        mask = slots.size() - 1;
        for (const Slot &s : old)
            if (s.koff) {
                size_t at = s.hash & mask;
                while (slots[at].koff)
                    at = (at + 1) & mask;
                slots[at] = s;
            }
    }

    void add(std::string_view key, double v) {
        uint64_t h = XXH3_64bits(key.data(), key.size());
        size_t at = h & mask;
        for (;;) {
            Slot &s = slots[at];
            if (!s.koff) {
                s.hash = h;
                s.koff = uint32_t(arena.size()) + 1;
                s.klen = uint32_t(key.size());
                s.count = 1;
                s.sum = v;
                arena.insert(arena.end(), key.begin(), key.end());
                if (++used * 2 > slots.size())
                    grow();
                return;
            }
            if (s.hash == h && s.klen == key.size() &&
                memcmp(arena.data() + s.koff - 1, key.data(), key.size()) == 0) {
                s.count++;
                s.sum += v;
                return;
            }
            at = (at + 1) & mask;
        }
    }
};

} // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: s2_simdjson FILE\n");
        return 64;
    }
    double t0 = now_s();
    simdjson::padded_string json;
    auto err = simdjson::padded_string::load(argv[1]).get(json);
    if (err) {
        fprintf(stderr, "s2_simdjson: %s: %s\n", argv[1], simdjson::error_message(err));
        return 1;
    }
    Table t;
    uint64_t events = 0, rejected = 0;
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document_stream docs;
    err = parser.iterate_many(json, 1 << 20).get(docs);
    if (err) {
        fprintf(stderr, "s2_simdjson: %s\n", simdjson::error_message(err));
        return 1;
    }
    for (auto doc : docs) {
        std::string_view pid;
        double amount;
        simdjson::ondemand::object obj;
        // Fields are looked up by name, in any order (find_field_unordered),
        // as eddy's decoder does.
        if (doc.get_object().get(obj) || obj["product_id"].get_string().get(pid) ||
            obj["amount"].get_double().get(amount)) {
            rejected++;
            continue;
        }
        t.add(pid, amount);
        events++;
    }
    double t1 = now_s();

    int64_t total = 0;
    double sum = 0;
    for (const Slot &s : t.slots)
        if (s.koff) {
            total += s.count;
            sum += s.sum;
        }
    double secs = t1 - t0;
    printf("{\"events\":%" PRIu64 ",\"keys\":%zu,\"rejected\":%" PRIu64 ",\"count\":%" PRId64
           ",\"sum\":%.17g,\"seconds\":%.6f,\"eps\":%.1f,\"simdjson\":\"%s\",\"implementation\":\"%s\"}\n",
           events, t.used, rejected, total, sum, secs, secs > 0 ? double(events) / secs : 0.0,
           SIMDJSON_STRINGIFY(SIMDJSON_VERSION), simdjson::get_active_implementation()->name().c_str());
    return total == int64_t(events) ? 0 : 1;
}
