#!/usr/bin/env bash
# Everything the test suite drives besides cargo, installed when missing and
# cached outside the checkout, so a second run only checks: Neovim 0.7.2 and
# 0.11.4 (tests/install-neovim.sh), Node.js and npm (Debian's, when the machine
# has none: editors/vscode's tests), Emacs with eglot (Debian's emacs-nox and
# elpa-eglot: tests/tests/emacs.rs), the real VS Code in headless Chromium
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

bash tests/vscode/setup.sh
bash tests/mcp/setup.sh
bash tests/acp/setup.sh
