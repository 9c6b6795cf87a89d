# tap.sh — tiny TAP helpers for eddy's shell integration tests.
# Each check prints "ok - NAME" or "not ok - NAME" (with diagnostics as
# "# ..." lines); tests/run counts them. Source it: . tests/lib/tap.sh
TAP_FAILED=0

tap_ok()   { printf 'ok - %s\n' "$1"; }
tap_fail() { printf 'not ok - %s\n' "$1"; shift; for l in "$@"; do printf '# %s\n' "$l"; done; TAP_FAILED=$((TAP_FAILED + 1)); }

# check NAME CMD...: ok if CMD exits 0.
check() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then tap_ok "$name"; else tap_fail "$name" "command: $*" "$(printf '%s' "$out" | tail -n 15)"; fi
}

# check_eq NAME EXPECTED ACTUAL
check_eq() {
    if [ "$2" == "$3" ]; then tap_ok "$1"; else tap_fail "$1" "expected: $2" "actual:   $3"; fi
}

# check_files_eq NAME EXPECTED_FILE ACTUAL_FILE: identical content (shows a diff head otherwise)
check_files_eq() {
    if cmp -s "$2" "$3"; then tap_ok "$1"; else
        tap_fail "$1" "files differ: $2 (expected) vs $3 (actual); $(wc -l < "$2") vs $(wc -l < "$3") lines" \
            "$(diff "$2" "$3" | head -n 10)"
    fi
}

# wait_for SECONDS CMD...: polls CMD every 0.2 s until it succeeds; 1 on timeout.
# (For waiting on external servers and processes, not for asserting timing.)
wait_for() {
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.2
    done
}

# wait_pid SECS PID: waits for a background process like `wait PID` and
# returns its exit status, but never longer than SECS: then it says so, sends
# SIGKILL and returns 124, so a stuck run fails its check instead of hanging
# the suite.
wait_pid() {
    local deadline=$((SECONDS + $1)) pid=$2
    while kill -0 "$pid" 2>/dev/null; do
        if [ $SECONDS -ge "$deadline" ]; then
            echo "# pid $pid still running after $1 s: killed"
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
            return 124
        fi
        sleep 0.2
    done
    wait "$pid"
}

# check_bad_config WHAT NAME YAML-BODY EXPECTED-REGEX: writes $B/NAME.yaml;
# `eddy check` must exit 78 with an error matching the regex.
check_bad_config() {
    printf '%s' "$3" > "$B/$2.yaml"
    "$EDDY" check -c "$B/$2.yaml" > "$B/$2.out" 2>&1; rc=$?
    check_eq "bad $1 ($2): exit 78" 78 "$rc"
    check "bad $1 ($2): $(sed -n 1p "$B/$2.out" | cut -c1-70)…" grep -qE "$4" "$B/$2.out"
}

# json_get FILE KEY...: the value at KEY/KEY/... of a JSON file (eddy --stats)
json_get() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[k]
print(d)' "$@"
}
