#!/usr/bin/env bash
# Secrets never leave eddy (issue 10 §5): passwords and tokens, given through
# the environment (`${VAR}`) or a file, never appear in `eddy check`'s output,
# the log (also at EDDY_LOG=debug and in the errors of a refused login or an
# unreachable server), the --stats file, /metrics, /v1/pipeline, /healthz or
# /readyz. Every secret is a random string made here, so a hit cannot be a
# coincidence; the test greps every output for each of them.
#
# The secrets: a PostgreSQL DSN password (the test server trusts loopback,
# so the login works with any password), a MariaDB user and a Redis ACL user
# created here with their passwords (MariaDB's both in a `url` and as
# `password:`), the librdkafka properties `sasl.password` and
# `ssl.key.password` passed through to the Kafka sink's producer, and the
# HTTP bearer token (from `token_file`). The failing half: a MariaDB and a Redis
# login with a wrong password and a PostgreSQL DSN with a password on a port
# where nothing listens, whose errors the log shows — without the password.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
. tests/lib/oracle.sh
. tests/lib/patterns.sh
. tests/lib/http.sh
http_setup secrets
RUN=$(date +%s)

rnd() { python3 -c 'import secrets; print(secrets.token_hex(12))'; }
PG_PW=pg$(rnd) MY_PW=my$(rnd) REDIS_PW=rd$(rnd) SASL_PW=sa$(rnd) TOKEN=tk$(rnd) KEY_PW=kp$(rnd)
BAD_MY_PW=bm$(rnd) BAD_REDIS_PW=br$(rnd) DOWN_PG_PW=dp$(rnd)
SECRETS=("$PG_PW" "$MY_PW" "$REDIS_PW" "$SASL_PW" "$TOKEN" "$KEY_PW" "$BAD_MY_PW" "$BAD_REDIS_PW" "$DOWN_PG_PW")
export PG_PW MY_PW REDIS_PW SASL_PW KEY_PW BAD_MY_PW BAD_REDIS_PW DOWN_PG_PW
printf '%s\n' "$TOKEN" > "$B/token"
MY_USER=eddy_sec_$RUN REDIS_USER=eddy_sec_$RUN TABLE=${EDDY_PREFIX:-}secret_counts_$RUN
pat_my "CREATE USER '$MY_USER'@'%' IDENTIFIED BY '$MY_PW'; GRANT ALL ON \`$EDDY_MYSQL_DB\`.* TO '$MY_USER'@'%'"
redis-cli -p "$EDDY_REDIS_PORT" ACL SETUSER "$REDIS_USER" on ">$REDIS_PW" '~*' '+@all' > /dev/null
check "the MariaDB user and the Redis ACL user exist" bash -c \
    'mariadb -N -h "$EDDY_MYSQL_HOST" -P "$EDDY_MYSQL_PORT" -u "$0" -p"$1" -e "SELECT 1" && redis-cli -p "$EDDY_REDIS_PORT" --user "$0" --pass "$2" --no-auth-warning PING | grep -q PONG' \
    "$MY_USER" "$MY_PW" "$REDIS_PW"

# conf NAME MY_PASSWORD_VAR REDIS_PASSWORD_VAR PG_DSN: a pipeline writing to
# all four sinks with the given credentials.
conf() {
    cat > "$B/$1.yaml" <<EOF
runtime:
  flush_interval: 200ms
  http: { listen: "127.0.0.1:\${EDDY_HTTP_PORT}", token_file: "$B/token" }
sources:
  gen:
    generator: { events: 20000, keys: 50 }
aggregations:
  counts:
    from: gen
    key: [{ k: "@key" }]
    compute: { n: count }
    to: [pg, my, myp, rd, kf]
sinks:
  pg:
    postgres: { dsn: "$4" }
    table: $TABLE
  my:
    mariadb: { url: "mysql://$MY_USER:\${$2}@$EDDY_MYSQL_HOST:$EDDY_MYSQL_PORT/$EDDY_MYSQL_DB" }
    table: $TABLE
  myp:
    mariadb: { host: $EDDY_MYSQL_HOST, port: $EDDY_MYSQL_PORT, user: $MY_USER, password: "\${$2}", database: $EDDY_MYSQL_DB }
    table: ${TABLE}_p
  rd:
    redis: { url: "redis://$REDIS_USER:\${$3}@127.0.0.1:$EDDY_REDIS_PORT" }
    zset: "secret:$RUN"
    member: "{k}"
    score: n
  kf:
    kafka:
      brokers: "$EDDY_KAFKA"
      topic: secrets.counts.$RUN
      properties: { sasl.password: "\${SASL_PW}", ssl.key.password: "\${KEY_PW}" }
EOF
}
PG_OK="$EDDY_PG_DSN password=\${PG_PW}"
conf good MY_PW REDIS_PW "$PG_OK"
conf bad BAD_MY_PW BAD_REDIS_PW "host=127.0.0.1 port=1 dbname=eddy user=postgres password=\${DOWN_PG_PW} connect_timeout=1"

