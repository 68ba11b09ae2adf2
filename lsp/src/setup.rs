//! `agentls setup helix`: one-step Helix configuration. Helix has no plugin
//! system; a language server is declared in the user's `languages.toml` and named
//! in each language's `language-servers`. This adds agentls there without losing
//! a byte of what the user wrote (edited with `toml_edit`, comments and order
//! kept), is a no-op when run again, writes atomically and keeps a backup.
//!
//! A `[[language]]` entry's `language-servers` replaces Helix's default list
//! instead of extending it, so an entry this command creates lists Helix's
//! default servers before agentls: the user keeps the servers they had.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, TableLike, Value};

/// The name agentls's server goes by in `languages.toml`.
pub const SERVER_NAME: &str = "agentls";

/// The languages agentls serves with a syntax tree, by their Helix names, with
/// the language servers Helix 25.07 uses for each when the user names none
/// (from the `languages.toml` Helix builds in). Other languages the user lists
/// get agentls too (it serves every file as text), but only when their entry
/// names its servers: their defaults are not known here.
pub const HELIX_DEFAULT_SERVERS: &[(&str, &[&str])] = &[
    ("rust", &["rust-analyzer"]),
    ("python", &["ty", "ruff", "jedi", "pylsp"]),
    ("typescript", &["typescript-language-server"]),
    ("tsx", &["typescript-language-server"]),
    ("javascript", &["typescript-language-server"]),
    ("jsx", &["typescript-language-server"]),
    ("go", &["gopls", "golangci-lint-lsp"]),
    ("bash", &["bash-language-server"]),
];

/// `agentls setup` arguments.
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct SetupArgs {
    #[command(subcommand)]
    pub editor: SetupEditor,
}

/// The editors `agentls setup` configures.
#[derive(clap::Subcommand, Debug, Clone, PartialEq)]
pub enum SetupEditor {
    /// Add agentls to Helix's languages.toml, keeping everything already there
    /// (a backup of the previous file is kept next to it).
    Helix(HelixArgs),
}

/// `agentls setup helix` arguments.
#[derive(clap::Args, Debug, Clone, Default, PartialEq)]
pub struct HelixArgs {
    /// Print the resulting languages.toml to stdout instead of writing it.
    #[arg(long)]
    pub dry_run: bool,
    /// Helix's configuration directory (default: $XDG_CONFIG_HOME/helix, else
    /// ~/.config/helix).
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
}

/// Why `agentls setup` stopped without writing anything.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot find Helix's configuration directory: neither XDG_CONFIG_HOME nor HOME is set; pass --config-dir")]
    NoConfigDir,
    #[error("{} is not valid TOML, so it was left as it is: {message}", .path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{} has {key} = {found}, not the table or array Helix expects; it was left as it is", .path.display())]
    UnexpectedShape {
        path: PathBuf,
        key: &'static str,
        found: String,
    },
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

/// What one language's entry got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LanguageChange {
    /// `agentls` appended to the user's own `language-servers`.
    Appended { language: String },
    /// A `language-servers` list set: Helix's defaults, then agentls.
    DefaultsAndAgentls {
        language: String,
        defaults: Vec<String>,
    },
    /// Left alone: the entry names no servers and Helix's defaults for it are not
    /// known here.
    SkippedUnknownDefaults { language: String },
}

impl fmt::Display for LanguageChange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LanguageChange::Appended { language } => {
                write!(formatter, "{language}: agentls added after your servers")
            }
            LanguageChange::DefaultsAndAgentls { language, defaults } => write!(
                formatter,
                "{language}: agentls added after Helix's default servers ({})",
                defaults.join(", ")
            ),
            LanguageChange::SkippedUnknownDefaults { language } => write!(
                formatter,
                "{language}: left alone; its entry names no language-servers, so add \"agentls\" to Helix's defaults for it by hand"
            ),
        }
    }
}

/// The configured `languages.toml` and what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelixSetup {
    /// The whole file; equal to the input when nothing changed.
    pub text: String,
    /// Whether `[language-server.agentls]` was added.
    pub server_added: bool,
    pub languages: Vec<LanguageChange>,
}

