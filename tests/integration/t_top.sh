#!/usr/bin/env bash
# eddy top under tmux against the real Redis (tests/integration/t_top.py).
set -uo pipefail
cd "$EDDY_ROOT"
exec python3 tests/integration/t_top.py
