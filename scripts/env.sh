# Sourced by the other scripts: puts the project's tools on PATH and picks how
# the WASM front end is built.
#
#   rustup mode (normal): the toolchain of rust-toolchain.toml, with its
#     wasm32-unknown-unknown target, builds everything.
#   debian mode (machines where rustup cannot download the wasm target):
#     rustup's stable builds the server; Debian's rustc-web builds the WASM
#     with -Zbuild-std and lld-22 (see ../shared/toolchain.md).
# scripts/setup.sh decides and records the mode in .tools/toolchain-mode.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TOOLS_PREFIX="${TOOLS_PREFIX:-$HOME/.local/share/notifikasi-tools}"
export PATH="$HOME/.cargo/bin:$TOOLS_PREFIX/node_modules/.bin:$PATH"
export RUST_CHANNEL="$(sed -n 's/^channel *= *"\(.*\)"/\1/p' "$ROOT/rust-toolchain.toml")"
export WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' "$ROOT/Cargo.lock")"
export CARGO_LEPTOS_VERSION="0.3.11"
export BINARYEN_VERSION="132"
export AIOSMTPD_VERSION="1.4.6"

TOOLCHAIN_MODE="rustup"
if [ -f "$ROOT/.tools/toolchain-mode" ]; then
  TOOLCHAIN_MODE="$(cat "$ROOT/.tools/toolchain-mode")"
fi
export TOOLCHAIN_MODE
if [ "$TOOLCHAIN_MODE" = "debian" ]; then
  # rust-toolchain.toml names a toolchain this machine cannot install.
  export RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-stable}"
fi

# Release build of the server and the WASM bundle into target/: the site's
# files hashed (Cargo.toml's hash-files) and precompressed (.br and .gz
# beside each), served as they are by the server.
leptos_build() {
  if [ "$TOOLCHAIN_MODE" = "debian" ]; then
    LEPTOS_BIN_CARGO_COMMAND="env -u RUSTC -u RUSTC_BOOTSTRAP cargo" \
    RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-22/bin/wasm-ld \
      cargo leptos build --release --precompress --lib-cargo-args=-Zbuild-std=std,panic_abort "$@"
  else
    cargo leptos build --release --precompress "$@"
  fi
}
