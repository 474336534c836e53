#!/usr/bin/env bash
# `make bench`: seed PostgreSQL (database appointments_bench, created and dropped here),
# serve the app with 2 workers, drive it with wrk from 127.0.0.1, print the JSON report
# (also bench/results/latest.json and latest.md). About 6-8 minutes on 2 cores.
#
# Knobs (environment): BENCH_DURATION (s per timed run, 10), BENCH_WARMUP (3),
# BENCH_CONNECTIONS (32), BENCH_SMALL (10000), BENCH_BIG ("full" = the two-year window,
# >= 500,000; or a number for a quick check), BENCH_PATIENTS (20000),
# BENCH_POSTGRES (server URL, postgresql://postgres@127.0.0.1:5432), BENCH_KEEP_DB=1.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
PY="$ROOT/.venv/bin/python"
RESULTS="$ROOT/bench/results"
DB_NAME=appointments_bench
SERVER="${BENCH_POSTGRES:-postgresql://postgres@127.0.0.1:5432}"

[ -x "$PY" ] || { echo "bench: run 'make install' first (.venv missing)" >&2; exit 1; }
if ! command -v wrk >/dev/null; then
    echo "bench: installing wrk" >&2
    apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
command -v wrk >/dev/null || { echo "bench: wrk is required (apt-get install wrk)" >&2; exit 1; }

mkdir -p "$RESULTS"
rm -rf "$RESULTS/logs" "$RESULTS/work"  # server logs and request files of the last run
: >"$RESULTS/.server-pids"

psql_admin() { psql "$SERVER/postgres" -v ON_ERROR_STOP=1 -qAt -c "$1"; }

DRIVER=""
cleanup() {
    local status=$?
    if [ -n "$DRIVER" ] && kill -0 "$DRIVER" 2>/dev/null; then
        kill -TERM "$DRIVER" 2>/dev/null || true  # the driver stops its servers on TERM
        for _ in $(seq 40); do kill -0 "$DRIVER" 2>/dev/null || break; sleep 1; done
    fi
    # servers the driver may have left behind (it stops them itself unless it was killed)
    if [ -s "$RESULTS/.server-pids" ]; then
        while read -r pid; do
            [ -n "$pid" ] && kill -TERM -- "-$pid" 2>/dev/null || true
        done <"$RESULTS/.server-pids"
        sleep 1
        while read -r pid; do
            [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null || true
        done <"$RESULTS/.server-pids"
        : >"$RESULTS/.server-pids"
    fi
    if [ "${BENCH_KEEP_DB:-0}" != 1 ]; then
        psql_admin "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" 2>/dev/null || true
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "bench: creating database $DB_NAME" >&2
psql_admin "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)"
psql_admin "CREATE DATABASE $DB_NAME"

export BENCH_DSN="$SERVER/$DB_NAME"
export DATABASE_URL="${SERVER/postgresql:/postgresql+asyncpg:}/$DB_NAME"
export ENVIRONMENT=production
SECRET_KEY="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(48))')"
export SECRET_KEY
export CLINIC_TIMEZONE="${CLINIC_TIMEZONE:-Europe/Berlin}"
export ACCESS_TOKEN_EXPIRE_MINUTES=120

"$ROOT/.venv/bin/alembic" upgrade head >&2
# In the background, so INT/TERM reach the traps at once; timeout is a last bound on the
# whole run should anything inside hang (every step has its own, shorter one).
timeout --signal=TERM --kill-after=30 1500 "$PY" "$ROOT/bench/load.py" "$@" &
DRIVER=$!
wait "$DRIVER"
