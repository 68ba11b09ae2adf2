#!/usr/bin/env python3
"""Writes lsp/link/hot-functions.txt, the order the linker lays the release
binary's code out in (lsp/build.rs).

The functions come from runs of the release binary under valgrind's
callgrind, which records every function executed: first those the server
runs from start to `initialize` answered and idle, then those a didOpen, a
didChange, a codeAction and an agent/context request on Rust, Python,
TypeScript and shell files add, then those a session of many open files
adds: some 200 more opened (this repository's Rust and TypeScript, the
Python standard library's, Rust of the crates Cargo.lock names from the
cargo registry), each edited once mid-file, the context asked at ten of
them, and the background work that follows (the index's refresh, the texts
packed again, idle parsers dropped, memory trimmed, idle blocking threads
retired), with `pack_idle_secs` at 2 so that it all runs within the trace.
A request the server does not know is sent too, as clients do: its error
answer is written by code nothing else runs.

Symbol names carry hashes of the build's configuration: `cargo bench` builds
the binary with the dev-dependencies' features too, so its names differ from
`cargo build --release` and `cargo install`. Both binaries are therefore
run, and the list holds the names of each (the linker skips those a build
does not have). Names are matched exactly: a generic function's copies
share their name up to the hash, so matching without it would pull every
copy into the start-up region.

Run after a toolchain or dependency update (a dependency added to agentls
itself changes the hashes of all its functions), or when start-up changes
much: `python3 lsp/link/generate.py`. Needs valgrind and binutils' nm.
`python3 lsp/link/generate.py --check [BINARY]` says whether the list fits a
built binary (default target/release/agentls): it does when the binary's
`agentls::main` is listed.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPUT = os.path.join(ROOT, "lsp", "link", "hot-functions.txt")
WORK_FILES = [
    "core/src/context/uses.rs",
    "lsp/src/handlers/code_action.rs",
    "core/src/context/testdata/inventory.py",
    "editors/vscode/src/settings.ts",
    "tests/helix/build.sh",
]
LANGUAGES = {"rs": "rust", "py": "python", "ts": "typescript", "sh": "shellscript"}


# The session of many open files: how many of each language to open.
MANY_RUST, MANY_PYTHON, MANY_REGISTRY = 48, 16, 120
# The seconds the background work after it is given: the sweep runs every 5 s
# and trims after it; idle parsers go after 5 s, idle blocking threads after
# tokio's 10 s.
BACKGROUND_SECS = 16
# The seconds a session idles after `initialized`.
IDLE_SECS = 8


class Session:
    """An LSP session with the command over stdio."""

    def __init__(self, command, config_home):
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # With the caches' count given, the server does not execute itself
            # again to set it (lsp/src/memory.rs): callgrind follows one process.
            env=dict(
                os.environ,
                AGENTLS_LOG="warn",
                XDG_CONFIG_HOME=config_home,
                GLIBC_TUNABLES="glibc.malloc.tcache_count=0",
            ),
        )
        self.next_id = 1

    def send(self, message):
        body = json.dumps(message).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def receive(self):
        length = 0
        while True:
            line = self.process.stdout.readline()
            if not line:
                sys.exit("agentls closed its output")
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.process.stdout.read(length))

    def request(self, method, params):
        id = self.next_id
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        while True:
            message = self.receive()
            if message.get("id") == id and "method" not in message:
                return message
            if "method" in message and "id" in message:
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})

    def answer(self, method, params):
        """A request that must succeed: a refused one would leave the code it
        was to run out of the list."""
        response = self.request(method, params)
        if "result" not in response:
            sys.exit(f"{method} was refused: {response.get('error')}")
        return response["result"]

    def notify(self, method, params):
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def stop(self):
        self.request("shutdown", None)
        self.notify("exit", None)
        self.process.wait()


def many_files():
    """The files of the many-files session: this repository's Rust (in path
    order, every few so that both crates and the tests are in), its
    TypeScript, and the Python standard library's modules."""
    rust = []
    for top in ("core/src", "lsp/src", "tests/tests"):
        for directory, _, names in sorted(os.walk(os.path.join(ROOT, top))):
            rust += [os.path.join(directory, name) for name in sorted(names) if name.endswith(".rs")]
    step = max(1, len(rust) // MANY_RUST)
    typescript = sorted(
        os.path.join(ROOT, "editors/vscode/src", name)
        for name in os.listdir(os.path.join(ROOT, "editors/vscode/src"))
        if name.endswith(".ts")
    )
    library = os.path.dirname(os.__file__)
    python = sorted(os.path.join(library, name) for name in os.listdir(library) if name.endswith(".py"))
    return (
        rust[::step][:MANY_RUST]
        + typescript
        + python[:: max(1, len(python) // MANY_PYTHON)][:MANY_PYTHON]
        + registry_files()
    )


def registry_files():
    """Rust files of the crates Cargo.lock names, from the cargo registry
    (`cargo build` has fetched them): code this repository did not write,
    whose shapes run parser and index paths its own code does not. Every
    seventh file of 1 to 256 KiB, in crate and path order, up to
    `MANY_REGISTRY`."""
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    registry = os.path.join(home, "registry", "src")
    if not os.path.isdir(registry):
        return []
    with open(os.path.join(ROOT, "Cargo.lock")) as file:
        lock = file.read()
    crates = sorted(f"{name}-{version}" for name, version in re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"', lock))
    found = []
    for index in sorted(os.listdir(registry)):
        for crate in crates:
            for directory, directories, names in os.walk(os.path.join(registry, index, crate)):
                directories.sort()
                found += [
                    os.path.join(directory, name)
                    for name in sorted(names)
                    if name.endswith(".rs") and 1024 <= os.path.getsize(os.path.join(directory, name)) <= 256 * 1024
                ]
    return found[::7][:MANY_REGISTRY]


def open_many(session, files):
    """Opens the files, edits each once mid-file, asks for the context at
    ten, and waits for the background work that follows."""
    texts = {}
    for path in files:
        with open(path, errors="replace") as file:
            texts[path] = file.read()
        session.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": "file://" + path, "languageId": LANGUAGES[path.rsplit(".", 1)[1]],
                              "version": 1, "text": texts[path]}},
        )
    # A method the server does not know: answered (with an error) only once
    # every notification before it is applied.
    if "error" not in session.request("agentls/barrier", {}):
        sys.exit("agentls/barrier was answered: pick a method the server does not know")
    time.sleep(3)
    for number, path in enumerate(files):
        line = texts[path].count("\n") // 2
        # In Python `//` starts no comment: a line half typed, as users leave
        # them, so the parser's error recovery runs and the index drops names.
        session.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": "file://" + path, "version": 2},
                "contentChanges": [
                    {"range": {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}},
                     "text": f"// edited {number}\n"}
                ],
            },
        )
    # Where a task asks: with the many files indexed, the selection ranks and
    # sorts enough candidates to run the sorts' general paths.
    for path in files[:: max(1, len(files) // 10)][:10]:
        line = texts[path].count("\n") // 3
        spot = {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}}
        session.answer("agent/context", {"uri": "file://" + path, "range": spot})
    time.sleep(BACKGROUND_SECS)


def drive(command, files, config_home):
    session = Session(command, config_home)
    session.request(
        "initialize", {"processId": None, "rootUri": None, "capabilities": {}, "initializationOptions": {}}
    )
    session.notify("initialized", {})
    # Idle long enough for what runs on a timer while nothing happens (the
    # sweep every 5 s, the trim after it) to be recorded with start-up.
    time.sleep(IDLE_SECS)
    for index, path in enumerate(files):
        uri = "file://" + path
        language = LANGUAGES[path.rsplit(".", 1)[1]]
        with open(path) as file:
            text = file.read()
        session.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}},
        )
        session.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [
                    {"range": {"start": {"line": 3, "character": 0}, "end": {"line": 3, "character": 0}}, "text": "x"}
                ],
            },
        )
        spot = {"start": {"line": 5, "character": 0}, "end": {"line": 5, "character": 0}}
        session.answer(
            "textDocument/codeAction",
            {"textDocument": {"uri": uri}, "range": spot, "context": {"diagnostics": []}},
        )
        session.answer("agent/context", {"uri": uri, "range": spot})
        time.sleep(2)
    if files:
        open_many(session, many_files())
    session.stop()