impl HelixSetup {
    /// Whether the file needs writing.
    pub fn changed(&self) -> bool {
        self.server_added
            || self
                .languages
                .iter()
                .any(|change| !matches!(change, LanguageChange::SkippedUnknownDefaults { .. }))
    }
}

/// Adds agentls to `existing`, the text of a Helix `languages.toml` (empty for
/// none): declares `[language-server.agentls]` unless some declaration is there,
/// appends `"agentls"` to every `[[language]]` entry's `language-servers` that
/// lacks it, gives each language of `HELIX_DEFAULT_SERVERS` an entry if it has
/// none, and leaves everything else as written. `path` only names the file in
/// errors.
pub fn configure_helix(existing: &str, path: &Path) -> Result<HelixSetup, SetupError> {
    let mut document: DocumentMut =
        existing
            .parse()
            .map_err(|error: toml_edit::TomlError| SetupError::Parse {
                path: path.to_owned(),
                message: error.to_string().trim_end().to_owned(),
            })?;
    let unexpected = |key: &'static str, item: &Item| SetupError::UnexpectedShape {
        path: path.to_owned(),
        key,
        found: item.type_name().to_owned(),
    };

    // A file of comments alone keeps them at its top: toml_edit holds them as the
    // document's trailing text, which would print after the new tables.
    let mut leading_comments = String::new();
    if document.as_table().is_empty() {
        leading_comments = document.trailing().as_str().unwrap_or_default().to_owned();
        document.set_trailing("");
        if !leading_comments.is_empty() && !leading_comments.ends_with('\n') {
            leading_comments.push('\n');
        }
    }

    let servers = document.entry("language-server").or_insert_with(|| {
        let mut table = Table::new();
        // Only `[language-server.agentls]` is written, not an empty parent.
        table.set_implicit(true);
        Item::Table(table)
    });
    let servers = match servers.as_table_like_mut() {
        Some(servers) => servers,
        None => return Err(unexpected("language-server", servers)),
    };
    let server_added = !servers.contains_key(SERVER_NAME);
    if server_added {
        let mut server = Table::new();
        if !leading_comments.is_empty() {
            server.decor_mut().set_prefix(leading_comments);
        }
        server.insert("command", toml_edit::value(SERVER_NAME));
        servers.insert(SERVER_NAME, Item::Table(server));
    }

    let mut languages = Vec::new();
    let mut seen = Vec::new();
    match document.get_mut("language") {
        None => {}
        Some(Item::ArrayOfTables(entries)) => {
            for entry in entries.iter_mut() {
                configure_language(entry, &mut seen, &mut languages);
            }
        }
        Some(Item::Value(Value::Array(entries))) => {
            for entry in entries.iter_mut() {
                match entry {
                    Value::InlineTable(entry) => {
                        configure_language(entry, &mut seen, &mut languages)
                    }
                    other => {
                        return Err(unexpected("language", &Item::Value(other.clone())));
                    }
                }
            }
        }
        Some(other) => return Err(unexpected("language", other)),
    }
    let missing: Vec<&(&str, &[&str])> = HELIX_DEFAULT_SERVERS
        .iter()
        .filter(|(language, _)| !seen.iter().any(|seen| seen == language))
        .collect();
    if !missing.is_empty() {
        let entries = document
            .entry("language")
            .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()));
        for (language, defaults) in missing {
            let mut entry = Table::new();
            entry.insert("name", toml_edit::value(*language));
            let mut servers: Array = defaults.iter().copied().collect();
            servers.push(SERVER_NAME);
            entry.insert("language-servers", toml_edit::value(servers));
            match entries {
                Item::ArrayOfTables(entries) => entries.push(entry),
                Item::Value(Value::Array(entries)) => {
                    entries.push(entry.into_inline_table());
                }
                other => return Err(unexpected("language", other)),
            }
            languages.push(LanguageChange::DefaultsAndAgentls {
                language: (*language).to_owned(),
                defaults: defaults.iter().map(|server| (*server).to_owned()).collect(),
            });
        }
    }

    let mut setup = HelixSetup {
        text: String::new(),
        server_added,
        languages,
    };
    setup.text = if setup.changed() {
        document.to_string()
    } else {
        existing.to_owned()
    };
    Ok(setup)
}

