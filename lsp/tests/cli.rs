//! The command line a user types: `--version`, `--help` of every subcommand, a bad
//! flag, `setup helix`, and `sandbox` (its environment and `--explain`).

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
    assert!(
        report.contains("next: editors/helix/README.md in the agentls repository"),
        "{report}"
    );

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

/// The subcommands `agentls --help` lists (its "Commands:" section), without
/// clap's own `help`.
fn listed_subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_subcommand_answers_help_with_its_usage() {
    let output = agentls(&["--help"]);
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8_lossy(&output.stdout);
    let subcommands = listed_subcommands(&help);
    for expected in ["exec", "sandbox", "setup"] {
        assert!(subcommands.iter().any(|name| name == expected), "{help}");
    }
    let mut command_lines: Vec<Vec<String>> = subcommands
        .iter()
        .map(|name| vec![name.clone(), "--help".to_owned()])
        .collect();
    command_lines.push(vec!["setup".into(), "helix".into(), "--help".into()]);
    command_lines.push(vec!["sandbox".into(), "-h".into()]);
    for args in command_lines {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = agentls(&args);
        let help = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "agentls {args:?}: {output:?}"
        );
        let usage = format!("Usage: agentls {}", args[..args.len() - 1].join(" "));
        assert!(help.contains(&usage), "agentls {args:?} printed:\n{help}");
    }
}

#[test]
fn sandbox_help_names_its_options() {
    let output = agentls(&["sandbox", "--help"]);
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--policy <POLICY>",
        "read-only, workspace-write, full-access",
        "--writable-root <DIR>",
        "--cwd <DIR>",
        "--tmpdir <DIR>",
        "--pass-env <NAME>",
        "--explain",
        "<CMD>...",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
}