# --- the good run: everything written, every output free of secrets
"$EDDY" check -c "$B/good.yaml" > "$B/check.out" 2>&1
check_eq "eddy check: the pipeline is valid" 0 "$?"
check "eddy check names the sinks' servers (so the plan is shown)" grep -q "127.0.0.1" "$B/check.out"
EDDY_LOG=debug "$EDDY" run -c "$B/good.yaml" --stats "$B/good.stats.json" > "$B/good.log" 2>&1 &
pid=$!
check "Redis was written by the ACL user (50 members)" wait_for 30 bash -c \
    '[ "$(redis-cli -p "$EDDY_REDIS_PORT" ZCARD "secret:'"$RUN"'")" = 50 ]'
auth=(-H "Authorization: Bearer $TOKEN")
for p in metrics v1/pipeline healthz readyz; do
    curl -s "${auth[@]}" "$U/$p" > "$B/good.${p//\//_}.out"
done
check "/metrics answers with the token" grep -q '^eddy_' "$B/good.metrics.out"
check "/v1/pipeline answers with the token" grep -q '"sinks"' "$B/good.v1_pipeline.out"
check_eq "without the token: 401" 401 "$(code "$U/metrics")"
kill -TERM $pid; wait_pid 60 $pid
check_eq "the good run exits 0" 0 "$?"
check_eq "PostgreSQL was written with the password in the DSN: 50 keys, 20000 events" "50 20000" \
    "$(psql -qAt "$EDDY_PG_DSN" -c "SELECT count(*), sum(n) FROM $TABLE" | tr '|' ' ')"
check_eq "MariaDB was written by the user with the password: 50 keys, 20000 events" "50	20000" \
    "$(pat_my "SELECT count(*), sum(n) FROM $TABLE")"
check_eq "MariaDB was written with 'password:' beside the host (not a URL): 50 keys, 20000 events" \
    "50	20000" "$(pat_my "SELECT count(*), sum(n) FROM ${TABLE}_p")"

# --- the bad run: logins refused, a server unreachable; the errors are shown
EDDY_LOG=debug "$EDDY" run -c "$B/bad.yaml" --stats "$B/bad.stats.json" > "$B/bad.log" 2>&1 &
pid=$!
wait_for 30 bash -c 'grep -q "my" "$0" && grep -qi "denied" "$0" && grep -qi "WRONGPASS\|invalid username-password" "$0" && grep -q "port=1" "$0"' "$B/bad.log"
check "bad run: MariaDB's refusal is in the log" grep -qi "access denied" "$B/bad.log"
check "bad run: Redis's refusal is in the log" grep -qi "WRONGPASS\|invalid username-password" "$B/bad.log"
check "bad run: the unreachable PostgreSQL is in the log" grep -q "port=1" "$B/bad.log"
curl -s "${auth[@]}" "$U/metrics" > "$B/bad.metrics.out"
curl -s "${auth[@]}" "$U/v1/pipeline" > "$B/bad.v1_pipeline.out"
curl -s "${auth[@]}" "$U/readyz" > "$B/bad.readyz.out"
kill -TERM $pid; sleep 1; kill -TERM $pid 2>/dev/null; wait_pid 30 $pid

# --- no output holds any secret
outs=("$B"/*.out "$B"/*.log "$B"/*.stats.json)
check "outputs were collected (${#outs[@]} files)" test "${#outs[@]}" -ge 12
check "the search finds a secret where one is (the token file)" grep -q -F -- "$TOKEN" "$B/token"
for s in "${SECRETS[@]}"; do
    check "no output holds the secret ${s:0:2}… (${#s} characters)" \
        bash -c '! grep -l -F -- "$0" "${@}"' "$s" "${outs[@]}"
done

pat_my "DROP USER '$MY_USER'@'%'; DROP TABLE IF EXISTS $TABLE, ${TABLE}_p"
redis-cli -p "$EDDY_REDIS_PORT" ACL DELUSER "$REDIS_USER" > /dev/null
redis-cli -p "$EDDY_REDIS_PORT" DEL "secret:$RUN" > /dev/null
psql -q "$EDDY_PG_DSN" -c "DROP TABLE IF EXISTS $TABLE" > /dev/null 2>&1
exit 0
