#!/usr/bin/env bash
# The cassandra sink end to end against a real Apache Cassandra (started by
# tests/run for programs named *cassandra*), read back with the DataStax
# Python driver (tests/tools/cassandra_check.py), never with eddy's client:
#   kafka    `eddy gen users` → Kafka (3 partitions) → config/examples/
#            users_to_cassandra.yaml → Cassandra: every column of every row
#            equals the last record of its id in the input
#   rejects  users with misfits (tests/tools/gen_users.py --bad) from a file:
#            each misfit is counted, routed to the rejects topic naming its
#            line and column; the rest is written
#   outage   Cassandra frozen (SIGSTOP) while users stream in, then resumed:
#            the sink retries and nothing is lost
#   restart  Cassandra stopped (scripts/services stop: the process ends) while
#            users stream in, then started again: nothing is lost
# Every keyspace, table, topic and group carries this run's id.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
PY=${EDDY_CACHE:-$HOME/.cache/eddy}/venv/bin/python
CHECK=tests/tools/cassandra_check.py
B=$EDDY_ROOT/tests/out/cassandra
rm -rf "$B"; mkdir -p "$B"
RUN=$(date +%s)$$
export EDDY_CASSANDRA_KEYSPACE=eddy_t$RUN
check "the Python Cassandra driver is in the venv (scripts/deps)" "$PY" -c "import cassandra"

# users_run LABEL CONFIG: runs eddy until idle; stats in $B/LABEL.stats.
users_run() {
    "$EDDY" run -c "$2" --exit-when-idle 3s --stats "$B/$1.stats" 2> "$B/$1.log"
}
stat() { json_get "$B/$1.stats" "${@:2}"; }

# ---- kafka: the example config on generated users ----
N=5000
export EDDY_USERS_TOPIC=eddy.test.cass.$RUN EDDY_GROUP=eddy-test-cass-$RUN
export EDDY_USERS_TABLE=users EDDY_REJECTS_TOPIC=eddy.test.cass.rejects.$RUN
scripts/kafka-topics create "$EDDY_USERS_TOPIC" 3 >/dev/null
"$EDDY" gen users --count $N --seed 3 --out "$B/users.jsonl" 2>/dev/null
"$EDDY" gen users --count $N --seed 3 --topic "$EDDY_USERS_TOPIC" 2>/dev/null
check_eq "kafka: eddy gen users produced $N users" "$N" \
    "$(kcat -b "$EDDY_KAFKA" -C -t "$EDDY_USERS_TOPIC" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l)"
users_run kafka config/examples/users_to_cassandra.yaml; rc=$?
check_eq "kafka: run exits 0" 0 "$rc"
check_eq "kafka: $N records in, $N written, none rejected" "$N $N 0" \
    "$(stat kafka sources users inputs) $(stat kafka sinks cassandra_users rows_written) $(stat kafka sinks cassandra_users rows_rejected)"
check "kafka: the table holds the last version of every id, every column equal (Python driver)" \
    "$PY" $CHECK compare "$EDDY_CASSANDRA" "$EDDY_CASSANDRA_KEYSPACE" users "$B/users.jsonl"
uniq_ids=$(python3 -c 'import json,sys; print(len({json.loads(l)["id"] for l in open(sys.argv[1])}))' "$B/users.jsonl")
check "kafka: the input has updates (fewer ids than records: $uniq_ids < $N)" test "$uniq_ids" -lt $N
users_run kafka2 config/examples/users_to_cassandra.yaml
check_eq "kafka: a second run of the group reads nothing again" "0 0" \
    "$(stat kafka2 sources users inputs) $(stat kafka2 sinks cassandra_users rows_written)"

# ---- rejects: misfits from a file, routed with line and column ----
mkdir -p "$B/in"
python3 tests/tools/gen_users.py --count 2000 --ids 1500 --bad 12 --seed 11 > "$B/in/users.jsonl"
cat > "$B/rejects.yaml" <<EOF
runtime: { workers: 2, flush_interval: 300ms }
sources:
  users:
    directory: { path: "$B/in", pattern: "*.jsonl" }
    format: json
    to: cassandra_users
    rejects: users_rejects
sinks:
  cassandra_users:
    cassandra: { contact_points: ["$EDDY_CASSANDRA"], keyspace: $EDDY_CASSANDRA_KEYSPACE }
    table: users_bad
    primary_key: [id]
    batch_rows: 50
    columns:
      id: id bigint
      first_name: name.first
      last_name: name.last
      email: "email varchar(120) not null"
      city: location.city
      postcode: location.postcode
      registered: registered.date timestamptz
      age: dob.age bigint
  users_rejects:
    kafka: { brokers: "$EDDY_KAFKA", topic: "$EDDY_REJECTS_TOPIC" }
EOF
users_run rejects "$B/rejects.yaml"; rc=$?
check_eq "rejects: run exits 0" 0 "$rc"
"$PY" $CHECK rejects "$B/in/users.jsonl" > "$B/rejects.want"
nbad=$(wc -l < "$B/rejects.want")
nin=$(grep -c . "$B/in/users.jsonl")
check "rejects: the input has misfits ($nbad)" test "$nbad" -ge 6
nrej=$(( $(stat rejects sources users rejected) + $(stat rejects sinks cassandra_users rows_rejected) ))
check_eq "rejects: every misfit counted (source + sink), the rest written" \
    "$nbad $((nin - nbad))" "$nrej $(stat rejects sinks cassandra_users rows_written)"