#[test]
fn sandbox_bad_input_is_a_usage_error_naming_it() {
    for (args, named) in [
        (&["sandbox", "--policy", "none", "--", "true"][..], "'none'"),
        (&["sandbox", "--net", "--", "true"][..], "'--net'"),
        (&["sandbox", "--policy", "read-only"][..], "<CMD>"),
    ] {
        let output = agentls(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
}

/// Secrets a user's shell typically holds, with values that must never be printed.
const CALLER_SECRETS: &[(&str, &str)] = &[
    ("OPENAI_API_KEY", "sk-openai-do-not-print"),
    ("GITHUB_TOKEN", "ghp-do-not-print"),
    ("ANTHROPIC_API_KEY", "sk-ant-do-not-print"),
];

/// `agentls sandbox ARGS…` in `workspace`, with the caller's secrets set and no
/// user configuration.
fn sandbox_with_secrets(workspace: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_agentls"))
        .arg("sandbox")
        .args(args)
        .current_dir(workspace)
        .env_remove("AGENTLS_LOG")
        .env("XDG_CONFIG_HOME", workspace.join("no-config"))
        .envs(CALLER_SECRETS.iter().copied())
        .env("AGENTLS_TEST_PLAIN", "visible")
        .output()
        .expect("run agentls sandbox")
}

#[test]
fn sandbox_does_not_pass_the_callers_secrets_to_the_command() {
    let workspace = tempfile::tempdir().expect("temp dir");
    // full-access: the scrubbing does not depend on the machine's Landlock.
    let output = sandbox_with_secrets(workspace.path(), &["--policy", "full-access", "--", "env"]);
    assert!(output.status.success(), "{output:?}");
    let env = String::from_utf8_lossy(&output.stdout);
    assert!(env.contains("AGENTLS_TEST_PLAIN=visible"), "{env}");
    for (name, value) in CALLER_SECRETS {
        assert!(!env.contains(name), "{name} reached the command:\n{env}");
        assert!(!env.contains(value), "{name}'s value reached the command");
    }
}

#[test]
fn sandbox_follows_the_workspace_configs_pass_env_and_api_key_env() {
    let workspace = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        workspace.path().join(".agentls.toml"),
        "[sandbox]\npass_env = [\"GITHUB_TOKEN\"]\n[provider]\napi_key_env = \"AGENTLS_TEST_PLAIN\"\n",
    )
    .expect("write .agentls.toml");
    let output = sandbox_with_secrets(
        workspace.path(),
        &["--policy", "full-access", "--explain", "--", "env"],
    );
    assert!(output.status.success(), "{output:?}");
    let env = String::from_utf8_lossy(&output.stdout);
    assert!(env.contains("GITHUB_TOKEN=ghp-do-not-print"), "{env}");
    assert!(!env.contains("OPENAI_API_KEY"), "{env}");
    // The provider's key variable never reaches a command, whatever its name.
    assert!(!env.contains("AGENTLS_TEST_PLAIN"), "{env}");
    let explained = String::from_utf8_lossy(&output.stderr);
    assert!(
        explained.contains("(pass_env): GITHUB_TOKEN"),
        "{explained}"
    );
}

#[test]
fn sandbox_explain_names_what_is_writable_the_network_and_the_removed_variables() {
    let workspace = tempfile::tempdir().expect("temp dir");
    let output = sandbox_with_secrets(workspace.path(), &["--explain", "--", "true"]);
    let explained = String::from_utf8_lossy(&output.stderr);
    // Printed before the sandbox is set up, so even where it cannot be.
    let root = std::fs::canonicalize(workspace.path()).expect("canonical path");
    assert!(
        explained.contains("agentls sandbox: policy workspace-write in "),
        "{explained}"
    );
    assert!(
        explained.contains(&format!("writable: {}", root.display())),
        "{explained}"
    );
    assert!(explained.contains("readable: everything"), "{explained}");
    assert!(explained.contains("network: refused"), "{explained}");
    assert!(
        explained.contains("environment removed: ANTHROPIC_API_KEY, GITHUB_TOKEN, OPENAI_API_KEY"),
        "{explained}"
    );
    for (_, value) in CALLER_SECRETS {
        assert!(!explained.contains(value), "{explained}");
    }
    let output = sandbox_with_secrets(
        workspace.path(),
        &["--policy", "full-access", "--explain", "--", "true"],
    );
    assert!(output.status.success(), "{output:?}");
    let explained = String::from_utf8_lossy(&output.stderr);
    assert!(explained.contains("network: allowed"), "{explained}");
    // Without --explain, nothing but the command's own output.
    let output = sandbox_with_secrets(workspace.path(), &["--policy", "full-access", "--", "true"]);
    assert!(output.stderr.is_empty(), "{output:?}");
}

/// A file of `editors/helix/`.
fn helix_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../editors/helix")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn helix_languages_toml_example_is_what_setup_helix_writes() {
    let example: toml::Table = toml::from_str(&helix_file("languages.toml")).expect("valid TOML");
    let home = tempfile::tempdir().expect("temp dir");
    let output = agentls_in(&["setup", "helix", "--dry-run"], home.path());
    assert!(output.status.success(), "{output:?}");
    let written: toml::Table =
        toml::from_str(&String::from_utf8(output.stdout).expect("utf-8")).expect("valid TOML");
    assert_eq!(example, written);

    // And setup finds nothing to add to a file copied from the example.
    let helix = home.path().join("helix");
    std::fs::create_dir_all(&helix).expect("mkdir");
    std::fs::write(helix.join("languages.toml"), helix_file("languages.toml")).expect("write");
    let output = agentls_in(&["setup", "helix"], home.path());
    assert!(output.status.success(), "{output:?}");
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(report.contains("already runs agentls"), "{report}");
}

