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

fn agentls_in(args: &[&str], xdg_config_home: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_agentls"))
        .args(args)
        .env_remove("AGENTLS_LOG")
        .env("XDG_CONFIG_HOME", xdg_config_home)
        .output()
        .expect("run agentls")
}

#[test]
fn setup_helix_edits_languages_toml_keeps_a_backup_and_is_idempotent() {
    let home = tempfile::tempdir().expect("temp dir");
    let helix = home.path().join("helix");
    std::fs::create_dir_all(&helix).expect("mkdir");
    let languages = helix.join("languages.toml");
    let original = "# mine\n[[language]]\nname = \"rust\"\nauto-format = false\n";
    std::fs::write(&languages, original).expect("write");

    // --dry-run prints the result and writes nothing.
    let output = agentls_in(&["setup", "helix", "--dry-run"], home.path());
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    assert!(printed.starts_with(original), "{printed}");
    assert!(printed.contains("language-servers = [\"rust-analyzer\", \"agentls\"]"));
    assert_eq!(std::fs::read_to_string(&languages).expect("read"), original);
    assert!(String::from_utf8_lossy(&output.stderr).contains("dry run: nothing written"));

    // The real run, found through XDG_CONFIG_HOME.
    let output = agentls_in(&["setup", "helix"], home.path());
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty());
    let written = std::fs::read_to_string(&languages).expect("read");
    assert_eq!(written, printed);
    let backup = helix.join("languages.toml.agentls-backup");
    assert_eq!(std::fs::read_to_string(&backup).expect("backup"), original);
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(report.contains("to undo: cp"), "{report}");

    // Again: nothing to do, no second backup; --config-dir points at the same place.
    let config_dir = helix.to_str().expect("utf-8 path");
    let output = agentls_in(&["setup", "helix", "--config-dir", config_dir], home.path());
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("already runs agentls"));
    assert_eq!(std::fs::read_to_string(&languages).expect("read"), written);
    let n_files = std::fs::read_dir(&helix).expect("list").count();
    assert_eq!(n_files, 2, "languages.toml and one backup");
}

#[test]
fn setup_helix_creates_the_file_and_refuses_invalid_toml() {
    let home = tempfile::tempdir().expect("temp dir");
    let output = agentls_in(&["setup", "helix"], home.path());
    assert!(output.status.success(), "{output:?}");
    let languages = home.path().join("helix/languages.toml");
    let written = std::fs::read_to_string(&languages).expect("created");
    assert!(written.starts_with("[language-server.agentls]\ncommand = \"agentls\"\n"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("to undo: rm"));

    std::fs::write(&languages, "[[language]\n").expect("write");
    let output = agentls_in(&["setup", "helix"], home.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not valid TOML"));
    assert_eq!(
        std::fs::read_to_string(&languages).expect("read"),
        "[[language]\n"
    );
}
