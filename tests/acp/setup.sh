#!/usr/bin/env bash
# Installs the real ACP client that tests/tests/acp.rs drives `agentls acp`
# with: the TypeScript SDK @agentclientprotocol/sdk, pinned in package.json and
# package-lock.json, with the machine's Node (18 or later). It goes to a cache
# outside the checkout, $AGENTLS_E2E_CACHE/acp (by default
# ~/.cache/agentls-e2e/acp); npm's own cache goes there too. tests/install.sh
# runs it.
set -euo pipefail
cd "$(dirname "$0")"

cache="${AGENTLS_E2E_CACHE:-$HOME/.cache/agentls-e2e}"
export npm_config_cache="$cache/npm"
dir="$cache/acp"
mkdir -p "$dir"

# npm ci again only when the lock file differs from the one installed.
if cmp -s package-lock.json "$dir/package-lock.json" && [ -e "$dir/.complete" ]; then
  echo "== $dir/node_modules is up to date"
  exit 0
fi
echo "== npm ci of tests/acp into $dir"
rm -f "$dir/.complete"
cp package.json package-lock.json "$dir/"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
touch "$dir/.complete"
