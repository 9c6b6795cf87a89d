#!/usr/bin/env bash
# min, max, avg, first and last through the real PostgreSQL, MariaDB and
# Redis servers, checked against an independent computation (Python over
# the same input lines).
#
# Two runs of tests/integration/configs/aggfns.yaml over two generated
# inputs: the second run's event times overlap the first's (earlier, later
# and equal times for the same keys), so its rows merge into the tables
# through the SQL merge expressions (first/last by time, ties to the earlier
# run for first and the later for last), not only through eddy's state. Event
# times are drawn from a few milliseconds, so ties are everywhere. The same
# records also go through a source without `time`, where first/last follow
# arrival: file order, run 1 before run 2.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
W=$EDDY_ROOT/tests/out/aggfns
rm -rf "$W"
mkdir -p "$W"
RUN=$(date +%s)_$$
export EDDY_PREFIX="t_aggfns_${RUN}_"
export EDDY_INBOX=$W/inbox EDDY_INBOX2=$W/inbox2
mkdir -p "$EDDY_INBOX" "$EDDY_INBOX2"

pg() { psql -qAt -F ' ' "$EDDY_PG_DSN" -c "$1"; }
my() {
    mariadb -N -B -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$EDDY_MYSQL_USER" "$EDDY_MYSQL_DB" \
        -e "$1" | tr '\t' ' '
}
cleanup() {
    pg "DROP TABLE IF EXISTS ${EDDY_PREFIX}by_time, ${EDDY_PREFIX}by_arrival" >/dev/null 2>&1
    my "DROP TABLE IF EXISTS ${EDDY_PREFIX}by_time, ${EDDY_PREFIX}by_arrival" >/dev/null 2>&1
    redis-cli -p "$EDDY_REDIS_PORT" DEL "${EDDY_PREFIX}last" >/dev/null 2>&1
}
cleanup

# Inputs: 300 keys, 20000 records per run, values exact in binary (quarters).
# Run 1 times in [T, T+6); run 2 in [T-3, T+9) for even keys (first and last
# move to run 2) and in [T+1, T+6) for odd keys (first stays in run 1, last
# moves to run 2 only through a tie at T+5).
python3 - "$W" <<'PY'
import json, random, sys
w = sys.argv[1]
rnd = random.Random(6)
T = 1735689600000
for run in (1, 2):
    with open(f"{w}/run{run}.json", "w") as f:
        for i in range(20000):
            ki = rnd.randrange(300)
            k = "k%d" % ki
            v = rnd.randrange(-4000, 4001) / 4
            lo, hi = (0, 6) if run == 1 else (-3, 9) if ki % 2 == 0 else (1, 6)
            ts = T + rnd.randrange(lo, hi)
            f.write(json.dumps({"k": k, "v": v, "ts": ts}) + "\n")
PY

