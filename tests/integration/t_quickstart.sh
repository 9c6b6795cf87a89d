#!/usr/bin/env bash
# The README's quick start, run as written: the lines between the
# quickstart:begin/end markers of README.md, in a scratch copy of the
# repository's layout (bin/eddy = the binary under test, the example config),
# with only the HTTP port changed. The answer of the README's curl must equal
# a word count done here in Python over the same dropped file.
set -uo pipefail
cd "$EDDY_ROOT"
. tests/lib/tap.sh
EDDY_BIN=${EDDY:-$EDDY_ROOT/bin/eddy}
PORT=${EDDY_HTTP_PORT:-19464}
W=$(mktemp -d /tmp/eddy-quickstart.XXXXXX)
EDDY_PID=
trap '[ -n "$EDDY_PID" ] && kill $EDDY_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/bin" "$W/config/examples"
ln -s "$EDDY_BIN" "$W/bin/eddy"
cp config/examples/quickstart.yaml "$W/config/examples/"

# The README's lines, fence removed, the port made ours.
sed -n '/<!-- quickstart:begin/,/<!-- quickstart:end/p' README.md | grep -v '^<!--\|^```' \
    | sed "s/127.0.0.1:9464/127.0.0.1:$PORT/" > "$W/steps.sh"
check_eq "README quick start has three steps (run, drop a file, curl)" 3 "$(wc -l < "$W/steps.sh")"
run_line=$(sed -n 1p "$W/steps.sh"); drop_line=$(sed -n 2p "$W/steps.sh"); curl_line=$(sed -n 3p "$W/steps.sh")

cd "$W"
export EDDY_HTTP_PORT=$PORT
eval "$run_line" > "$W/eddy.log" 2>&1
EDDY_PID=$!
wait_for 15 curl -sf "http://127.0.0.1:$PORT/healthz" \
    && tap_ok "eddy is up and answers /healthz" || tap_fail "eddy is up and answers /healthz" "$(tail -n 20 "$W/eddy.log")"
wait_for 10 test -d quickstart/inbox || true
eval "$drop_line"
dropped=$(ls quickstart/inbox)

# Python counts the words of the dropped file (the words format: split on
# whitespace, these words are plain lowercase) and compares with the curl answer.
check_answer() {
    eval "$curl_line" > "$W/answer.json" 2>/dev/null || return 1
    python3 - "$W/answer.json" quickstart/inbox/"$dropped" <<'PY'
import collections, json, sys
ans = json.load(open(sys.argv[1]))
words = open(sys.argv[2]).read().split()
want = sorted(collections.Counter(words).items(), key=lambda kv: (-kv[1], kv[0]))
got = [tuple(r) for r in ans["rows"]]
sys.exit(0 if ans["columns"] == ["word", "count"] and got == want else 1)
PY
}
if wait_for 20 check_answer; then
    tap_ok "the README's curl answers the word count of the dropped file (= Python)"
else
    tap_fail "the README's curl answers the word count of the dropped file (= Python)" \
        "answer: $(cat "$W/answer.json" 2>/dev/null)" "$(tail -n 20 "$W/eddy.log")"
fi
per_minute() {
    curl -s "http://127.0.0.1:$PORT/v1/sql" --get --data-urlencode 'q=SELECT sum(count) FROM words_per_minute' \
        | python3 -c 'import json, sys; sys.exit(0 if json.load(sys.stdin)["rows"] == [[5]] else 1)'
}
check "the per-minute table holds the same 5 words" per_minute
kill "$EDDY_PID"
if wait_pid 20 "$EDDY_PID"; then tap_ok "SIGTERM stops eddy cleanly"; else tap_fail "SIGTERM stops eddy cleanly" "$(tail -n 20 "$W/eddy.log")"; fi
check "words.db holds the counts after the stop (sqlite3 CLI)" sh -c \
    "test \"\$(sqlite3 quickstart/words.db 'SELECT word||\":\"||count FROM words ORDER BY word' | tr '\n' ' ')\" = 'and:1 cat:1 hat:1 the:2 '"
exit $TAP_FAILED
