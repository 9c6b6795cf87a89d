#!/usr/bin/env bash
# The ASan+UBSan build (make SAN=address,undefined → bin-san/eddy) on real
# pipelines: the demo's word count through Kafka into every sink, every
# bad-input case, the where filters and per-record alerts of t_where, eddy
# top (t_top), the HTTP endpoint (t_http) and its SQL routes (t_sql), Avro
# messages good and hostile (t_avro).
# Sanitizers abort on the first error (-fno-sanitize-recover), so a clean exit
# and matching results mean no report.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
SAN=$EDDY_ROOT/bin-san/eddy
check "sanitizer binary exists (make SAN=address,undefined)" test -x "$SAN"
out=$EDDY_ROOT/tests/out/sanitizer_demo.log
EDDY=$SAN scripts/demo > "$out" 2>&1; rc=$?
check_eq "[asan] demo word count exits 0" 0 "$rc"
check "[asan] demo: every sink matches the independent count" grep -q "^RESULT: every sink matches" "$out"
check "[asan] no sanitizer report in the pipelines' logs" \
    bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' .demo/wordcount.log .demo/publish.log"
EDDY=$SAN bash tests/integration/t_bad_input.sh | sed -e 's/^ok - /ok - [asan] /' -e 's/^not ok - /not ok - [asan] /'
EDDY=$SAN bash tests/integration/t_where.sh | sed -e 's/^ok - /ok - [asan] /' -e 's/^not ok - /not ok - [asan] /'
EDDY=$SAN bash tests/integration/t_http.sh | sed -e 's/^ok - /ok - [asan] /' -e 's/^not ok - /not ok - [asan] /'
EDDY=$SAN bash tests/integration/t_avro.sh | sed -e 's/^ok - /ok - [asan] /' -e 's/^not ok - /not ok - [asan] /'
EDDY=$SAN bash tests/integration/t_sql.sh | sed -e 's/^ok - /ok - [asan] /' -e 's/^not ok - /not ok - [asan] /'
# eddy top's screen and --once (t_top.py prefixes its own names; its plan line is dropped)
EDDY=$SAN TOP_LABEL="[asan] " bash tests/integration/t_top.sh | grep -v '^1\.\.'
exit 0
