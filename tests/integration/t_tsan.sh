#!/usr/bin/env bash
# The ThreadSanitizer build (make SAN=thread → bin-tsan/eddy) on the word
# count of t_wordcount. By default (CI) a reduced run: the first
# EDDY_TSAN_DOCS (default 150) documents, section 1 (Kafka in, 3 decoder
# actors, every sink out, alerts) and section 2 (SIGTERM after the first
# durable flush: the drain, then a restart from the committed offsets). EDDY_TSAN_LONG=1
# (`tests/run tsan --long`, `make tsan-full`) runs the whole of t_wordcount
# on the whole corpus: also kill -9, MariaDB bounced, 2 instances, 2
# processes in a group.
# TSAN_OPTIONS (tests/run) has halt_on_error=1, so a race ends the process
# with exit 66 and its results then do not match; the logs are also searched
# for a report.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
TSAN=$EDDY_ROOT/bin-tsan/eddy
check "ThreadSanitizer binary exists (make SAN=thread)" test -x "$TSAN"
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1 suppressions=$EDDY_ROOT/tests/tsan.supp}
export EDDY_WC_TERM_AT=progress # TSan is slow: SIGTERM after a first flush is mid-stream
if [ "${EDDY_TSAN_LONG:-0}" = 1 ]; then
    echo "# long mode: the whole word count"
    export EDDY_WC_SECTIONS="1 2 3 4 5 6" EDDY_WC_DOCS=0
else
    echo "# CI mode: sections 1 and 2 on ${EDDY_TSAN_DOCS:-150} documents (EDDY_TSAN_LONG=1: everything)"
    export EDDY_WC_SECTIONS="1 2" EDDY_WC_DOCS=${EDDY_TSAN_DOCS:-150}
fi
EDDY=$TSAN bash tests/integration/t_wordcount.sh | grep -v '^1\.\.' |
    sed -e 's/^ok - /ok - [tsan] /' -e 's/^not ok - /not ok - [tsan] /'
reports=$(grep -l 'WARNING: ThreadSanitizer' tests/out/wordcount/*.log 2>/dev/null)
check_eq "[tsan] no ThreadSanitizer report in the word count's logs" "" "$reports"
for f in $reports; do grep -m3 -A12 'WARNING: ThreadSanitizer' "$f" | sed 's/^/# /'; done
exit 0
