#!/usr/bin/env bash
# Every test: lints, unit and store tests (SQLite and PostgreSQL), then the
# release build and the browser tests in Chromium.
#
# PostgreSQL: TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres.
# Without a reachable server its tests are skipped with a message; with
# CI=true they fail instead.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
scripts/setup.sh --with-browser

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "${CI:-}" = "true" ]; then
  # A clean clone builds everything once: incremental caches (several GB)
  # would only fill the disk, which once ended a CI run early.
  export CARGO_INCREMENTAL=0
  df -h "$ROOT" | tail -n1 | awk '{print "disk: " $4 " free of " $2}'
fi

# CI machines run PostgreSQL before the session; start it if it has stopped.
if [ "${CI:-}" = "true" ] && ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi

step "rustfmt"
cargo fmt --all -- --check

step "clippy (server side and WASM side)"
cargo clippy -p domain -p storage -p app -p server -p tools --all-targets --features app/ssr -- -D warnings
if [ "$TOOLCHAIN_MODE" = rustup ]; then
  cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
fi

step "unit, store, API, webhook and crash tests (SQLite and PostgreSQL)"
cargo test -p domain -p storage -p app -p server -p tools --features app/ssr

step "load generator and WebSocket benchmark smoke runs (README figures come from release runs)"
# The tools' binaries (cargo test builds only their test harnesses); the
# browser tests use pushfake too.
cargo build -p tools
target/debug/loadtest --events 300 --fanout 3 --concurrency 16
target/debug/wsbench --connections 500 --rate 5 --seconds 2

step "release build (server + WASM)"
leptos_build

step "browser tests (Playwright + Chromium)"
rm -rf target/e2e && mkdir -p target/e2e
(cd end2end && npx playwright test)
echo "first load on Fast 3G (end2end/tests/first-load.spec.ts):"
cat target/e2e/first-load.json

step "browser tests again on PostgreSQL (a fresh database, the same release build)"
PG_URL="${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
E2E_DB=notifikasi_e2e
export PGOPTIONS="--client-min-messages=warning"
if psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $E2E_DB" -qc "CREATE DATABASE $E2E_DB" 2>/dev/null; then
  rm -rf target/e2e && mkdir -p target/e2e
  (cd end2end && E2E_DATABASE_URL="${PG_URL%/*}/$E2E_DB" npx playwright test)
  psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $E2E_DB" || true
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL at $PG_URL is unreachable (psql): CI runs the browser tests on it too" >&2
  exit 1
else
  echo "skipped: no PostgreSQL reachable at $PG_URL (psql); set TEST_POSTGRES_URL to run them"
fi