/// Adds agentls to one `[[language]]` entry, recording its name in `seen`.
fn configure_language(
    entry: &mut dyn TableLike,
    seen: &mut Vec<String>,
    changes: &mut Vec<LanguageChange>,
) {
    let Some(language) = entry.get("name").and_then(Item::as_str).map(str::to_owned) else {
        // Not a language Helix could match; nothing to add to.
        return;
    };
    seen.push(language.clone());
    match entry.get_mut("language-servers") {
        Some(Item::Value(Value::Array(servers))) => {
            if !servers.iter().any(names_agentls) {
                push_keeping_layout(servers, SERVER_NAME);
                changes.push(LanguageChange::Appended { language });
            }
        }
        // Not an array: Helix would reject it; leave the user's text alone.
        Some(_) => {}
        None => {
            let Some((_, defaults)) = HELIX_DEFAULT_SERVERS
                .iter()
                .find(|(name, _)| *name == language)
            else {
                changes.push(LanguageChange::SkippedUnknownDefaults { language });
                return;
            };
            let mut servers: Array = defaults.iter().copied().collect();
            servers.push(SERVER_NAME);
            entry.insert("language-servers", toml_edit::value(servers));
            changes.push(LanguageChange::DefaultsAndAgentls {
                language,
                defaults: defaults.iter().map(|server| (*server).to_owned()).collect(),
            });
        }
    }
}

/// Whether a `language-servers` element names agentls: `"agentls"` or
/// `{ name = "agentls", … }`.
fn names_agentls(server: &Value) -> bool {
    match server {
        Value::String(name) => name.value() == SERVER_NAME,
        Value::InlineTable(server) => {
            server.get("name").and_then(Value::as_str) == Some(SERVER_NAME)
        }
        _ => false,
    }
}

/// Appends `name` so that a one-line array stays on one line and a multi-line
/// array gets it on a line of its own, indented like the last element, with any
/// comment after the last element staying after it.
fn push_keeping_layout(servers: &mut Array, name: &str) {
    let last_prefix = servers
        .iter()
        .last()
        .and_then(|last| last.decor().prefix())
        .and_then(|prefix| prefix.as_str())
        .map(str::to_owned);
    let Some(last_prefix) = last_prefix.filter(|prefix| prefix.contains('\n')) else {
        servers.push(name);
        return;
    };
    let indent = last_prefix
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .to_owned();
    // What followed the last element (a comment, the newline before `]`) now
    // precedes the new one, and the new one ends the list the same way.
    let trailing = servers.trailing().as_str().unwrap_or_default().to_owned();
    let (before_new, after_new) = match trailing.rfind('\n') {
        Some(newline) => (
            format!("{}\n{indent}", &trailing[..newline]),
            trailing[newline..].to_owned(),
        ),
        None => (format!("{trailing}\n{indent}"), "\n".to_owned()),
    };
    let mut value = Value::from(name);
    value.decor_mut().set_prefix(before_new);
    servers.push_formatted(value);
    servers.set_trailing(after_new);
}

/// Helix's configuration directory: `$XDG_CONFIG_HOME/helix`, else
/// `$HOME/.config/helix`.
pub fn helix_config_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|home| !home.is_empty())
                .map(|home| PathBuf::from(home).join(".config"))
        })?;
    Some(base.join("helix"))
}

/// What `run` did, for the command to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupOutcome {
    /// `--dry-run`: the file that would be written, unwritten.
    DryRun(HelixSetup),
    /// Nothing to change; nothing written.
    AlreadyConfigured { path: PathBuf },
    Written {
        path: PathBuf,
        /// Where the previous file went; `None` when there was none.
        backup: Option<PathBuf>,
        setup: HelixSetup,
    },
}

