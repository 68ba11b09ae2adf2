#!/usr/bin/env bash
# Installs the real MCP servers that tests/tests/mcp.rs starts over stdio:
# @modelcontextprotocol/server-everything (every MCP feature: echo, add, long
# runs…) and @modelcontextprotocol/server-filesystem, at pinned versions, from
# the npm registry into a cache outside the checkout, so the tests themselves
# reach nothing beyond 127.0.0.1. tests/install.sh runs it (and so .ci/run).
#
# The cache is $AGENTLS_E2E_CACHE, by default ~/.cache/agentls-e2e; the servers
# go to its mcp/ folder, marked complete (with the versions) only at the end, so
# an interrupted install is done again rather than trusted.
set -euo pipefail

EVERYTHING_VERSION=2026.8.31
FILESYSTEM_VERSION=2026.8.31
cache="${AGENTLS_E2E_CACHE:-$HOME/.cache/agentls-e2e}"
export npm_config_cache="$cache/npm"
dir="$cache/mcp"
wanted="everything@$EVERYTHING_VERSION filesystem@$FILESYSTEM_VERSION"

if [ -e "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$wanted" ]; then
  echo "== MCP servers are installed in $dir ($wanted)"
  exit 0
fi
echo "== installing the MCP servers into $dir ($wanted)"
rm -rf "$dir"
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
  "@modelcontextprotocol/server-everything@$EVERYTHING_VERSION" \
  "@modelcontextprotocol/server-filesystem@$FILESYSTEM_VERSION"
for server in server-everything server-filesystem; do
  [ -e "$dir/node_modules/@modelcontextprotocol/$server/package.json" ]
done
echo "$wanted" > "$dir/.complete"
