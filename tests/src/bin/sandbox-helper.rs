//! Stand-in for `agentls sandbox` in the sandbox tests, so they exercise the exact
//! helper the server runs (`agentls_core::sandbox::sandbox_main`) without depending on
//! how `lsp/src/main.rs` wires its subcommands.

use std::io::Write;

use agentls_core::sandbox::{sandbox_main, SandboxArgs, SANDBOX_SUBCOMMAND};

fn main() {
    let mut args = std::env::args_os().skip(1).peekable();
    // The runner always calls `<helper> sandbox …`.
    if args.peek().is_some_and(|arg| arg == SANDBOX_SUBCOMMAND) {
        args.next();
    }
    let code = match SandboxArgs::parse_from(args) {
        Ok(args) => sandbox_main(args),
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "sandbox-helper: {error}");
            2
        }
    };
    std::process::exit(code);
}
