#!/usr/bin/env bash
# TLS to PostgreSQL, MariaDB and Kafka (issue 10 §5). The test makes a CA, a
# server certificate (for 127.0.0.1 and localhost) and a client certificate
# (CN eddy_cert) with openssl, and a second CA that signed nothing here. It
# starts its own PostgreSQL, MariaDB and Kafka with TLS on (scripts/services
# with EDDY_SERVICES_TLS, in tests/out/tls/services*, on the lane's ports +
# 100): PostgreSQL takes TCP logins over TLS only (hostnossl rejected, the
# role eddy_cert by certificate), MariaDB runs with require_secure_transport,
# Kafka has an SSL listener (PEM keystore) beside its plain one.
#
# Then: bad TLS combinations are refused by `eddy check` (exit 78, each with
# a sentence naming the option); a file that cannot be read stops `eddy run`
# at start; a word count from a directory into both servers, verifying the
# server (sslmode verify-full, ssl_ca) and once more with client
# certificates, read from Kafka over SSL and written to it over SSL too
# (librdkafka's security.protocol and ssl.ca.location passed through), equals
# tr | sort | uniq -c of the input in every sink; eddy's sessions are
# TLS (pg_stat_ssl while it runs, the server's connection log, MariaDB users
# created REQUIRE SSL / REQUIRE X509 that a plain login cannot use, eddy's
# own log naming the protocol and cipher); and with the other CA every
# connection is refused, the log saying why (PostgreSQL "certificate verify
# failed", MariaDB "TLS/SSL error", each with a hint naming the option) and
# nothing is written.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
. tests/lib/oracle.sh
EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
B=$EDDY_ROOT/tests/out/tls
C=$B/certs W=$B/wrong
TPG=$((${EDDY_PG_PORT:-25432} + 100)) TMY=$((${EDDY_MYSQL_PORT:-23306} + 100))
TK=$((${EDDY_KAFKA_PORT:-29092} + 100)) TKC=$((${EDDY_KAFKA_CONTROLLER_PORT:-29093} + 100))
TKS=$((TK + 2)) # the SSL listener
TSD=$B/services KSD=$B/services-kafka # Kafka apart: it starts while the others do
svc() { EDDY_SERVICES_DIR=$TSD EDDY_PG_PORT=$TPG EDDY_MYSQL_PORT=$TMY EDDY_SERVICES_TLS=$C scripts/services "$@"; }
ksvc() {
    EDDY_SERVICES_DIR=$KSD EDDY_KAFKA_PORT=$TK EDDY_KAFKA_CONTROLLER_PORT=$TKC EDDY_KAFKA_SSL_PORT=$TKS \
        EDDY_SERVICES_TLS=$C scripts/services "$@"
}
# servers an interrupted run left behind go first, with their directory
[ -d "$TSD" ] && svc stop postgres mariadb > /dev/null 2>&1
[ -d "$KSD" ] && ksvc stop kafka > /dev/null 2>&1
rm -rf "$B"; mkdir -p "$B"

# --- certificates (EC P-256: quick to make)
mkdir -p "$C" "$W"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() { # DIR CN
    key "$1/ca.key"
    openssl req -x509 -new -key "$1/ca.key" -out "$1/ca.pem" -days 2 -subj "/CN=$2" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # NAME CN EXTENSIONS: signed by the CA in $C
    key "$C/$1.key"
    openssl req -new -key "$C/$1.key" -out "$C/$1.csr" -subj "/CN=$2"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n%s\n' "$3" > "$C/$1.ext"
    openssl x509 -req -in "$C/$1.csr" -CA "$C/ca.pem" -CAkey "$C/ca.key" -set_serial "$RANDOM$RANDOM" \
        -days 2 -out "$C/$1.pem" -extfile "$C/$1.ext" 2>/dev/null
}
ca "$C" "eddy test CA" && ca "$W" "eddy other CA" &&
    leaf server 127.0.0.1 "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost" &&
    leaf client eddy_cert "extendedKeyUsage=clientAuth"
