//! The Linux confinement the helper applies to itself before exec:
//! `no_new_privs`, a private mount namespace with `<root>/.git` bound read-only,
//! Landlock for the file system, seccomp for the network. Order matters: mounts
//! must happen before Landlock (which forbids them), and the seccomp filter comes
//! last because it also denies `mount`.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope, ABI,
};
use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::process::{SandboxError, SandboxPolicy};

/// `LANDLOCK_CREATE_RULESET_VERSION` from `<linux/landlock.h>`.
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;

/// The file-system rights handled: everything up to ABI 3 (`Truncate`). Device
/// ioctls (ABI 5) are left alone: handling them would break terminal ioctls for no
/// gain the write rules don't already give.
const FS_ABI: ABI = ABI::V3;
/// TCP bind/connect (ABI 4), a second lock behind seccomp's socket filter.
const NET_ABI: ABI = ABI::V4;
/// Abstract unix sockets and signals outside the sandbox (ABI 6): a command cannot
/// signal the editor or the server, nor reach an abstract socket outside it.
const SCOPE_ABI: ABI = ABI::V6;

/// Files every enforcing policy may write: discarding output and the terminal.
pub(crate) const WRITABLE_DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full", "/dev/tty"];

/// The kernel's Landlock ABI version, or why there is none (`support.rs` turns
/// it into a `LandlockSupport`; this file stays a leaf of raw system calls).
pub(crate) fn landlock_abi() -> Result<u32, String> {
    // SAFETY: with a null attribute pointer, size 0 and only the VERSION flag,
    // landlock_create_ruleset(2) reads no memory, creates no file descriptor and
    // returns the ABI version (or -1 with errno).
    let version = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if version < 0 {
        let error = io::Error::last_os_error();
        let reason = match error.raw_os_error() {
            Some(libc::EOPNOTSUPP) => {
                "Landlock is built into this kernel but not enabled at boot".to_owned()
            }
            Some(libc::ENOSYS) => "this kernel has no Landlock".to_owned(),
            _ => format!("Landlock probe failed: {error}"),
        };
        return Err(reason);
    }
    Ok(u32::try_from(version).unwrap_or(u32::MAX))
}

pub(crate) fn detect_seccomp() -> bool {
    // SAFETY: PR_GET_SECCOMP takes no pointer argument; it only reports this
    // thread's seccomp mode, or fails with EINVAL when the kernel has no seccomp.
    unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 }
}

/// Confines the calling (single-threaded) process for `policy`. `writable_roots`
/// includes the private temporary directory.
/// `in_mount_namespace`: [`enter_namespaces`] already gave this process a private
/// mount namespace (the `.git` bind mounts go there).
pub(crate) fn confine(
    policy: SandboxPolicy,
    writable_roots: &[PathBuf],
    tmpdir: Option<&Path>,
    in_mount_namespace: bool,
) -> Result<(), SandboxError> {
    set_no_new_privs()?;
    let writable: Vec<PathBuf> = match policy {
        SandboxPolicy::FullAccess => return Ok(()),
        SandboxPolicy::ReadOnly => Vec::new(),
        SandboxPolicy::WorkspaceWrite => {
            writable_paths(writable_roots, tmpdir, in_mount_namespace)?
        }
    };
    restrict_file_system(&writable)?;
    install_network_filter()
}