/// Runs `agentls setup helix`, reading the environment through `env`.
pub fn run_helix(
    args: &HelixArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SetupOutcome, SetupError> {
    let dir = match &args.config_dir {
        Some(dir) => dir.clone(),
        None => helix_config_dir(env).ok_or(SetupError::NoConfigDir)?,
    };
    let path = dir.join("languages.toml");
    let existing = match fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(SetupError::Io {
                action: "read",
                path,
                source,
            })
        }
    };
    let setup = configure_helix(existing.as_deref().unwrap_or_default(), &path)?;
    if args.dry_run {
        return Ok(SetupOutcome::DryRun(setup));
    }
    if !setup.changed() {
        return Ok(SetupOutcome::AlreadyConfigured { path });
    }
    let io_error = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| SetupError::Io {
            action,
            path,
            source,
        }
    };
    fs::create_dir_all(&dir).map_err(io_error("create", &dir))?;
    let backup = match &existing {
        Some(text) => Some(write_backup(&path, text)?),
        None => None,
    };
    // A languages.toml linked from a dotfiles repository stays a link: the
    // file it points to is replaced.
    let target = match fs::canonicalize(&path) {
        Ok(target) => target,
        Err(error) if error.kind() == io::ErrorKind::NotFound => path.clone(),
        Err(source) => {
            return Err(SetupError::Io {
                action: "resolve",
                path,
                source,
            })
        }
    };
    write_atomically(&target, &setup.text).map_err(io_error("write", &target))?;
    Ok(SetupOutcome::Written {
        path,
        backup,
        setup,
    })
}

/// Saves `text` next to `path` as `languages.toml.agentls-backup` (then `-2`,
/// `-3`… so no earlier backup is overwritten) and returns where.
fn write_backup(path: &Path, text: &str) -> Result<PathBuf, SetupError> {
    let mut attempt = 1_u32;
    loop {
        let mut name = path.as_os_str().to_owned();
        name.push(".agentls-backup");
        if attempt > 1 {
            name.push(format!("-{attempt}"));
        }
        let backup = PathBuf::from(name);
        let io_error = |source| SetupError::Io {
            action: "write the backup",
            path: backup.clone(),
            source,
        };
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&backup)
        {
            Ok(mut file) => {
                file.write_all(text.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io_error)?;
                return Ok(backup);
            }
            // A hundred backups means something else is going on; stop there.
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(source) => return Err(io_error(source)),
        }
    }
}

/// Writes `text` over `path` so that a crash leaves either the old file or the
/// new one, never half of one (`agentls_core::disk::replace_atomically`).
fn write_atomically(path: &Path, text: &str) -> io::Result<()> {
    agentls_core::disk::replace_atomically(path, |file| file.write_all(text.as_bytes()))
}

/// Where a Helix user reads the rest: progress text, keys, approvals, limits.
const HELIX_GUIDE: &str = "editors/helix/README.md in the agentls repository (with config.toml: \
progress text and keys for approving, stopping and undoing)";