check "rejects: the table holds the last fitting record of every id (Python driver)" \
    "$PY" $CHECK compare "$EDDY_CASSANDRA" "$EDDY_CASSANDRA_KEYSPACE" users_bad "$B/in/users.jsonl"
kcat -b "$EDDY_KAFKA" -C -t "$EDDY_REJECTS_TOPIC" -o beginning -e -q -f '%s\n' 2>/dev/null > "$B/rejects.jsonl"
python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    if not d.get("position", "").startswith("users.jsonl:"): continue
    print(d["position"].split(":")[-1], d.get("column") or "-")' "$B/rejects.jsonl" | sort -n > "$B/rejects.got"
check_files_eq "rejects: the rejects topic names the line and column of each misfit" \
    "$B/rejects.want" "$B/rejects.got"

# ---- outage: Cassandra frozen mid-stream, then resumed ----
# The node is stopped with SIGSTOP once the first rows are in: connections
# stay open but nothing answers, so every request times out (10 s); it is
# resumed once the sink has logged a retry. Then the run must drain with
# every record written.
N3=20000
CPID=$(cat "$EDDY_SERVICES_DIR/run/cassandra.pid")
# stream_start LABEL SEED: N3 users produced in real time to a new topic while
# the example config writes them into table users_LABEL (pids: $gen, $run).
stream_start() {
    export EDDY_USERS_TOPIC=eddy.test.cass.$1.$RUN EDDY_GROUP=eddy-test-cass-$1-$RUN
    export EDDY_USERS_TABLE=users_$1
    scripts/kafka-topics create "$EDDY_USERS_TOPIC" 2 >/dev/null
    "$EDDY" gen users --count $N3 --seed "$2" --rate 2000 --out "$B/$1.jsonl" 2>/dev/null
    "$EDDY" gen users --count $N3 --seed "$2" --rate 2000 --realtime --topic "$EDDY_USERS_TOPIC" \
        2> "$B/$1.gen.log" &
    gen=$!
    "$EDDY" run -c config/examples/users_to_cassandra.yaml --exit-when-idle 3s \
        --stats "$B/$1.stats" 2> "$B/$1.log" &
    run=$!
}
rows_in() { # TABLE: has rows
    "$PY" -c 'import sys
from cassandra.cluster import Cluster
h, p = sys.argv[1].rsplit(":", 1)
c = Cluster([h], port=int(p)); s = c.connect()
n = s.execute("SELECT count(*) FROM \"%s\".\"%s\"" % (sys.argv[2], sys.argv[3])).one()[0]
c.shutdown(); sys.exit(0 if n > 0 else 1)' "$EDDY_CASSANDRA" "$EDDY_CASSANDRA_KEYSPACE" "$1"
}
# stream_finish LABEL: the run drains with every record written, after retries.
stream_finish() {
    local l=$1 rc
    wait_pid 120 $gen; check_eq "$l: the generator produced every user" 0 $?
    wait_pid 300 $run; rc=$?
    check_eq "$l: run exits 0" 0 "$rc"
    check_eq "$l: $N3 records in, $N3 written, none rejected" "$N3 $N3 0" \
        "$(stat $l sources users inputs) $(stat $l sinks cassandra_users rows_written) $(stat $l sinks cassandra_users rows_rejected)"
    check "$l: the sink retried ($(stat $l sinks cassandra_users retries) retries)" \
        test "$(stat $l sinks cassandra_users retries)" -gt 0
    check "$l: nothing lost, the last version of every id (Python driver)" \
        "$PY" $CHECK compare "$EDDY_CASSANDRA" "$EDDY_CASSANDRA_KEYSPACE" users_$l "$B/$l.jsonl"
}
stream_start outage 5
check "outage: the first rows arrive" wait_for 60 rows_in users_outage
kill -STOP "$CPID"
check "outage: with the node frozen the sink logs a retry" \
    wait_for 150 grep -q "cassandra_users.*retrying" "$B/outage.log"
kill -CONT "$CPID"
stream_finish outage

# ---- restart: Cassandra stopped (the process ends) mid-stream, then started ----
# scripts/services stop kills the node: connections are refused; the sink
# retries until the node is back (started again from its data directory).
stream_start restart 6
check "restart: the first rows arrive" wait_for 60 rows_in users_restart
check "restart: scripts/services stop cassandra" scripts/services stop cassandra
check "restart: the node process has ended" wait_for 60 bash -c '! kill -0 "$0" 2>/dev/null' "$CPID"
check "restart: with the node gone the sink logs a retry" \
    wait_for 60 grep -q "cassandra_users.*retrying" "$B/restart.log"
check "restart: scripts/services start cassandra" scripts/services start cassandra
stream_finish restart

"$PY" -c 'import sys
from cassandra.cluster import Cluster
h, p = sys.argv[1].rsplit(":", 1)
c = Cluster([h], port=int(p)); c.connect().execute("DROP KEYSPACE IF EXISTS " + sys.argv[2]); c.shutdown()' \
    "$EDDY_CASSANDRA" "$EDDY_CASSANDRA_KEYSPACE" 2>/dev/null
exit 0