fn set_no_new_privs() -> Result<(), SandboxError> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only; it cannot be undone,
    // which is the point.
    let result = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if result != 0 {
        return Err(SandboxError::Setup(format!(
            "prctl(PR_SET_NO_NEW_PRIVS): {}",
            io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// The paths Landlock lets the command write under `workspace-write`.
///
/// Landlock rules only add rights down a hierarchy, so a writable root cannot have
/// a read-only `.git` inside it. The `.git` of each root is therefore bound
/// read-only in a private mount namespace first (writes there fail with `EROFS`).
/// Where no mount namespace can be had (no user namespaces for this user), the
/// fall-back grants every entry of such a root except `.git`, instead of the root
/// itself: `.git` stays protected, but new files directly in the root cannot be
/// created.
fn writable_paths(
    roots: &[PathBuf],
    tmpdir: Option<&Path>,
    in_mount_namespace: bool,
) -> Result<Vec<PathBuf>, SandboxError> {
    let git_dirs: Vec<PathBuf> = roots
        .iter()
        .filter(|root| Some(root.as_path()) != tmpdir)
        .map(|root| root.join(".git"))
        .filter(|git| git.symlink_metadata().is_ok())
        .collect();
    if git_dirs.is_empty() {
        return Ok(roots.to_vec());
    }
    match bind_read_only(&git_dirs, in_mount_namespace)? {
        Ok(()) => Ok(roots.to_vec()),
        Err(error) => {
            tracing::debug!(%error, "no mount namespace for a read-only .git; granting root entries instead");
            let mut writable = Vec::new();
            for root in roots {
                if root.join(".git").symlink_metadata().is_err() || Some(root.as_path()) == tmpdir {
                    writable.push(root.clone());
                    continue;
                }
                let entries = std::fs::read_dir(root).map_err(|error| {
                    SandboxError::Setup(format!("cannot list `{}`: {error}", root.display()))
                })?;
                writable.extend(
                    entries
                        .filter_map(Result::ok)
                        .filter(|entry| entry.file_name() != ".git")
                        .map(|entry| entry.path()),
                );
            }
            Ok(writable)
        }
    }
}

/// Enters a private mount namespace and bind-mounts each path read-only over itself.
/// The outer error is fatal (the process is in a state it cannot run commands
/// from); the inner one means "no namespace here, use the fall-back".
fn bind_read_only(
    paths: &[PathBuf],
    in_mount_namespace: bool,
) -> Result<io::Result<()>, SandboxError> {
    if !in_mount_namespace {
        match enter_mount_namespace()? {
            Ok(()) => {}
            Err(error) => return Ok(Err(error)),
        }
    }
    // Our mounts must not propagate back to the namespace we came from.
    if let Err(error) = mount(None, Path::new("/"), libc::MS_REC | libc::MS_SLAVE) {
        return Ok(Err(error));
    }
    for path in paths {
        if let Err(error) = mount(Some(path), path, libc::MS_BIND | libc::MS_REC) {
            return Ok(Err(error));
        }
        // A remount must keep the flags the kernel locked on the original mount
        // (nosuid, nodev, noexec, atime), or it fails with EPERM in a user namespace.
        let flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | locked_flags(path);
        if let Err(error) = mount(None, path, flags) {
            return Ok(Err(error));
        }
    }
    Ok(Ok(()))
}

/// Binds each `(path, file)`'s file over its path, in the private mount
/// namespace this process is already in: the command sees the editor's unsaved
/// text, the disk keeps the saved one. A path that does not exist on disk (a
/// buffer never saved) cannot be bound over and is left out.
pub(crate) fn bind_overlays(overlays: &[(PathBuf, PathBuf)]) -> Result<(), SandboxError> {
    // Our mounts must not propagate back to the namespace we came from.
    mount(None, Path::new("/"), libc::MS_REC | libc::MS_SLAVE)
        .map_err(|error| SandboxError::Setup(format!("cannot make the mounts private: {error}")))?;
    for (path, file) in overlays {
        if !path.is_file() {
            continue;
        }
        mount(Some(file), path, libc::MS_BIND).map_err(|error| {
            SandboxError::Setup(format!(
                "cannot show the editor's text of `{}` to the command: {error}",
                path.display()
            ))
        })?;
    }
    Ok(())
}

/// `unshare(CLONE_NEWNS)`, or, for users without `CAP_SYS_ADMIN`, a user namespace
/// that maps them to themselves plus a mount namespace.
fn enter_mount_namespace() -> Result<io::Result<()>, SandboxError> {
    unshare_maybe_as_user(libc::CLONE_NEWNS).map(|entered| entered.map(|_| ()))
}

/// The namespaces [`enter_namespaces`] got this process into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Namespaces {
    /// A private mount namespace (for the read-only `.git`).
    pub(crate) mount: bool,
    /// The process's next child will be the init of a new PID namespace.
    pub(crate) pid: bool,
    /// Both came with an unprivileged user namespace mapping the user to itself.
    pub(crate) user: bool,
}

/// Before confining (enforcing policies only): a new PID namespace for the
/// command's processes (killing its init kills them all) and a private mount
/// namespace; directly where this process may (root, `CAP_SYS_ADMIN`), else
/// through an unprivileged user namespace. The inner error means "none here,
/// supervise without" (see `contain.rs`); the outer one is fatal. Without `pid`
/// (the subreaper was asked for), only the mount namespace.
pub(crate) fn enter_namespaces(pid: bool) -> Result<io::Result<Namespaces>, SandboxError> {
    let flags = if pid {
        libc::CLONE_NEWNS | libc::CLONE_NEWPID
    } else {
        libc::CLONE_NEWNS
    };
    Ok(unshare_maybe_as_user(flags)?.map(|user| Namespaces {
        mount: true,
        pid,
        user,
    }))
}

/// `unshare(flags)`, or on `EPERM` `unshare(CLONE_NEWUSER | flags)` with the user
/// mapped to itself. `Ok(Ok(true))`: a user namespace was needed.
fn unshare_maybe_as_user(flags: libc::c_int) -> Result<io::Result<bool>, SandboxError> {
    // SAFETY: unshare(2) takes flags only.
    if unsafe { libc::unshare(flags) } == 0 {
        return Ok(Ok(false));
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() != Some(libc::EPERM) {
        return Ok(Err(error));
    }
    // SAFETY: getuid(2) and getgid(2) cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: unshare(2) takes flags only.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | flags) } != 0 {
        return Ok(Err(io::Error::last_os_error()));
    }
    // From here on the process is in the new user namespace: without its uid map it
    // could not create files, so a failure is fatal.
    let write = |file: &str, contents: String| {
        std::fs::write(file, contents).map_err(|error| {
            SandboxError::Setup(format!(
                "cannot write {file} in a new user namespace: {error}"
            ))
        })
    };
    match std::fs::write("/proc/self/setgroups", "deny") {
        Ok(()) => {}
        // Kernels before 3.19 have no such file and need no such step.
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(SandboxError::Setup(format!(
                "cannot write /proc/self/setgroups in a new user namespace: {error}"
            )))
        }
    }
    write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
    write("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
    Ok(Ok(true))
}

fn locked_flags(path: &Path) -> libc::c_ulong {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c_path` is a NUL-terminated string and `stats` a valid out-pointer,
    // both alive for the call.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stats) } != 0 {
        return 0;
    }
    let pairs = [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ];
    pairs
        .into_iter()
        .filter(|(statvfs_flag, _)| stats.f_flag & statvfs_flag != 0)
        .fold(0, |flags, (_, mount_flag)| flags | mount_flag)
}

fn mount(source: Option<&Path>, target: &Path, flags: libc::c_ulong) -> io::Result<()> {
    let c_string = |path: &Path| {
        CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))
    };
    let source = source.map(c_string).transpose()?;
    let target = c_string(target)?;
    // SAFETY: every pointer is either null (allowed for source, fstype and data with
    // these flags) or a NUL-terminated string that outlives the call.
    let result = unsafe {
        libc::mount(
            source
                .as_ref()
                .map_or(std::ptr::null(), |source| source.as_ptr()),
            target.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        )
    };
    if result != 0 {
        let error = io::Error::last_os_error();
        return Err(io::Error::new(
            error.kind(),
            format!("mount {}: {error}", target.to_string_lossy()),
        ));
    }
    Ok(())
}

/// Landlock: read and execute everywhere, write only `writable` and a few devices,
/// no TCP, no signals or abstract sockets outside the sandbox. Best effort: an older
/// kernel enforces what it knows (the runner warns about it from `SandboxSupport`).
fn restrict_file_system(writable: &[PathBuf]) -> Result<(), SandboxError> {
    let setup = |error: landlock::RulesetError| SandboxError::Setup(format!("landlock: {error}"));
    let status = landlock::Ruleset::default()
        .handle_access(AccessFs::from_all(FS_ABI))
        .map_err(setup)?
        .handle_access(AccessNet::from_all(NET_ABI))
        .map_err(setup)?
        .scope(Scope::from_all(SCOPE_ABI))
        .map_err(setup)?
        .create()
        .map_err(setup)?
        .add_rules(path_beneath_rules(["/"], AccessFs::from_read(FS_ABI)))
        .map_err(setup)?
        // Rules on a file get the file rights only (path_beneath_rules masks them).
        .add_rules(path_beneath_rules(
            WRITABLE_DEVICES,
            AccessFs::from_all(FS_ABI),
        ))
        .map_err(setup)?
        .add_rules(path_beneath_rules(writable, AccessFs::from_all(FS_ABI)))
        .map_err(setup)?
        .restrict_self()
        .map_err(setup)?;
    match status.ruleset {
        RulesetStatus::FullyEnforced => {}
        RulesetStatus::PartiallyEnforced => {
            tracing::debug!(landlock = ?status.landlock, "landlock partially enforced");
        }
        RulesetStatus::NotEnforced => {
            tracing::debug!(landlock = ?status.landlock, "landlock not enforced");
        }
    }
    Ok(())
}

/// Syscalls refused outright with `EPERM` under an enforcing policy.
/// (`i64` keys: seccompiler, like seccomp, exists for 64-bit architectures only.)
fn denied_syscalls() -> Vec<i64> {
    vec![
        // The network. `socket` itself is filtered by family below. Connecting is
        // refused even for AF_UNIX: a session-bus or docker socket is a way out of
        // the sandbox (systemd-run over D-Bus runs anything unconfined). glibc
        // falls back without nscd or systemd-userdbd, so name lookups still work.
        libc::SYS_connect,
        libc::SYS_bind,
        libc::SYS_listen,
        libc::SYS_accept,
        libc::SYS_accept4,
        // io_uring can open and connect sockets without the syscalls above.
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        // Mount changes (Landlock refuses them too) and root-only ways around
        // every rule, for when the server runs as root.
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_bpf,
    ]
}

fn network_filter() -> Result<BpfProgram, seccompiler::Error> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = denied_syscalls()
        .into_iter()
        .map(|syscall| (syscall, Vec::new()))
        .collect();
    // socket(2) and socketpair(2) only for AF_UNIX: pipes between the command's own
    // processes keep working, nothing else can be opened. AF_NETLINK is refused too
    // (interface and route queries; glibc's getaddrinfo copes without it).
    for syscall in [libc::SYS_socket, libc::SYS_socketpair] {
        let not_unix = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Dword,
            SeccompCmpOp::Ne,
            libc::AF_UNIX as u64,
        )?;
        rules.insert(syscall, vec![SeccompRule::new(vec![not_unix])?]);
    }
    let arch = TargetArch::try_from(std::env::consts::ARCH)?;
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )?;
    BpfProgram::try_from(filter).map_err(seccompiler::Error::from)
}

fn install_network_filter() -> Result<(), SandboxError> {
    let setup = |error: seccompiler::Error| SandboxError::Setup(format!("seccomp: {error}"));
    let program = network_filter().map_err(setup)?;
    seccompiler::apply_filter(&program).map_err(setup)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_seccomp_filter_compiles_for_this_arch() {
        assert!(!network_filter().unwrap().is_empty());
    }

    #[test]
    fn sandbox_landlock_probe_does_not_panic() {
        if let Ok(abi) = landlock_abi() {
            assert!(abi >= 1);
        }
    }
}