drop() { # FILE DIR: atomically (hidden name, then rename)
    cp "$1" "$2/.$(basename "$1").tmp" && mv "$2/.$(basename "$1").tmp" "$2/$(basename "$1")"
}
for run in 1 2; do
    rm -f "$EDDY_INBOX"/* "$EDDY_INBOX2"/*
    drop "$W/run$run.json" "$EDDY_INBOX"
    drop "$W/run$run.json" "$EDDY_INBOX2"
    "$EDDY" run -c tests/integration/configs/aggfns.yaml --exit-when-idle 2s \
        --stats "$W/run$run.stats.json" 2>"$W/run$run.log"
    check_eq "run $run exits 0" 0 $?
    check_eq "run $run aggregated every record of both sources" 40000 \
        "$(json_get "$W/run$run.stats.json" aggregators records)"
done

cols_t="k, n, lo, hi, mean, first_v, first_v_ts, last_v, last_v_ts"
cols_a="k, n, first_v, last_v"
pg "SELECT $cols_t FROM ${EDDY_PREFIX}by_time" >"$W/pg_time"
my "SELECT $cols_t FROM ${EDDY_PREFIX}by_time" >"$W/my_time"
pg "SELECT $cols_a FROM ${EDDY_PREFIX}by_arrival" >"$W/pg_arrival"
my "SELECT $cols_a FROM ${EDDY_PREFIX}by_arrival" >"$W/my_arrival"
redis-cli -p "$EDDY_REDIS_PORT" --raw ZRANGE "${EDDY_PREFIX}last" 0 -1 WITHSCORES |
    paste -d ' ' - - >"$W/redis_last"

# The oracle, and the comparison: exact for everything but the mean.
python3 - "$W" >"$W/oracle.out" 2>&1 <<'PY'
import json, sys
w = sys.argv[1]
recs = [(run, json.loads(l)) for run in (1, 2) for l in open(f"{w}/run{run}.json")]
t, a = {}, {}
tie_moves = set()  # keys whose last moved to run 2 through a time equal to run 1's latest
for run, r in recs:
    k, v, ts = r["k"], r["v"], r["ts"]
    e = t.setdefault(k, {"n": 0, "lo": v, "hi": v, "sum": 0.0, "first": (ts, v, run),
                         "last": (ts, v, run)})
    e["n"] += 1
    e["lo"], e["hi"], e["sum"] = min(e["lo"], v), max(e["hi"], v), e["sum"] + v
    if ts < e["first"][0]:   # the earliest; of equal times the first seen
        e["first"] = (ts, v, run)
    if ts >= e["last"][0]:   # the latest; of equal times the last seen
        if run == 2 and e["last"][2] == 1 and ts == e["last"][0]:
            tie_moves.add(k)
        e["last"] = (ts, v, run)
    x = a.setdefault(k, {"n": 0, "first": v})
    x["n"] += 1
    x["last"] = v

def load(name):
    rows = {}
    for l in open(f"{w}/{name}"):
        f = l.split()
        if f:
            rows[f[0]] = f[1:]
    return rows

bad = {s: 0 for s in ("pg_time", "my_time", "pg_arrival", "my_arrival", "redis_last", "input")}
def report(sink, msg):
    bad[sink] += 1
    if bad[sink] <= 5:
        print(f"# {sink}: {msg}")

for sink in ("pg_time", "my_time"):
    got = load(sink)
    if set(got) != set(t):
        report(sink, f"{len(got)} keys, expected {len(t)}")
    for k, e in t.items():
        g = got.get(k)
        if not g:
            continue
        n, lo, hi, mean, fv, fts, lv, lts = int(g[0]), *map(float, g[1:5]), int(g[5]), float(g[6]), int(g[7])
        want = (e["n"], e["lo"], e["hi"], e["first"][1], e["first"][0], e["last"][1], e["last"][0])
        if (n, lo, hi, fv, fts, lv, lts) != want or abs(mean - e["sum"] / e["n"]) > 1e-9 * max(1, abs(mean)):
            report(sink, f"key {k}: n lo hi first first_ts last last_ts mean = {n} {lo} {hi} {fv} {fts} {lv} {lts} {mean}; expected {want} {e['sum'] / e['n']}")
for sink in ("pg_arrival", "my_arrival"):
    got = load(sink)
    if set(got) != set(a):
        report(sink, f"{len(got)} keys, expected {len(a)}")
    for k, x in a.items():
        g = got.get(k)
        if g and (int(g[0]), float(g[1]), float(g[2])) != (x["n"], x["first"], x["last"]):
            report(sink, f"key {k}: n first last = {g}; expected {x['n']} {x['first']} {x['last']}")
got = load("redis_last")
if {k: float(v[0]) for k, v in got.items()} != {k: e["last"][1] for k, e in t.items()}:
    report("redis_last", "scores differ from the last values")
# The inputs must exercise what is tested: ties at the chosen time, and
# run 2 moving first/last for some keys and not for others.
first_moved = sum(1 for e in t.values() if e["first"][2] == 2)
if not (0 < first_moved < len(t) and tie_moves):
    report("input", f"run 2 moved first for {first_moved} of {len(t)} keys, last by a tie for {len(tie_moves)}")
print(f"# {len(t)} keys; run 2 moved first for {first_moved} keys; last moved to run 2 at a tie with run 1's latest time for {len(tie_moves)} keys")
for sink, n in bad.items():
    print("RESULT", sink, n)
PY
grep '^#' "$W/oracle.out"
res() { awk -v s="$1" '$1 == "RESULT" && $2 == s { print $3 }' "$W/oracle.out"; }
check_eq "the input overlaps run 1 in time both ways" 0 "$(res input)"
check_eq "postgres: count/min/max/avg/first/last by event time match Python" 0 "$(res pg_time)"
check_eq "mariadb: count/min/max/avg/first/last by event time match Python" 0 "$(res my_time)"
check_eq "postgres: first/last by arrival match Python" 0 "$(res pg_arrival)"
check_eq "mariadb: first/last by arrival match Python" 0 "$(res my_arrival)"
check_eq "redis: ZADD scores are the last values" 0 "$(res redis_last)"
if [ "$TAP_FAILED" = 0 ]; then cleanup; fi
exit 0
