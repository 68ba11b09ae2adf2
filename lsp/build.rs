//! Lays out the release binary's code so that what start-up and the common
//! requests run sits together: `link/hot-functions.txt`, made by
//! `link/generate.py`, is handed to the linker as a symbol ordering file.
//!
//! The kernel maps code 64 KiB around each page the process first touches, so
//! the ~1 MB that start-up runs, spread over 15 MB of code, made 7 MiB of the
//! idle server resident; laid out together it is about 1.3 MiB
//! (docs/benchmarks.md). A name the file lists that the build does not have
//! (another toolchain, a renamed function) is skipped, so a stale file costs
//! only the layout, never the build.
//!
//! Only for release builds (benches included) on x86_64 Linux when rustc
//! links with its own LLD (rustup's builds, by default since 1.90): GNU ld
//! has no such option.
//! `AGENTLS_NO_LINK_ORDER=1` turns it off.
//!
//! The same builds pack their relative relocations (`-z
//! pack-relative-relocs`, DT_RELR) when the system's glibc reads them (2.36
//! and later): the 28,000 pointers the loader fixes up at start-up are then
//! listed in a few KiB instead of 670 KiB of 24-byte entries, which the
//! loader reads once and the process kept resident ever after.

use std::path::Path;
use std::process::Command;

fn main() {
    let order = Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hot-functions.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=AGENTLS_NO_LINK_ORDER");
    let release = std::env::var("PROFILE").is_ok_and(|profile| profile == "release");
    let target = std::env::var("TARGET").unwrap_or_default();
    let opted_out = std::env::var_os("AGENTLS_NO_LINK_ORDER").is_some_and(|value| value != "0");
    if !release || target != "x86_64-unknown-linux-gnu" || opted_out || !order.exists() {
        return;
    }
    if !links_with_lld() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=agentls=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!("cargo:rustc-link-arg-bin=agentls=-Wl,--no-warn-symbol-ordering");
    if glibc_reads_relr() {
        println!("cargo:rustc-link-arg-bin=agentls=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the system's glibc (the one the binary will run with: this is a
/// native build) is 2.36 or later, the first to apply DT_RELR relocations. A
/// binary linked with them asks for the `GLIBC_ABI_DT_RELR` version, so an
/// older glibc would refuse to start it.
fn glibc_reads_relr() -> bool {
    // "glibc 2.36"
    Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| {
            let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
            let number = version.strip_prefix("glibc ")?.to_string();
            let mut parts = number.split('.').map(|part| part.parse::<u32>().ok());
            Some((parts.next()??, parts.next()??))
        })
        .is_some_and(|version| version >= (2, 36))
}

/// Whether rustc links this target with its own LLD: the default of rustup's
/// builds from 1.90 on, unless the flags choose another linker. A rustc
/// without the self-contained LLD (some distributions' builds) links with the
/// system's `ld`, which has no symbol ordering option.
fn links_with_lld() -> bool {
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.split('\x1f').any(|flag| {
        flag.contains("linker-features=-lld")
            || flag.contains("linker=")
            || flag.contains("link-self-contained=-linker")
    }) {
        return false;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let ask = |argument: &str| {
        Command::new(&rustc)
            .arg(argument)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let minor = ask("-V").and_then(|version| {
        version
            .split_whitespace()
            .nth(1)
            .and_then(|number| number.split('.').nth(1))
            .and_then(|minor| minor.parse::<u32>().ok())
    });
    let own_lld = ask("--print=sysroot").is_some_and(|sysroot| {
        Path::new(&sysroot)
            .join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld/ld.lld")
            .exists()
    });
    minor.is_some_and(|minor| minor >= 90) && own_lld
}
