#!/usr/bin/env bash
# Writes lsp/link/hot-functions.txt, the order the linker lays the release
# binary's code out in (lsp/build.rs): the functions the server runs from
# start to `initialize` answered and idle first, then those a few didOpen,
# didChange, codeAction and agent/context requests on Rust, Python,
# TypeScript and shell files add. Each list comes from a run of the release
# binary under valgrind's callgrind, which records every function executed.
#
# Run it after a toolchain or dependency update (symbol names carry hashes
# of both), or when start-up changes much: `bash lsp/link/generate.sh`.
# Needs valgrind, python3 and binutils' nm.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
link="$root/lsp/link"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -p agentls --manifest-path "$root/Cargo.toml"
binary="$root/target/release/agentls"

run() { # scenario, callgrind output
  SCENARIO="$1" SETTLE=2 python3 "$link/drive.py" \
    valgrind --tool=callgrind --demangle=no --callgrind-out-file="$2" "$binary" >/dev/null 2>&1
}
run idle "$work/idle.out"
FILES="$root/core/src/context/uses.rs:$root/lsp/src/handlers/code_action.rs:$root/core/src/context/testdata/inventory.py:$root/editors/vscode/src/settings.ts:$root/tests/helix/build.sh" \
  run work "$work/work.out"

nm --defined-only "$binary" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u >"$work/symbols"
# Function names in the order callgrind first met them ("fn=(id) name" or
# "cfn=(id) name" on a name's first use), idle run first, each once, keeping
# only the binary's own (libc's are not ours to place).
python3 - "$work/symbols" "$work/idle.out" "$work/work.out" >"$link/hot-functions.txt" <<'PY'
import re, sys
symbols = set(open(sys.argv[1]).read().split())
seen = set()
for path in sys.argv[2:]:
    for line in open(path, errors="replace"):
        match = re.match(r"^c?fn=\(\d+\) (.+)$", line.rstrip("\n"))
        if match and match.group(1) in symbols and match.group(1) not in seen:
            seen.add(match.group(1))
            print(match.group(1))
PY
echo "$(wc -l <"$link/hot-functions.txt") functions in $link/hot-functions.txt"
