//! `write_to_disk`, `check_preconditions`: atomic writes inside the
//! roots, re-based onto what the disk holds, in a temp directory.

use std::fs;
use std::path::{Path, PathBuf};

use crate::edits::{
    check_preconditions, write_to_disk, CheckpointFile, DiskOperation, DiskPrecondition, EditError,
    LineSpan,
};

struct Workspace {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Workspace {
    fn new() -> Workspace {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("project");
        fs::create_dir(&root).expect("root");
        Workspace { _dir: dir, root }
    }

    fn roots(&self) -> Vec<PathBuf> {
        vec![self.root.clone()]
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        fs::write(&path, text).expect("writes");
        path
    }

    fn read(&self, relative: &str) -> Option<String> {
        fs::read_to_string(self.path(relative)).ok()
    }

    /// Every entry under the root, to prove no temp file is left behind.
    fn listing(&self) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).expect("lists").flatten() {
                let path = entry.path();
                out.push(
                    path.strip_prefix(root)
                        .expect("under root")
                        .display()
                        .to_string(),
                );
                if path.is_dir() {
                    walk(&path, root, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }
}

#[test]
fn a_new_file_is_created_with_its_directories_and_nothing_else() {
    let workspace = Workspace::new();
    let written = write_to_disk(
        &workspace.roots(),
        &DiskOperation::Write {
            path: workspace.path("src/deep/new.rs"),
            expected: None,
            text: "fn new() {}\n".to_owned(),
        },
    )
    .expect("writes");
    assert_eq!(
        written,
        CheckpointFile {
            before: None,
            after: Some("fn new() {}\n".to_owned()),
            moved_from: None,
        }
    );
    assert_eq!(
        workspace.read("src/deep/new.rs").as_deref(),
        Some("fn new() {}\n")
    );
    assert_eq!(workspace.listing(), ["src", "src/deep", "src/deep/new.rs"]);
}

#[test]
fn creating_a_file_that_exists_is_refused() {
    let workspace = Workspace::new();
    let path = workspace.write("a.txt", "already here\n");
    let error = write_to_disk(
        &workspace.roots(),
        &DiskOperation::Write {
            path: path.clone(),
            expected: None,
            text: "agent\n".to_owned(),
        },
    )
    .expect_err("refused");
    assert!(matches!(error, EditError::AlreadyExists { .. }), "{error}");
    assert_eq!(workspace.read("a.txt").as_deref(), Some("already here\n"));
}

#[test]
fn a_write_is_rebased_onto_what_the_disk_holds_now() {
    let workspace = Workspace::new();
    let path = workspace.write("a.txt", "one\ntwo (saved by the user)\nthree\n");
    let written = write_to_disk(
        &workspace.roots(),
        &DiskOperation::Write {
            path: path.clone(),
            expected: Some("one\ntwo\nthree\n".to_owned()),
            text: "one\ntwo\nTHREE\n".to_owned(),
        },
    )
    .expect("merges");
    assert_eq!(
        workspace.read("a.txt").as_deref(),
        Some("one\ntwo (saved by the user)\nTHREE\n")
    );
    assert_eq!(
        written.before.as_deref(),
        Some("one\ntwo (saved by the user)\nthree\n")
    );
    assert_eq!(workspace.listing(), ["a.txt"]);
}

#[test]
fn a_conflicting_write_leaves_the_file_alone() {
    let workspace = Workspace::new();
    let path = workspace.write("a.txt", "one\nTwo by the user\n");
    let error = write_to_disk(
        &workspace.roots(),
        &DiskOperation::Write {
            path: path.clone(),
            expected: Some("one\ntwo\n".to_owned()),
            text: "one\ntwo by the agent\n".to_owned(),
        },
    )
    .expect_err("conflicts");
    assert_eq!(
        error,
        EditError::Conflict {
            path: fs::canonicalize(&path).expect("exists"),
            lines: vec![LineSpan::new(1, 2)],
            version: None,
        }
    );
    assert!(
        error
            .to_string()
            .ends_with("at line 2 of the file on disk; nothing was applied"),
        "{error}"
    );
    assert_eq!(
        workspace.read("a.txt").as_deref(),
        Some("one\nTwo by the user\n")
    );
}

#[test]
fn writes_keep_the_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let workspace = Workspace::new();
    let path = workspace.write("run.sh", "echo one\n");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    write_to_disk(
        &workspace.roots(),
        &DiskOperation::Write {
            path: path.clone(),
            expected: Some("echo one\n".to_owned()),
            text: "echo two\n".to_owned(),
        },
    )
    .expect("writes");
    let mode = fs::metadata(&path).expect("exists").permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
}

#[test]
fn paths_outside_the_roots_are_refused_even_through_symlinks() {
    let workspace = Workspace::new();
    let outside = workspace.root.parent().expect("temp dir").join("outside");
    fs::create_dir(&outside).expect("dir");
    std::os::unix::fs::symlink(&outside, workspace.path("escape")).expect("symlink");
    let targets = [
        outside.join("a.txt"),
        workspace.path("escape/a.txt"),
        workspace.path("../outside/a.txt"),
        workspace.root.clone(),
        PathBuf::from("relative.txt"),
    ];
    for path in targets {
        let result = write_to_disk(
            &workspace.roots(),
            &DiskOperation::Write {
                path: path.clone(),
                expected: None,
                text: "x".to_owned(),
            },
        );
        assert!(
            matches!(result, Err(EditError::OutsideRoots { .. })),
            "{path:?}: {result:?}"
        );
    }
    assert_eq!(fs::read_dir(&outside).expect("lists").count(), 0);
}

#[test]
fn a_delete_requires_the_text_the_agent_read() {
    let workspace = Workspace::new();
    let path = workspace.write("a.txt", "changed since\n");
    let delete = DiskOperation::Delete {
        path: path.clone(),
        expected: "as read\n".to_owned(),
    };
    let error = write_to_disk(&workspace.roots(), &delete).expect_err("refused");
    assert!(matches!(error, EditError::DiskChanged { .. }), "{error}");
    assert!(path.exists());

    fs::write(&path, "as read\n").expect("writes");
    let written = write_to_disk(&workspace.roots(), &delete).expect("deletes");
    assert_eq!(written.before.as_deref(), Some("as read\n"));
    assert!(!path.exists());
}

#[test]
fn a_rename_moves_the_file_with_its_new_text() {
    let workspace = Workspace::new();
    let from = workspace.write("old.rs", "fn old() {}\n");
    let to = workspace.path("sub/new.rs");
    let written = write_to_disk(
        &workspace.roots(),
        &DiskOperation::Rename {
            from: from.clone(),
            to: to.clone(),
            expected: "fn old() {}\n".to_owned(),
            text: "fn new() {}\n".to_owned(),
        },
    )
    .expect("renames");
    assert!(!from.exists());
    assert_eq!(
        workspace.read("sub/new.rs").as_deref(),
        Some("fn new() {}\n")
    );
    assert!(written.moved_from.is_some());
    assert_eq!(workspace.listing(), ["sub", "sub/new.rs"]);
}

#[test]
fn preconditions_name_the_file_that_differs() {
    let workspace = Workspace::new();
    let present = workspace.write("present.txt", "text\n");
    let absent = workspace.path("absent.txt");
    let check = |path: &PathBuf, expected: Option<&str>| {
        check_preconditions(
            &workspace.roots(),
            &[DiskPrecondition {
                path: path.clone(),
                expected: expected.map(str::to_owned),
            }],
        )
    };
    assert_eq!(check(&present, Some("text\n")), Ok(()));
    assert_eq!(check(&absent, None), Ok(()));
    assert!(matches!(
        check(&present, Some("other\n")),
        Err(EditError::DiskChanged { .. })
    ));
    assert!(matches!(
        check(&present, None),
        Err(EditError::AlreadyExists { .. })
    ));
    assert!(matches!(
        check(&absent, Some("text\n")),
        Err(EditError::Missing { .. })
    ));
}
