#!/usr/bin/env bash
# `make fuzz`: a longer schemathesis CLI run than the one in `make test`, against the real
# server (`appointments serve`) on PostgreSQL. The database appointments_fuzz is created,
# migrated with alembic and dropped here; the first admin comes from the CLI
# (`appointments create-admin --password-stdin`) and logs in over HTTP to seed a clinic
# (a department, two doctors, two patients with logins, a front-desk patient, bookings).
#
# Schemathesis logs in itself through a Web Fuzzing Commons document listing the seeded
# users (logging in again whenever a token stops working, e.g. after a fuzzed logout).
# Every check runs; tests/contract/hooks.py (loaded with SCHEMATHESIS_HOOKS) supplies the
# same data tweaks and narrow failure filters as the pytest run (tests/contract/NOTES.md).
#
# Knobs (environment): FUZZ_PORT (8765), FUZZ_MAX_EXAMPLES (100, per operation),
# FUZZ_MAX_TIME (300 s for both runs), FUZZ_SEED (20270301), FUZZ_WORKERS (2),
# FUZZ_POSTGRES (server URL, postgresql://postgres@127.0.0.1:5432), FUZZ_KEEP_DB=1.
# The report (JUnit XML and NDJSON events) lands in bench/results/fuzz/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BIN="$ROOT/.venv/bin"
PORT="${FUZZ_PORT:-8765}"
SERVER="${FUZZ_POSTGRES:-postgresql://postgres@127.0.0.1:5432}"
DB_NAME=appointments_fuzz
BASE="http://127.0.0.1:$PORT"
REPORT_DIR="$ROOT/bench/results/fuzz"

[ -x "$BIN/schemathesis" ] || { echo "fuzz: run 'make install' first" >&2; exit 1; }

WORK=$(mktemp -d)
SERVER_PID=""
psql_admin() { psql "$SERVER/postgres" -v ON_ERROR_STOP=1 -qAt -c "$1"; }

cleanup() {
    local status=$?
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM -- "-$SERVER_PID" 2>/dev/null || true  # the server's own process group
        for _ in $(seq 30); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 1; done
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    fi
    if [ "${FUZZ_KEEP_DB:-0}" != 1 ]; then
        psql_admin "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export DATABASE_URL="postgresql+asyncpg://${SERVER#postgresql://}/$DB_NAME"
export ENVIRONMENT=development
SECRET_KEY=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))')
export SECRET_KEY

echo "fuzz: creating and migrating $DB_NAME" >&2
psql_admin "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)"
psql_admin "CREATE DATABASE $DB_NAME"
"$BIN/alembic" upgrade head >/dev/null

PASSWORD=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(18))')
printf '%s\n' "$PASSWORD" | "$BIN/appointments" create-admin \
    --username admin --email admin@example.com --full-name "Fuzz Admin" --password-stdin >&2

echo "fuzz: serving on $BASE" >&2
setsid "$BIN/appointments" serve --host 127.0.0.1 --port "$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 60); do
    curl -fsS "$BASE/health" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.5
done
curl -fsS "$BASE/health" >/dev/null

TOKEN=$(curl -fsS "$BASE/api/auth/login" --data-urlencode "username=admin" \
    --data-urlencode "password=$PASSWORD" | "$BIN/python" -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

echo "fuzz: seeding a clinic" >&2
BASE="$BASE" TOKEN="$TOKEN" PASSWORD="$PASSWORD" WORK="$WORK" "$BIN/python" - <<'PY'
"""Seed through the API; write the WFC auth document and the known ids for the hooks."""
import json
import os
from datetime import UTC, datetime, time, timedelta

import httpx

base, password, work = os.environ["BASE"], os.environ["PASSWORD"], os.environ["WORK"]
client = httpx.Client(base_url=base, timeout=30)
admin = {"Authorization": f"Bearer {os.environ['TOKEN']}"}


def ok(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    return response.json()


def login(username: str) -> dict:
    body = {"username": username, "password": password}
    token = ok(client.post("/api/auth/login", json=body), 200)["access_token"]
    return ok(client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}), 200) | {
        "token": token
    }


department = ok(client.post("/api/departments", json={"name": "Cardiology"}, headers=admin), 201)
empty = ok(client.post("/api/departments", json={"name": "Empty wing"}, headers=admin), 201)
for name in ("doctor1", "doctor2", "doctor3"):
    body = {
        "email": f"{name}@example.com", "username": name, "full_name": f"Dr {name}",
        "password": password, "department_id": department["id"], "specialization": "Cardiology",
    }
    ok(client.post("/api/doctors", json=body, headers=admin), 201)
for name in ("patient1", "patient2"):
    body = {
        "email": f"{name}@example.com", "username": name, "full_name": f"Patient {name}",
        "password": password,
    }
    ok(client.post("/api/auth/register", json=body), 201)