def executed(binary, files, scratch, name):
    """Every function name callgrind saw run, in the order it first met them."""
    out = os.path.join(scratch, name)
    config_home = os.path.join(scratch, "config")
    os.makedirs(os.path.join(config_home, "agentls"), exist_ok=True)
    with open(os.path.join(config_home, "agentls", "config.toml"), "w") as file:
        file.write("[documents]\npack_idle_secs = 2\n")
    drive(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={out}", binary], files, config_home)
    names, seen = [], set()
    with open(out, errors="replace") as file:
        for line in file:
            match = re.match(r"^c?fn=\(\d+\) (.+)$", line.rstrip("\n"))
            if match and match.group(1) not in seen:
                seen.add(match.group(1))
                names.append(match.group(1))
    return names


def functions(binary):
    out = subprocess.run(["nm", "--defined-only", binary], check=True, capture_output=True, text=True).stdout
    return [parts[2] for parts in (line.split() for line in out.splitlines()) if len(parts) == 3 and parts[1] in "tTwW"]


def built(command, target, scratch):
    """The path of the `agentls` binary a cargo command builds."""
    out = subprocess.run(
        command + ["--message-format=json", "--manifest-path", os.path.join(ROOT, "Cargo.toml")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        message = json.loads(line)
        if (
            message.get("reason") == "compiler-artifact"
            and message["target"]["name"] == target
            and "bin" in message["target"]["kind"]
            and not message["profile"]["test"]
        ):
            # Both builds link to target/release/agentls: keep this one.
            copy = os.path.join(scratch, os.path.basename(command[1]))
            shutil.copy(message["executable"], copy)
            return copy
    sys.exit(f"{' '.join(command)} built no {target} binary")


def main():
    files = [os.path.join(ROOT, path) for path in WORK_FILES]
    order, listed = [], set()
    with tempfile.TemporaryDirectory() as scratch:
        release = built(["cargo", "build", "--release", "-p", "agentls"], "agentls", scratch)
        bench = built(["cargo", "bench", "--no-run", "-p", "agentls"], "agentls", scratch)
        for binary in (release, bench):
            own = set(functions(binary))
            for name in executed(binary, [], scratch, "idle") + executed(binary, files, scratch, "work"):
                if name in own and name not in listed:
                    listed.add(name)
                    order.append(name)
    with open(OUTPUT, "w") as file:
        file.write("\n".join(order) + "\n")
    print(f"{len(order)} names in {OUTPUT}")


def check(binary):
    with open(OUTPUT) as file:
        listed = set(file.read().split())
    own = functions(binary)
    mains = [name for name in own if name.startswith("_ZN7agentls4main17h")]
    matched = sum(1 for name in own if name in listed)
    fits = any(name in listed for name in mains)
    print(f"{binary}: {matched} of its functions are listed; its agentls::main "
          f"{'is' if fits else 'is not'} (the list {'fits' if fits else 'is stale: regenerate it'})")
    sys.exit(0 if fits else 1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        check(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "target", "release", "agentls"))
    main()
