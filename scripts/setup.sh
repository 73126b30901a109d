#!/usr/bin/env bash
# Installs what building (and, with --with-browser, testing) needs. Idempotent:
# every step checks first and skips what is already present at the right
# version, so a second run takes seconds. The slow steps on a fresh machine
# are cargo-leptos (~10 min) and wasm-bindgen-cli (~3 min).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

WITH_BROWSER=0
for arg in "$@"; do
  case "$arg" in
    --with-browser) WITH_BROWSER=1 ;;
    *) echo "usage: scripts/setup.sh [--with-browser]" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
APT_UPDATED=0
apt_install() {
  if ! command -v apt-get >/dev/null; then
    say "please install: $* (no apt-get here)"; return 1
  fi
  if [ "$APT_UPDATED" = 0 ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- system packages ------------------------------------------------------
missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v curl >/dev/null || missing+=(curl ca-certificates)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v python3 >/dev/null || missing+=(python3 python3-venv)
if [ "$WITH_BROWSER" = 1 ] && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi

if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
  say "Rust is missing: install rustup (https://rustup.rs), then run this again."; exit 1
fi

# --- the Rust toolchain with the wasm target --------------------------------
has_wasm_target() {
  rustup target list --installed --toolchain "$RUST_CHANNEL" 2>/dev/null | grep -qx wasm32-unknown-unknown
}
mkdir -p .tools
if has_wasm_target && rustup component list --installed --toolchain "$RUST_CHANNEL" 2>/dev/null | grep -q '^clippy'; then
  echo rustup > .tools/toolchain-mode
else
  say "installing Rust $RUST_CHANNEL with the wasm32 target"
  if timeout 300 rustup toolchain install "$RUST_CHANNEL" --profile minimal \
       --target wasm32-unknown-unknown --component clippy,rustfmt && has_wasm_target; then
    echo rustup > .tools/toolchain-mode
  else
    say "rustup could not download the toolchain: using Debian's rustc-web for the WASM build"
    [ -x /usr/bin/rustc ] && /usr/bin/rustc --version | grep -q '1\.9[6-9]' || apt_install rustc-web rust-web-src
    [ -x /usr/lib/llvm-22/bin/wasm-ld ] || apt_install lld-22
    rustup component list --installed --toolchain stable | grep -q '^clippy' || \
      timeout 120 rustup component add clippy rustfmt --toolchain stable || true
    echo debian > .tools/toolchain-mode
  fi
fi
source "$ROOT/scripts/env.sh"
say "toolchain mode: $TOOLCHAIN_MODE"

# --- wasm-opt (Debian's binaryen is too old for cargo-leptos) ----------------
if ! wasm-opt --version 2>/dev/null | grep -q "version $BINARYEN_VERSION"; then
  say "npm: binaryen@$BINARYEN_VERSION (wasm-opt)"
  mkdir -p "$TOOLS_PREFIX"
  npm install --prefix "$TOOLS_PREFIX" --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION"
fi

# --- cargo-leptos and the wasm-bindgen CLI matching Cargo.lock ------------
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  say "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (about 10 minutes on 2 cores)"
  if [ "$TOOLCHAIN_MODE" = debian ]; then
    # cargo-leptos needs rustc >= 1.96; Debian's rustc-web is.
    RUSTC=/usr/bin/rustc cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  else
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
  fi
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  say "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# --- protocol peers the tests start (a real SMTP server) -------------------
if ! .tools/py/bin/python -c "import aiosmtpd" 2>/dev/null; then
  say "python venv .tools/py with aiosmtpd $AIOSMTPD_VERSION (the email tests' SMTP server)"
  python3 -m venv .tools/py
  .tools/py/bin/pip install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
fi

# --- browser test dependencies ---------------------------------------------
if [ "$WITH_BROWSER" = 1 ]; then
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    say "npm ci in end2end (Playwright, without its own browsers)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
  fi
fi
say "ready"