/// The command's report to the user, for stderr.
pub fn describe(outcome: &SetupOutcome) -> String {
    let mut report = String::new();
    let mut changes = |setup: &HelixSetup| {
        if setup.server_added {
            report.push_str("  [language-server.agentls] added (command = \"agentls\")\n");
        }
        for change in &setup.languages {
            report.push_str(&format!("  {change}\n"));
        }
    };
    match outcome {
        SetupOutcome::DryRun(setup) => {
            changes(setup);
            if !setup.changed() {
                report.push_str("already configured: nothing would change\n");
            }
            report.push_str("dry run: nothing written\n");
        }
        SetupOutcome::AlreadyConfigured { path } => {
            report.push_str(&format!(
                "{} already runs agentls: nothing changed\n",
                path.display()
            ));
            report.push_str(&format!("next: {HELIX_GUIDE}\n"));
        }
        SetupOutcome::Written {
            path,
            backup,
            setup,
        } => {
            changes(setup);
            report.push_str(&format!("wrote {}\n", path.display()));
            match backup {
                // `cp` rather than `mv`: a symlinked languages.toml stays a link.
                Some(backup) => report.push_str(&format!(
                    "the previous file is in {}; to undo: cp '{}' '{}'\n",
                    backup.display(),
                    backup.display(),
                    path.display()
                )),
                None => report.push_str(&format!(
                    "there was no file before; to undo: rm '{}'\n",
                    path.display()
                )),
            }
            report.push_str("restart Helix (or :lsp-restart) and check with `hx --health rust`\n");
            report.push_str(&format!("next: {HELIX_GUIDE}\n"));
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn configure(text: &str) -> HelixSetup {
        configure_helix(text, Path::new("languages.toml")).expect("valid TOML")
    }

    #[test]
    fn a_fresh_file_gets_the_server_and_every_language_with_helix_defaults() {
        let setup = configure("");
        assert!(setup.server_added);
        expect![[r#"
            [language-server.agentls]
            command = "agentls"

            [[language]]
            name = "rust"
            language-servers = ["rust-analyzer", "agentls"]

            [[language]]
            name = "python"
            language-servers = ["ty", "ruff", "jedi", "pylsp", "agentls"]

            [[language]]
            name = "typescript"
            language-servers = ["typescript-language-server", "agentls"]

            [[language]]
            name = "tsx"
            language-servers = ["typescript-language-server", "agentls"]

            [[language]]
            name = "javascript"
            language-servers = ["typescript-language-server", "agentls"]

            [[language]]
            name = "jsx"
            language-servers = ["typescript-language-server", "agentls"]

            [[language]]
            name = "go"
            language-servers = ["gopls", "golangci-lint-lsp", "agentls"]

            [[language]]
            name = "bash"
            language-servers = ["bash-language-server", "agentls"]
        "#]]
        .assert_eq(&setup.text);
        assert_eq!(setup.languages.len(), HELIX_DEFAULT_SERVERS.len());
    }

    const USER_FILE: &str = r#"# My Helix languages, tuned over the years.
use-grammars = { only = ["rust", "python", "toml"] }

[language-server.rust-analyzer.config]
check.command = "clippy" # clippy on save

[[language]]
name = "rust"
auto-format = false
language-servers = [
  "rust-analyzer", # the real one
]

[[language]]
name = "python"
# formatter first
formatter = { command = "black", args = ["-", "-q"] }

[[language]]
name = "toml"
language-servers = ["taplo"] # keep taplo

[[language]]
name = "markdown"
soft-wrap.enable = true
"#;

    #[test]
    fn the_users_settings_and_comments_are_kept() {
        let setup = configure(USER_FILE);
        expect![[r#"
            # My Helix languages, tuned over the years.
            use-grammars = { only = ["rust", "python", "toml"] }

            [language-server.rust-analyzer.config]
            check.command = "clippy" # clippy on save

            [language-server.agentls]
            command = "agentls"

            [[language]]
            name = "rust"
            auto-format = false
            language-servers = [
              "rust-analyzer", # the real one
              "agentls",
            ]

            [[language]]
            name = "python"
            # formatter first
            formatter = { command = "black", args = ["-", "-q"] }
            language-servers = ["ty", "ruff", "jedi", "pylsp", "agentls"]

            [[language]]
            name = "toml"
            language-servers = ["taplo", "agentls"] # keep taplo

            [[language]]
            name = "markdown"
            soft-wrap.enable = true

            [[language]]
            name = "typescript"
            language-servers = ["typescript-language-server", "agentls"]

            [[language]]
            name = "tsx"
            language-servers = ["typescript-language-server", "agentls"]

            [[language]]
            name = "javascript"
            language-servers = ["typescript-language-server", "agentls"]

            [[language]]
            name = "jsx"
            language-servers = ["typescript-language-server", "agentls"]

            [[language]]
            name = "go"
            language-servers = ["gopls", "golangci-lint-lsp", "agentls"]

            [[language]]
            name = "bash"
            language-servers = ["bash-language-server", "agentls"]
        "#]]
        .assert_eq(&setup.text);
        let report: Vec<String> = setup.languages.iter().map(ToString::to_string).collect();
        expect![[r#"
            [
                "rust: agentls added after your servers",
                "python: agentls added after Helix's default servers (ty, ruff, jedi, pylsp)",
                "toml: agentls added after your servers",
                "markdown: left alone; its entry names no language-servers, so add \"agentls\" to Helix's defaults for it by hand",
                "typescript: agentls added after Helix's default servers (typescript-language-server)",
                "tsx: agentls added after Helix's default servers (typescript-language-server)",
                "javascript: agentls added after Helix's default servers (typescript-language-server)",
                "jsx: agentls added after Helix's default servers (typescript-language-server)",
                "go: agentls added after Helix's default servers (gopls, golangci-lint-lsp)",
                "bash: agentls added after Helix's default servers (bash-language-server)",
            ]
        "#]]
        .assert_debug_eq(&report);
        // The result is what Helix reads: valid TOML with the user's values.
        let parsed: toml::Table = toml::from_str(&setup.text).expect("valid TOML");
        assert_eq!(parsed["language"][0]["auto-format"].as_bool(), Some(false));
    }

    #[test]
    fn a_second_run_changes_nothing() {
        for text in ["", USER_FILE] {
            let first = configure(text);
            assert!(first.changed());
            let second = configure(&first.text);
            assert!(!second.changed(), "{:?}", second.languages);
            assert_eq!(second.text, first.text);
        }
    }

    #[test]
    fn a_file_of_comments_keeps_them_on_top() {
        let setup = configure("# Helix languages\n\n# (empty for now)");
        assert!(
            setup.text.starts_with(
                "# Helix languages\n\n# (empty for now)\n[language-server.agentls]\ncommand = \"agentls\"\n"
            ),
            "{}",
            setup.text
        );
        assert!(setup.text.ends_with("\"agentls\"]\n"), "{}", setup.text);
        assert!(!configure(&setup.text).changed());
    }

    #[test]
    fn the_users_own_agentls_settings_win() {
        let text = r#"[language-server.agentls]
command = "/opt/agentls/bin/agentls"
args = ["--log-file", "/tmp/agentls.log"]

[[language]]
name = "rust"
language-servers = [{ name = "agentls", except-features = ["format"] }, "rust-analyzer"]
"#;
        let setup = configure(text);
        assert!(!setup.server_added);
        assert!(!setup.languages.iter().any(
            |change| matches!(change, LanguageChange::Appended { language } if language == "rust")
        ));
        assert!(setup.text.starts_with(text), "{}", setup.text);
    }

    #[test]
    fn inline_language_arrays_are_extended_too() {
        let setup = configure("language = [{ name = \"go\", language-servers = [\"gopls\"] }]\n");
        let parsed: toml::Table = toml::from_str(&setup.text).expect("valid TOML");
        let languages = parsed["language"].as_array().expect("array");
        assert_eq!(languages.len(), HELIX_DEFAULT_SERVERS.len());
        assert_eq!(
            languages[0]["language-servers"],
            toml::Value::Array(vec!["gopls".into(), "agentls".into()])
        );
    }

    #[test]
    fn invalid_toml_is_refused_with_its_line() {
        let error = configure_helix("[[language]]\nname = \n", Path::new("/h/languages.toml"))
            .expect_err("invalid");
        let message = error.to_string();
        assert!(
            message.starts_with("/h/languages.toml is not valid TOML, so it was left as it is: TOML parse error at line 2"),
            "{message}"
        );
        let error = configure_helix("language = 3\n", Path::new("/h/languages.toml"))
            .expect_err("not an array");
        assert_eq!(
            error.to_string(),
            "/h/languages.toml has language = integer, not the table or array Helix expects; it was left as it is"
        );
    }

    #[test]
    fn the_config_dir_follows_xdg_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
            }
        };
        assert_eq!(
            helix_config_dir(&env(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")])),
            Some(PathBuf::from("/x/helix"))
        );
        assert_eq!(
            helix_config_dir(&env(&[("XDG_CONFIG_HOME", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.config/helix"))
        );
        assert_eq!(helix_config_dir(&env(&[])), None);
    }
}
