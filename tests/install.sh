#!/usr/bin/env bash
# Everything the test suite drives besides cargo, installed when missing and
# cached outside the checkout, so a second run only checks: Neovim 0.7.2 and
# 0.11.4 (tests/install-neovim.sh), Node.js and npm (Debian's, when the machine
# has none: editors/vscode's tests), Emacs with eglot (Debian's emacs-nox and
# elpa-eglot: tests/tests/emacs.rs), Kakoune (Debian's) with kak-lsp 15.0.1 from
# crates.io (tests/tests/kakoune.rs), the real VS Code in headless Chromium
# (tests/vscode/setup.sh), the MCP servers from npm that tests/tests/mcp.rs
# starts (tests/mcp/setup.sh), and the ACP TypeScript SDK (tests/acp/setup.sh:
# tests/tests/acp.rs). README's test command and .ci/run start with it.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root=""
if [ "$(id -u)" -ne 0 ]; then as_root="sudo"; fi

sh tests/install-neovim.sh

if ! command -v npm >/dev/null 2>&1; then
  echo "== installing nodejs and npm"
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi

if ! command -v emacs >/dev/null 2>&1 || ! emacs --batch --eval "(require 'eglot)" >/dev/null 2>&1; then
  echo "== installing Emacs and eglot (tests/tests/emacs.rs)"
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq emacs-nox elpa-eglot
fi

if ! command -v kak >/dev/null 2>&1 || ! command -v tmux >/dev/null 2>&1; then
  echo "== installing Kakoune and tmux (tests/tests/kakoune.rs drives it in tmux)"
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kakoune tmux
fi

# kak-lsp 15.0.1 (December 2023) was released while Kakoune 2022.10.31, Debian's,
# was the newest Kakoune; the test runs it on that. Not
# --locked: its Cargo.lock pins time 0.3.30, which no longer compiles on current
# Rust (E0282 in format_description); cargo picks the newest compatible crates.
kak_lsp_root="$HOME/.cache/agentls-e2e/kak-lsp"
case "$("$kak_lsp_root/bin/kak-lsp" --version 2>/dev/null || true)" in
  "kak-lsp 15.0.1"*) ;;
  *)
    echo "== installing kak-lsp 15.0.1 (tests/tests/kakoune.rs, about 4 minutes)"
    cargo install kak-lsp --version 15.0.1 --root "$kak_lsp_root"
    ;;
esac

bash tests/vscode/setup.sh
bash tests/mcp/setup.sh
bash tests/acp/setup.sh