/// The commands agentls advertises in its `initialize` answer
/// (`executeCommandProvider.commands`): what `:lsp-workspace-command` offers.
fn advertised_commands() -> Vec<String> {
    use std::io::{BufRead, BufReader, Read, Write};

    let home = tempfile::tempdir().expect("temp dir");
    let mut server = Command::new(env!("CARGO_BIN_EXE_agentls"))
        .arg("--stdio")
        .current_dir(home.path())
        .env_remove("AGENTLS_LOG")
        .env("XDG_CONFIG_HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start agentls");
    let initialize = serde_json::json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": { "processId": null, "rootUri": null, "capabilities": {} }
    })
    .to_string();
    let mut stdin = server.stdin.take().expect("stdin");
    write!(
        stdin,
        "Content-Length: {}\r\n\r\n{initialize}",
        initialize.len()
    )
    .expect("write");
    stdin.flush().expect("flush");
    let mut stdout = BufReader::new(server.stdout.take().expect("stdout"));
    let answer = loop {
        let mut length = None;
        loop {
            let mut header = String::new();
            assert!(
                stdout.read_line(&mut header).expect("read") > 0,
                "server closed"
            );
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("Content-Length: ") {
                length = Some(value.parse::<usize>().expect("a length"));
            }
        }
        let mut body = vec![0; length.expect("a Content-Length header")];
        stdout.read_exact(&mut body).expect("read body");
        let message: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        if message["id"] == 1 {
            break message;
        }
    };
    drop(stdin);
    let _ = server.kill();
    let _ = server.wait();
    answer["result"]["capabilities"]["executeCommandProvider"]["commands"]
        .as_array()
        .expect("executeCommandProvider.commands")
        .iter()
        .map(|command| command.as_str().expect("a string").to_owned())
        .collect()
}

#[test]
fn helix_config_toml_shows_progress_and_binds_only_commands_agentls_has() {
    let config: toml::Table = toml::from_str(&helix_file("config.toml")).expect("valid TOML");
    assert_eq!(
        config["editor"]["lsp"]["display-progress-messages"].as_bool(),
        Some(true)
    );
    let keys = config["keys"]["normal"]["space"]["A"]
        .as_table()
        .expect("a [keys.normal.space.A] table");
    let advertised = advertised_commands();
    // These take no argument: the latest pending approval or change, every task.
    let without_arguments = [
        "agentls.approve",
        "agentls.approveForThread",
        "agentls.deny",
        "agentls.stop",
        "agentls.undo",
        "agentls.reviewPending",
        "agentls.applyPending",
        "agentls.discardPending",
    ];
    for (key, binding) in keys {
        let binding = binding.as_str().expect("a typable command");
        let command = binding
            .strip_prefix(":lsp-workspace-command ")
            .unwrap_or_else(|| panic!("{key} = {binding:?} is not :lsp-workspace-command"));
        assert!(
            advertised.iter().any(|name| name == command),
            "{command} not in {advertised:?}"
        );
        assert!(
            without_arguments.contains(&command),
            "{command} needs arguments"
        );
    }

    // The README shows the same keys.
    let readme = helix_file("README.md");
    let snippet = readme
        .split("```toml\n")
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains("[keys.normal.space.A]"))
        .expect("the keys in README.md");
    let shown: toml::Table = toml::from_str(snippet).expect("valid TOML");
    assert_eq!(
        &shown["keys"]["normal"]["space"]["A"],
        &config["keys"]["normal"]["space"]["A"]
    );
}

/// The escape from issue 12, through the real `agentls sandbox`: a `setsid`,
/// disowned sleep must not outlive the command. The sleep writes its pid (the
/// host's, from `/proc/self/stat`) before the command exits.
#[test]
fn sandbox_kills_a_setsid_disowned_process_when_the_command_exits() {
    let workspace = tempfile::tempdir().expect("temp dir");
    let script = "mkfifo ready || exit 99\n\
        setsid bash -c 'read pid _ < /proc/self/stat; echo $pid > pid; echo > ready; exec sleep 777' \
        </dev/null >/dev/null 2>&1 & disown\n\
        read _ < ready; exit 0";
    let output = Command::new(env!("CARGO_BIN_EXE_agentls"))
        .args([
            "sandbox",
            "--policy",
            "workspace-write",
            "--",
            "bash",
            "-c",
            script,
        ])
        .current_dir(workspace.path())
        .env_remove("AGENTLS_LOG")
        .output()
        .expect("run agentls sandbox");
    assert!(output.status.success(), "{output:?}");
    let pid = std::fs::read_to_string(workspace.path().join("pid"))
        .expect("the escaped sleep wrote its pid")
        .trim()
        .to_owned();
    // Bounded poll: the PID namespace is empty once `agentls sandbox` returns; the
    // subreaper fall-back has reaped it by then too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"));
        let gone = state.as_deref().map_or(true, |stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X']))
        });
        if gone {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pid {pid} outlived `agentls sandbox`: {state:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
