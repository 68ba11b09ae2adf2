//! Resolving the paths the model names: relative to the workspace root or absolute,
//! never outside the root, whatever `..` it uses.

use std::path::{Component, Path, PathBuf};

use super::ToolError;

/// Resolve `raw` (relative to `root`, or absolute) to an absolute path inside
/// `root`. The check is lexical: `.` and `..` are folded before comparing, so
/// `src/../../etc/passwd` is refused. Symbolic links are the `Workspace`'s concern.
pub fn resolve_in_workspace(root: &Path, raw: &str) -> Result<PathBuf, ToolError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(ToolError::Respond("the path is empty".to_string()));
    }
    let root = normalize(root);
    let joined = if Path::new(trimmed).is_absolute() {
        PathBuf::from(trimmed)
    } else {
        root.join(trimmed)
    };
    let resolved = normalize(&joined);
    if resolved.starts_with(&root) {
        Ok(resolved)
    } else {
        Err(ToolError::Respond(format!(
            "{} is outside the workspace root {}",
            shorten(trimmed),
            root.display()
        )))
    }
}

/// Resolve `raw` as `resolve_in_workspace` does, for a path the agent writes:
/// also refused inside a `.git` folder (its config and hooks run code outside
/// any sandbox the next time the user runs git).
pub fn resolve_writable(root: &Path, raw: &str) -> Result<PathBuf, ToolError> {
    let resolved = resolve_in_workspace(root, raw)?;
    let relative = resolved.strip_prefix(normalize(root)).unwrap_or(&resolved);
    if relative
        .components()
        .any(|component| component.as_os_str() == ".git")
    {
        return Err(ToolError::Respond(format!(
            "{} is inside .git, which the agent may not change",
            shorten(raw.trim())
        )));
    }
    Ok(resolved)
}

/// A path as named in an error: a path of 10 MB is not echoed whole.
fn shorten(raw: &str) -> String {
    const MAX: usize = 200;
    if raw.len() <= MAX {
        return raw.to_string();
    }
    let mut end = MAX;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &raw[..end], raw.len())
}

/// How a path inside the workspace is shown to the model: relative to the root,
/// with `/` separators, `.` for the root itself.
pub(crate) fn display_path(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".to_string(),
        Ok(relative) => relative
            .components()
            .map(|component| component.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.display().to_string(),
    }
}

/// Fold `.` and `..` without touching the disk. A `..` above the filesystem root
/// stays at the root, which is outside any workspace but `/`.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_paths_resolve_inside_and_refuse_outside() {
        let root = Path::new("/ws");
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("src/main.rs", Ok("/ws/src/main.rs")),
            ("./src/../Cargo.toml", Ok("/ws/Cargo.toml")),
            ("/ws/a/b", Ok("/ws/a/b")),
            (".", Ok("/ws")),
            ("  src/lib.rs ", Ok("/ws/src/lib.rs")),
            (
                "../etc/passwd",
                Err("../etc/passwd is outside the workspace root /ws"),
            ),
            (
                "src/../../ws2/x",
                Err("src/../../ws2/x is outside the workspace root /ws"),
            ),
            (
                "/etc/passwd",
                Err("/etc/passwd is outside the workspace root /ws"),
            ),
            (
                "/ws/../etc",
                Err("/ws/../etc is outside the workspace root /ws"),
            ),
            (
                "/wsx/file",
                Err("/wsx/file is outside the workspace root /ws"),
            ),
            ("", Err("the path is empty")),
        ];
        for (raw, expected) in cases {
            let got = resolve_in_workspace(root, raw);
            let expected = expected
                .map(PathBuf::from)
                .map_err(|message| ToolError::Respond(message.to_string()));
            assert_eq!(got, expected, "{raw:?}");
        }
    }

    #[test]
    fn tools_paths_writable_refuses_git_and_shortens_long_paths() {
        let root = Path::new("/ws");
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("src/.gitignore", Ok("/ws/src/.gitignore")),
            (
                ".github/workflows/ci.yml",
                Ok("/ws/.github/workflows/ci.yml"),
            ),
            (
                ".git/config",
                Err(".git/config is inside .git, which the agent may not change"),
            ),
            (
                "./src/../.git/hooks/pre-commit",
                Err(
                    "./src/../.git/hooks/pre-commit is inside .git, which the agent may not change",
                ),
            ),
            (
                "/ws/vendor/dep/.git/HEAD",
                Err("/ws/vendor/dep/.git/HEAD is inside .git, which the agent may not change"),
            ),
            ("../x", Err("../x is outside the workspace root /ws")),
        ];
        for (raw, expected) in cases {
            let got = resolve_writable(root, raw);
            let expected = expected
                .map(PathBuf::from)
                .map_err(|message| ToolError::Respond(message.to_string()));
            assert_eq!(got, expected, "{raw:?}");
        }
        let long = format!("../{}", "a".repeat(10 << 20));
        let Err(ToolError::Respond(message)) = resolve_in_workspace(root, &long) else {
            panic!("a long path outside the root is refused");
        };
        assert!(message.len() < 400, "{}", message.len());
        assert!(message.contains("(10485763 bytes)"), "{message}");
    }

    #[test]
    fn tools_paths_display_relative() {
        let root = Path::new("/ws");
        assert_eq!(display_path(root, Path::new("/ws/src/a.rs")), "src/a.rs");
        assert_eq!(display_path(root, Path::new("/ws")), ".");
    }
}
