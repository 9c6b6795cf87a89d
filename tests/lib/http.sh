# shellcheck shell=bash
# http.sh — what the tests of the HTTP endpoint (docs/http.md) share:
# t_http.sh, t_dashboard.sh, t_sql.sh and tests/lib/serve.sh. Source it
# after tests/lib/tap.sh, from the repository root:
#
#   http_setup NAME    B=tests/out/NAME, emptied; EDDY (bin/eddy unless set);
#                      EDDY_HTTP_PORT (19464 unless set, exported: configs
#                      use it) and U=http://127.0.0.1:$EDDY_HTTP_PORT
#   code ARGS...       the HTTP status of `curl ARGS` (paths sent as given,
#                      no ../ folding); the body goes to $CODE_BODY, /dev/null unless set
#   ctype ARGS...      the Content-Type of the answer
#   metric FILE NAME [FILTER]
#                      the sum of the samples of NAME in a /metrics scrape
#                      (those whose labels contain FILTER), as an integer
#   http_sql QUERY [BASE]
#                      the rows of /v1/sql?q=QUERY at BASE ($U unless given)
#                      as tab-separated lines
#   scrape_while PID PATH FILE
#                      while process PID runs, fetches $U/PATH every 0.3 s;
#                      FILE keeps the last answer that came whole

http_setup() {
    EDDY=${EDDY:-$EDDY_ROOT/bin/eddy}
    B=$EDDY_ROOT/tests/out/$1
    rm -rf "$B"; mkdir -p "$B"
    export EDDY_HTTP_PORT=${EDDY_HTTP_PORT:-19464}
    U=http://127.0.0.1:$EDDY_HTTP_PORT
}

code() { curl -s --path-as-is -o "${CODE_BODY:-/dev/null}" -w '%{http_code}' "$@"; }
ctype() { curl -s --path-as-is -o /dev/null -w '%{content_type}' "$@"; }

http_sql() {
    curl -s "${2:-$U}/v1/sql" --get --data-urlencode "q=$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("rows", []): print("\t".join(str(v) for v in r))'
}

metric() {
    awk -v n="$2" -v f="${3:-}" '$1 ~ "^" n "({|$)" && index($1, f) { s += $2 } END { printf "%d\n", s }' "$1"
}

scrape_while() {
    while kill -0 "$1" 2>/dev/null; do
        curl -sf "$U$2" -o "$3.new" 2>/dev/null && mv "$3.new" "$3"
        sleep 0.3
    done
}
