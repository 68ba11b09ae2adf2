#!/usr/bin/env bash
# Builds Helix 25.07.1 from its tag, outside the checkout, and installs `hx` with
# its runtime/ into ~/.cache/agentls-e2e/helix-25.07.1 where tests/tests/helix.rs
# finds it. About 15 minutes on two cores; grammars are skipped (LSP needs none).
# .ci/run does not call this: the Helix test says it was skipped without it.
set -euo pipefail
dest="$HOME/.cache/agentls-e2e/helix-25.07.1"
if [ -x "$dest/hx" ] && "$dest/hx" --version | grep -q '^helix 25.07.1'; then
  echo "helix 25.07.1 already in $dest"; exit 0
fi
src="${HELIX_SRC:-$HOME/.cache/agentls-e2e/helix-src}"
if [ ! -d "$src/.git" ]; then
  git clone --depth 1 --branch 25.07.1 https://github.com/helix-editor/helix "$src"
fi
# Helix pins 1.82 in rust-toolchain.toml; any newer stable builds it.
(cd "$src" && HELIX_DISABLE_AUTO_GRAMMAR_BUILD=1 RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-stable}" \
  cargo build --release --locked -p helix-term)
mkdir -p "$dest"
cp "$src/target/release/hx" "$dest/hx"
rm -rf "$dest/runtime" && cp -r "$src/runtime" "$dest/runtime"
"$dest/hx" --version
