//! The command line a user types: `--version`, `--help`, and a bad flag.

use std::process::Command;

fn agentls(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_agentls"))
        .args(args)
        .env_remove("AGENTLS_LOG")
        .output()
        .expect("run agentls")
}

#[test]
fn version_prints_the_package_version() {
    let output = agentls(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("agentls {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_says_how_editors_start_it() {
    let output = agentls(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("Usage: agentls"), "{help}");
    assert!(help.contains("--stdio"), "{help}");
    assert!(help.contains("--log-file"), "{help}");
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let output = agentls(&["--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--no-such-flag"));
}
