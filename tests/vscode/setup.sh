#!/usr/bin/env bash
# Installs what tests/tests/vscode.rs needs to drive a real VS Code, and caches
# it outside the checkout so a second run only checks: Debian's chromium (the
# browser; nothing downloads one), libkrb5-dev and pkg-config (code-server's
# native `kerberos` module builds against them), Node 24 from the npm package
# `node` (code-server 4.139 needs it; the machine's own Node is left alone),
# code-server built with that Node, and the npm dependencies of tests/vscode
# (playwright-core) and editors/vscode (@vscode/vsce, typescript). .ci/run runs it.
#
# The cache is $AGENTLS_E2E_CACHE, by default ~/.cache/agentls-e2e; npm's own
# cache goes there too.
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
cache="${AGENTLS_E2E_CACHE:-$HOME/.cache/agentls-e2e}"
export npm_config_cache="$cache/npm"
mkdir -p "$cache"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== installing ${missing[*]}"
  as_root=""
  if [ "$(id -u)" -ne 0 ]; then as_root="sudo"; fi
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Each install goes to a fresh directory and is marked complete only at its end,
# so an interrupted one is done again rather than trusted.
node_dir="$cache/node-$NODE_VERSION"
if [ ! -e "$node_dir/.complete" ]; then
  echo "== installing node@$NODE_VERSION into $node_dir"
  rm -rf "$node_dir"
  npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error "node@$NODE_VERSION"
  touch "$node_dir/.complete"
fi
node_bin="$node_dir/node_modules/node/bin"
# The headers come with the binary: node-gyp builds against them, offline.
node_home="$(echo "$node_dir"/node_modules/node/node_modules/node-linux-*)"
[ "$("$node_bin/node" --version)" = "v$NODE_VERSION" ]

code_server_dir="$cache/code-server-$CODE_SERVER_VERSION"
if [ ! -e "$code_server_dir/.complete" ]; then
  echo "== installing code-server@$CODE_SERVER_VERSION into $code_server_dir (builds native modules: minutes)"
  rm -rf "$code_server_dir"
  PATH="$node_bin:$PATH" npm_config_nodedir="$node_home" \
    npm install --prefix "$code_server_dir" --no-audit --no-fund --loglevel=error \
    "code-server@$CODE_SERVER_VERSION"
  touch "$code_server_dir/.complete"
fi
# (It writes a default config.yaml under XDG_CONFIG_HOME: keep that in the cache.)
PATH="$node_bin:$PATH" XDG_CONFIG_HOME="$cache/xdg-config" \
  "$code_server_dir/node_modules/.bin/code-server" --version | tail -n 1

# npm ci unless node_modules was installed after package-lock.json last changed.
npm_ci() {
  if [ "$1/node_modules/.package-lock.json" -nt "$1/package-lock.json" ]; then
    echo "== $1/node_modules is up to date"
  else
    echo "== npm ci in $1"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
npm_ci tests/vscode
npm_ci editors/vscode