chmod 0600 "$C"/*.key
check "openssl made the certificates (server and client signed by the test CA, not by the other)" \
    bash -c 'openssl verify -CAfile "$0/ca.pem" "$0/server.pem" "$0/client.pem" && ! openssl verify -CAfile "$1/ca.pem" "$0/server.pem"' "$C" "$W"

# --- the servers, with TLS on
trap 'svc stop postgres mariadb >/dev/null 2>&1; ksvc stop kafka >/dev/null 2>&1' EXIT
ksvc start kafka > "$B/services-kafka.out" 2>&1 &
kpid=$!
svc start postgres mariadb > "$B/services.out" 2>&1
check "PostgreSQL and MariaDB started with TLS on (ports $TPG, $TMY)" svc status postgres mariadb
PGLOG=$(readlink -f "$TSD/logs/postgres.log")
pg() { psql -X -qAt -F ' ' "host=127.0.0.1 port=$TPG dbname=eddy user=postgres sslmode=verify-full sslrootcert=$C/ca.pem" -c "$1"; }
my() { mariadb --no-defaults -N -B -h 127.0.0.1 -P "$TMY" -u root --ssl-ca="$C/ca.pem" eddy -e "$1"; }
export TPG TMY C
export -f pg my
# (PostgreSQL's data may sit under /tmp and outlive $B: see pg_base in scripts/services)
pg "DROP TABLE IF EXISTS tls_words, tls_words_cert; DROP ROLE IF EXISTS eddy_cert;
    CREATE ROLE eddy_cert LOGIN; GRANT ALL ON SCHEMA public TO eddy_cert" > /dev/null
my "CREATE USER IF NOT EXISTS eddy_tls@'127.0.0.1' REQUIRE SSL;
    CREATE USER IF NOT EXISTS eddy_cert@'127.0.0.1' REQUIRE X509;
    GRANT ALL ON eddy.* TO eddy_tls@'127.0.0.1'; GRANT ALL ON eddy.* TO eddy_cert@'127.0.0.1'"
check "PostgreSQL refuses a login without TLS (hostnossl reject)" bash -c \
    'psql -X -qAt "host=127.0.0.1 port=$0 dbname=eddy user=postgres sslmode=disable" -c "SELECT 1" 2>&1 | grep -q "no encryption"' "$TPG"
check "MariaDB refuses a login without TLS (require_secure_transport), takes it with TLS" bash -c \
    'mariadb --no-defaults -h 127.0.0.1 -P "$0" -u root --skip-ssl eddy -e "SELECT 1" 2>&1 | grep -q "Access denied" && my "SELECT 1"' "$TMY"

# --- bad combinations: refused by eddy check, naming the option
DSN="host=127.0.0.1 port=$TPG dbname=eddy user=postgres"
bad() { # NAME SINK-BODY REGEX
    check_bad_config "TLS settings" "$1" "sources:
  s: { generator: { events: 10 } }
aggregations:
  a: { from: s, key: [{ k: \"@key\" }], to: [k] }
sinks:
  k:
$2
" "$3"
}
bad pg_cert_alone "    postgres: { dsn: \"$DSN\", sslmode: verify-full, sslrootcert: $C/ca.pem, sslcert: $C/client.pem }" \
    "sslcert is given without sslkey"
bad pg_disable_root "    postgres: { dsn: \"$DSN\", sslmode: disable, sslrootcert: $C/ca.pem }" \
    "sslrootcert is given with sslmode disable"
bad pg_root_prefer "    postgres: { dsn: \"$DSN\", sslrootcert: $C/ca.pem }" \
    "sslrootcert is given with sslmode prefer .libpq's default., which never checks"
bad pg_verify_noroot "    postgres: { dsn: \"$DSN\", sslmode: verify-full }" \
    "sslmode verify-full checks the server's certificate, but sslrootcert is not given"
bad pg_mode_twice "    postgres: { dsn: \"$DSN sslmode=require\", sslmode: verify-full, sslrootcert: $C/ca.pem }" \
    "sslmode is given both here and in the dsn"
bad pg_mode_typo "    postgres: { dsn: \"$DSN\", sslmode: verify }" \
    "sslmode.*verify-full"
bad my_ssl_off "    mariadb: { host: 127.0.0.1, database: eddy, ssl: false, ssl_ca: $C/ca.pem }" \
    "ssl: false .* beside ssl_ca, which needs TLS"
bad my_key_alone "    mariadb: { host: 127.0.0.1, database: eddy, ssl_key: $C/client.key }" \
    "ssl_key is given without ssl_cert"
bad my_verify_notls "    mariadb: { host: 127.0.0.1, database: eddy, ssl_verify_server_cert: true }" \
    "ssl_verify_server_cert .* applies to TLS connections, and TLS is off"
check "the errors never show the DSN (its keywords)" bash -c '! grep -l "dbname=eddy" "$0"/pg_*.out' "$B"

# --- a file that cannot be read: eddy run stops at start, naming it
printf 'sources:\n  s: { generator: { events: 10 } }\naggregations:\n  a: { from: s, key: [{ k: "@key" }], to: [k] }\nsinks:\n  k:\n    %s\n' \
    "postgres: { dsn: \"$DSN\", sslmode: verify-full, sslrootcert: $B/nope/ca.pem }" > "$B/pg_nofile.yaml"
"$EDDY" run -c "$B/pg_nofile.yaml" > "$B/pg_nofile.log" 2>&1; rc=$?
check "a missing sslrootcert: eddy run fails at start (exit $rc)" test "$rc" -ne 0
check "… saying which file and what it should hold" grep -q "postgres.sslrootcert: cannot read '$B/nope/ca.pem': No such file or directory; give the CA certificate" "$B/pg_nofile.log"
sed "s|postgres: .*|mariadb: { host: 127.0.0.1, port: $TMY, database: eddy, ssl_ca: $C/ca.pem, ssl_cert: $B/nope/c.pem, ssl_key: $C/client.key }|" \
    "$B/pg_nofile.yaml" > "$B/my_nofile.yaml"
"$EDDY" run -c "$B/my_nofile.yaml" > "$B/my_nofile.log" 2>&1; rc=$?
check "a missing ssl_cert: eddy run fails at start (exit $rc), naming it" \
    bash -c '[ "$0" -ne 0 ] && grep -q "mariadb.ssl_cert: cannot read" "$1"' "$rc" "$B/my_nofile.log"

# --- the word count over TLS, the server verified (and client certificates)
mkdir -p "$B/src" "$B/inbox"
cp /usr/share/common-licenses/GPL-3 /usr/share/common-licenses/Apache-2.0 "$B/src/"
oracle_wordcount "$B"/src/* > "$B/expected"
RUN=$(date +%s)
KIN=tls.docs.$RUN KOUT=tls.counts.$RUN
kssl() { printf 'security.protocol: ssl, ssl.ca.location: "%s"' "$1/ca.pem"; }
conf() { # NAME CA-DIR SOURCES [MORE-AGGREGATIONS]
    cat > "$B/$1.yaml" <<EOF
runtime: { aggregators: 2, flush_interval: 200ms }
sources:
$3
aggregations:
  words:
    from: docs
    key: [word]
    to: [pg, pg_cert, my, my_cert, kf]
${4:-}
sinks:
  kf:
    kafka: { brokers: "127.0.0.1:$TKS", topic: $KOUT, properties: { $(kssl "$2") } }
  pg:
    postgres: { dsn: "$DSN", sslmode: verify-full, sslrootcert: "$2/ca.pem" }
    table: tls_words
  pg_cert:
    postgres:
      dsn: "host=127.0.0.1 port=$TPG dbname=eddy user=eddy_cert"
      sslmode: verify-full
      sslrootcert: "$2/ca.pem"
      sslcert: "$C/client.pem"
      sslkey: "$C/client.key"
    table: tls_words_cert
  my:
    mariadb: { host: 127.0.0.1, port: $TMY, user: eddy_tls, database: eddy, ssl_ca: "$2/ca.pem" }
    table: tls_words
  my_cert:
    mariadb:
      host: 127.0.0.1
      port: $TMY
      user: eddy_cert
      database: eddy
      ssl_ca: "$2/ca.pem"
      ssl_cert: "$C/client.pem"
      ssl_key: "$C/client.key"
    table: tls_words_cert
EOF
}
KSRC="  docs:
    kafka: { brokers: \"127.0.0.1:$TKS\", topic: $KIN, properties: { $(kssl "$C") } }
    format: words"
conf good "$C" "$KSRC"
wait $kpid
check "Kafka started with an SSL listener (port $TKS)" ksvc status kafka
kcat_ssl() { kcat -b "127.0.0.1:$TKS" -X security.protocol=ssl -X ssl.ca.location="$C/ca.pem" "$@"; }
cat "$B"/src/* | kcat_ssl -P -t "$KIN"
nin=$(kcat_ssl -C -t "$KIN" -e -q -f 'x\n' | wc -l)
check_eq "the input went to Kafka over SSL (kcat: one message per line that is not empty)" \
    "$(cat "$B"/src/* | grep -c .)" "$nin"
check "Kafka's SSL listener refuses a plain client" bash -c \
    '! kcat -b "127.0.0.1:$0" -L -m 3 > /dev/null 2>&1' "$TKS"
"$EDDY" check -c "$B/good.yaml" > "$B/check.out" 2>&1
check_eq "eddy check: the TLS pipeline is valid" 0 "$?"
check "eddy check shows the TLS settings (sslmode, ssl_ca)" bash -c \
    'grep -q "sslmode=verify-full sslrootcert=" "$0" && grep -q "ssl_ca=" "$0"' "$B/check.out"
"$EDDY" run -c "$B/good.yaml" --stats "$B/good.json" > "$B/good.log" 2>&1 &
pid=$!
n=$(wc -l < "$B/expected")
export n
check "all four sinks wrote the $n words" wait_for 60 bash -c \
    '[ "$(pg "SELECT (SELECT count(*) FROM tls_words) + (SELECT count(*) FROM tls_words_cert)" 2>/dev/null)" = $((2 * n)) ] &&
     [ "$(my "SELECT (SELECT count(*) FROM tls_words) + (SELECT count(*) FROM tls_words_cert)" 2>/dev/null)" = $((2 * n)) ]'
pg "SELECT s.ssl, s.version, a.usename FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
    WHERE a.application_name = 'eddy' ORDER BY a.usename" > "$B/pg_stat_ssl"
check "pg_stat_ssl: eddy's sessions (postgres, eddy_cert) are TLS" bash -c \
    'grep -q "^t TLSv1\.[23] eddy_cert$" "$0" && grep -q "^t TLSv1\.[23] postgres$" "$0" && ! grep -q "^f" "$0"' "$B/pg_stat_ssl"
kill -TERM $pid; wait_pid 60 $pid
check_eq "the run exits 0 on SIGTERM" 0 "$?"
kcat_ssl -C -t "$KOUT" -e -q > "$B/kafka_out.jsonl"
python3 - "$B/kafka_out.jsonl" > "$B/kafka_words" <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1], encoding="utf-8"):
    if line.strip():
        row = json.loads(line)
        last[row["key"]["word"]] = row["count"]
for w in sorted(last, key=lambda w: w.encode()):
    print(w, last[w])
PY
check_files_eq "Kafka $KOUT (SSL, the last count of each word) = tr | sort | uniq -c" "$B/expected" "$B/kafka_words"
for t in tls_words tls_words_cert; do
    pg "SELECT word, count FROM $t" | LC_ALL=C sort > "$B/pg_$t"
    check_files_eq "PostgreSQL $t (sslmode verify-full$([ $t = tls_words_cert ] && echo ', client certificate')) = tr | sort | uniq -c" \
        "$B/expected" "$B/pg_$t"
    my "SELECT word, count FROM $t" | tr '\t' ' ' | LC_ALL=C sort > "$B/my_$t"
    check_files_eq "MariaDB $t (ssl_ca$([ $t = tls_words_cert ] && echo ', REQUIRE X509 user')) = tr | sort | uniq -c" \
        "$B/expected" "$B/my_$t"
done
check "the server's log: eddy's logins were TLS (log_connections)" bash -c \
    'grep -E "connection authorized: user=eddy_cert .*application_name=eddy SSL enabled" "$0" | grep -q . &&
     grep -E "connection authorized: user=postgres .*application_name=eddy SSL enabled" "$0" | grep -q .' "$PGLOG"
check "the REQUIRE SSL / X509 users cannot log in without TLS or certificate" bash -c \
    'm() { mariadb --no-defaults -h 127.0.0.1 -P "$0" "$@" eddy -e "SELECT 1" 2>&1; }
     m -u eddy_tls --skip-ssl | grep -qi "insecure transport\|denied" && m -u eddy_cert --ssl-ca="$1" | grep -qi denied' "$TMY" "$C/ca.pem"
check "eddy's log names TLS on each connection (4 sinks)" bash -c \
    '[ "$(grep -cE "connected to (postgres|mariadb) .*, TLS (TLSv1\.[23]|[A-Z0-9_-]+)\)" "$0")" -ge 4 ]' "$B/good.log"

# --- the other CA: both verifications fail, clearly, and nothing is written
pg "DROP TABLE tls_words, tls_words_cert" > /dev/null
my "DROP TABLE tls_words; DROP TABLE tls_words_cert"
rm -f "$B"/inbox/* "$B"/inbox/.eddy-*
# (from a directory: a Kafka source with the other CA, which reads nothing, feeds a null sink)
conf wrong "$W" "  docs:
    directory: { path: \"$B/inbox\" }
    format: words
  kin:
    kafka: { brokers: \"127.0.0.1:$TKS\", topic: $KIN, properties: { $(kssl "$W") } }" "  lines:
    from: kin
    key: [{ k: \"@key\" }]
    to: nothing
  names:
    from: docs
    key: [word]
    to: pg_name"
# the right CA, but a host name the server's certificate does not hold
printf '  nothing: { null: {} }\n  pg_name:\n    postgres: { dsn: "%s", sslmode: verify-full, sslrootcert: "%s" }\n    table: tls_words_name\n' \
    "host=wrong.invalid hostaddr=127.0.0.1 port=$TPG dbname=eddy user=postgres" "$C/ca.pem" >> "$B/wrong.yaml"
"$EDDY" run -c "$B/wrong.yaml" > "$B/wrong.log" 2>&1 &
pid=$!
cp "$B/src/GPL-3" "$B/inbox/GPL-3"
wait_for 30 bash -c '[ "$(grep -c "not written: sink .*\(certificate verify failed\|TLS/SSL error\|does not match host name\)" "$0")" -ge 5 ] && [ "$(grep -c "certificate verify failed: broker certificate could not be verified" "$0")" -ge 2 ]' "$B/wrong.log"
kill -TERM $pid; sleep 1; kill -KILL $pid 2>/dev/null; wait $pid 2>/dev/null
for s in pg pg_cert; do
    check "the other CA: sink '$s' is refused: 'certificate verify failed', the CA in sslrootcert" \
        grep -q "sink '$s' (.*certificate verify failed (the server's certificate is not signed by the CA in sslrootcert)" "$B/wrong.log"
done
check "the right CA but another host name: sink 'pg_name' is refused (verify-full), with a hint" \
    grep -q "sink 'pg_name' (.*does not match host name \"wrong.invalid\" (sslmode verify-full: connect by a name the certificate holds)" "$B/wrong.log"
for s in my my_cert; do
    check "the other CA: sink '$s' is refused: 'TLS/SSL error', the CA in ssl_ca" \
        grep -q "sink '$s' (.*TLS/SSL error: .*(error 2026, TLS: the server's certificate must be signed by the CA in ssl_ca" "$B/wrong.log"
done
check "the other CA: the Kafka sink's producer is refused (SSL handshake failed, certificate verify failed)" \
    grep -qE "\[kf\].*SSL handshake failed: .*certificate verify failed" "$B/wrong.log"
check "the other CA: the Kafka source's consumer is refused (SSL handshake failed, certificate verify failed)" \
    grep -qE "\[kin\].*SSL handshake failed: .*certificate verify failed" "$B/wrong.log"
check_eq "the other CA: PostgreSQL has no table written" "0" \
    "$(pg "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'tls_words%'")"
check_eq "the other CA: MariaDB has no table written" "0" \
    "$(my "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'tls_words%'")"
exit 0