users = {name: login(name) for name in ("admin", "doctor1", "doctor2", "doctor3", "patient1", "patient2")}
walk_in = ok(client.post("/api/patients", json={"full_name": "Walk In"}, headers=admin), 201)
spare = ok(
    client.post(
        "/api/admin/users",
        json={
            "email": "spare@example.com", "username": "spare", "full_name": "Spare",
            "password": password, "role": "PATIENT",
        },
        headers=admin,
    ),
    201,
)

day = datetime.now(UTC).date()
appointments = []
for who, doctor, days, hour in [
    ("patient1", "doctor1", 1, 10), ("patient2", "doctor2", 1, 10), ("patient1", "doctor2", 2, 11),
    ("patient2", "doctor1", 3, 14), ("patient1", "doctor1", 4, 9), ("patient2", "doctor2", 5, 15),
]:
    start = day + timedelta(days=days)
    while start.weekday() >= 5:
        start += timedelta(days=1)
    body = {
        "doctor_id": users[doctor]["doctor_id"],
        "starts_at": datetime.combine(start, time(hour), tzinfo=UTC).isoformat(),
    }
    headers = {"Authorization": f"Bearer {users[who]['token']}"}
    appointments.append(ok(client.post("/api/appointments", json=body, headers=headers), 201)["id"])

identities = ["patient1", "patient2", "doctor1", "doctor2", "admin"]
known = {
    "readable": {
        "user_id": [users[n]["id"] for n in identities] + [spare["id"]],
        "department_id": [department["id"], empty["id"]],
        "doctor_id": [users[n]["doctor_id"] for n in ("doctor1", "doctor2", "doctor3")],
        "patient_id": [users["patient1"]["patient_id"], users["patient2"]["patient_id"], walk_in["id"]],
        "appointment_id": appointments,
    },
    "expendable": {
        "user_id": [spare["id"]],
        "doctor_id": [users["doctor3"]["doctor_id"]],
        "patient_id": [walk_in["id"]],
    },
    "protected": [
        value
        for n in identities
        for value in (users[n]["id"], users[n].get("doctor_id"), users[n].get("patient_id"))
        if value
    ],
}
with open(f"{work}/known_ids.json", "w") as f:
    json.dump(known, f)

login_as = {
    "endpoint": "/api/auth/login",
    "verb": "POST",
    "contentType": "application/json",
    "payloadUserPwd": {"usernameField": "username", "passwordField": "password", "password": password},
    "token": {
        "extractFrom": "body", "extractSelector": "/access_token",
        "sendIn": "header", "sendName": "Authorization", "sendTemplate": "Bearer {token}",
    },
}
wfc = {
    "auth": [
        {"name": n, "loginEndpointAuth": {**login_as, "payloadUserPwd": {**login_as["payloadUserPwd"], "username": n}}}
        for n in identities
    ]
}
with open(f"{work}/wfc.json", "w") as f:
    json.dump(wfc, f)
PY

# Two runs, each pinned to one identity so a resource is created and read by the same
# user: ADMIN (every operation it may use), then PATIENT patient1 with patient2 loaded as
# its peer, so `object_level_authorization` replays patient1's reads as patient2.
run_as() {  # run_as USER "PEERS" SECONDS
    cat >"$WORK/schemathesis-$1.toml" <<TOML
[auth.wfc]
path = "$WORK/wfc.json"
user = "$1"
$2
TOML
    echo "fuzz: schemathesis run as $1 (max ${FUZZ_MAX_EXAMPLES:-100} examples per operation, $3 s)" >&2
    PYTHONPATH="$ROOT" SCHEMATHESIS_HOOKS=tests.contract.hooks FUZZ_KNOWN_IDS="$WORK/known_ids.json" \
        "$BIN/schemathesis" --config-file "$WORK/schemathesis-$1.toml" run "$BASE/openapi.json" \
        --checks all \
        --max-examples "${FUZZ_MAX_EXAMPLES:-100}" \
        --max-time "$3" \
        --seed "${FUZZ_SEED:-20270301}" \
        --workers "${FUZZ_WORKERS:-2}" \
        --generation-allow-x00 false \
        --generation-database none \
        --suppress-health-check too_slow \
        --request-timeout 30 \
        --report junit,ndjson --report-dir "$REPORT_DIR/$1" \
        --no-color
}

mkdir -p "$REPORT_DIR"
HALF=$(( ${FUZZ_MAX_TIME:-300} / 2 ))
status=0
run_as admin "" "$HALF" || status=$?
run_as patient1 'peers = ["patient1", "patient2"]' "$HALF" || status=$?

if grep -q "Traceback\|unhandled error" "$WORK/server.log"; then
    echo "fuzz: the server logged errors:" >&2
    grep -A20 "Traceback\|unhandled error" "$WORK/server.log" | head -80 >&2
    status=1
fi
exit "$status"
