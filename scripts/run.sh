#!/usr/bin/env bash
# Builds the app and runs it on an embedded SQLite file (data/notifikasi.db,
# created and migrated on start) with demo data. Open http://127.0.0.1:3000.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
scripts/setup.sh
leptos_build
echo
echo "  Notifikasi ISP: http://${BIND_ADDR:-127.0.0.1:3000}"
echo "  Sign in as admin@demo.id / demo12345 (other demo accounts: README.md)"
echo
export DEMO_DATA="${DEMO_DATA:-1}"
export DATABASE_URL="${DATABASE_URL:-sqlite:data/notifikasi.db}"
exec target/release/server
