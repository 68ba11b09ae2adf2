//! Nothing outlives its command: the helper stays as the command's supervisor
//! instead of exec'ing it, and when the command ends — it exits, the runner stops
//! it (timeout, interrupt), or a user's Ctrl-C reaches `agentls sandbox` — every
//! process the command started dies too, whatever it did to get away (`setsid`,
//! a double fork, `nohup`, `daemon(3)`, ignoring `SIGTERM`).
//!
//! Two mechanisms, the first the kernel offers (docs/security.md says which host
//! gets which):
//!
//! - **A PID namespace.** The helper's first child is the init of a new PID
//!   namespace and the command is init's child. When the command exits, init
//!   exits, and the kernel kills every other process in the namespace before init
//!   is reaped; nothing in the namespace can leave it. The helper kills init with
//!   `SIGKILL` when it is told to stop, and init has `PR_SET_PDEATHSIG` so a
//!   helper killed outright takes the namespace with it.
//! - **A subreaper.** Without namespaces (no user namespaces for this user), the
//!   helper sets `PR_SET_CHILD_SUBREAPER` so that every orphaned descendant is
//!   re-parented to it, and kills all of its descendants (found through `/proc`)
//!   when the command ends. A helper killed with `SIGKILL` cannot do that; the
//!   runner therefore stops it with `SIGTERM`.
//!
//! Everything here runs in the single-threaded helper, between fork and exec:
//! plain system calls, no locks held by other threads.

use std::collections::HashMap;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use super::exit::{fail_setup, report, EXEC_FAILED_PREFIX, NOT_EXECUTABLE_EXIT, NOT_FOUND_EXIT};

/// How a command's processes are kept from outliving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ProcessContainment {
    /// The command runs under the init of its own PID namespace (`user_namespace`:
    /// inside an unprivileged user namespace, as a user without `CAP_SYS_ADMIN`).
    PidNamespace { user_namespace: bool },
    /// The helper is the subreaper of the command's processes and kills all its
    /// descendants when the command ends.
    Subreaper,
    /// Not Linux: only the command's process group is killed; a process that
    /// leaves it survives.
    ProcessGroup,
}

impl ProcessContainment {
    /// One line for `--explain` and the docs.
    pub fn describe(self) -> &'static str {
        match self {
            ProcessContainment::PidNamespace {
                user_namespace: false,
            } => "killed with the command (its own PID namespace)",
            ProcessContainment::PidNamespace {
                user_namespace: true,
            } => "killed with the command (its own PID namespace, in a user namespace)",
            ProcessContainment::Subreaper => {
                "killed with the command (subreaper: every descendant is killed when it ends)"
            }
            ProcessContainment::ProcessGroup => {
                "the command's process group is killed with it; a process that leaves the group survives"
            }
        }
    }
}

/// The signals that tell the helper to stop the command (and everything it started)
/// and then end the same way itself.
const STOP_SIGNALS: [libc::c_int; 4] = [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGQUIT];

/// Runs `command` under `containment` and waits for it. Returns the exit status to
/// exit with; when the command (or the helper) was ended by a signal, the helper
/// ends itself with that signal instead of returning.
pub(crate) fn run(containment: ProcessContainment, command: Command) -> i32 {
    // An ignored SIGCHLD (inherited through exec) would make children reap
    // themselves, and the command's status would be lost.
    // SAFETY: signal(2) with a valid signal number and SIG_DFL.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
    let mut waited = match SignalMask::block() {
        Ok(mask) => mask,
        Err(error) => return fail_setup(&format_args!("sigprocmask: {error}")),
    };
    let end = match containment {
        ProcessContainment::PidNamespace { .. } => supervise_namespace(&mut waited, command),
        ProcessContainment::Subreaper | ProcessContainment::ProcessGroup => {
            supervise_descendants(&mut waited, command)
        }
    };
    match end {
        Ok(end) => end.finish(&waited),
        Err(error) => fail_setup(&error),
    }
}

/// How the supervised run ended.
enum End {
    /// The command's wait status.
    Command(libc::c_int),
    /// The helper was told to stop by this signal (the command was killed).
    Stopped(libc::c_int),
}

impl End {
    fn finish(self, mask: &SignalMask) -> i32 {
        let signal = match self {
            End::Command(status) if libc::WIFEXITED(status) => return libc::WEXITSTATUS(status),
            End::Command(status) if libc::WIFSIGNALED(status) => libc::WTERMSIG(status),
            End::Command(status) => return 128 + (status & 0x7f),
            End::Stopped(signal) => signal,
        };
        // End the way the command did, so the runner (and a shell) see a death by
        // signal, not an exit code that could be the command's own.
        let no_core = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: plain system calls on this process with valid arguments; after
        // restoring the default action and unblocking, kill(2) on ourselves
        // delivers `signal` before it returns.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &no_core);
            libc::signal(signal, libc::SIG_DFL);
        }
        mask.restore();
        // SAFETY: see above.
        unsafe {
            libc::kill(libc::getpid(), signal);
        }
        // A signal whose default is not to terminate (the command was stopped?).
        128 + signal
    }
}

/// The PID namespace: fork init, which forks and waits for the command.
fn supervise_namespace(waited: &mut SignalMask, command: Command) -> Result<End, String> {
    let (status_read, status_write) = pipe().map_err(|error| format!("pipe: {error}"))?;
    let (alive_read, alive_write) = pipe().map_err(|error| format!("pipe: {error}"))?;
    let init = fork().map_err(|error| format!("fork: {error}"))?;
    if init == 0 {
        drop(status_read);
        drop(alive_write);
        namespace_init(waited, command, &status_write, &alive_read);
    }
    drop(status_write);
    drop(alive_read);

    let mut stopped = None;
    loop {
        match waited.wait()? {
            libc::SIGCHLD => {
                if reap(init, libc::WNOHANG)
                    .map_err(|error| format!("waitpid: {error}"))?
                    .is_some()
                {
                    break;
                }
            }
            signal => {
                stopped = Some(signal);
                // SAFETY: kill(2) takes integers; `init` is our child, not reaped
                // yet, so the pid cannot have been reused.
                unsafe { libc::kill(init, libc::SIGKILL) };
            }
        }
    }
    drop(alive_write);
    // init writes the command's status just before it exits; nothing else holds
    // the pipe's write end by now (the command's copy is close-on-exec and the
    // namespace is empty once init has been reaped).
    let mut status = [0u8; 4];
    let command_status = match status_read.read_exact(&mut status) {
        Ok(()) => Some(libc::c_int::from_ne_bytes(status)),
        Err(_) => None,
    };
    Ok(match (stopped, command_status) {
        (Some(signal), _) => End::Stopped(signal),
        (None, Some(status)) => End::Command(status),
        // init died without a word: someone killed it from outside.
        (None, None) => End::Stopped(libc::SIGKILL),
    })
}

/// The init of the command's PID namespace. Never returns.
fn namespace_init(mask: &SignalMask, command: Command, status: &Fd, alive: &Fd) -> ! {
    // SAFETY: prctl(2) with integer arguments. If the helper dies (even by
    // SIGKILL), init gets SIGKILL and the kernel empties the namespace.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    // The helper may have died before that: then the pipe it holds is closed.
    if alive.hung_up() {
        // SAFETY: _exit(2) ends this process only.
        unsafe { libc::_exit(1) };
    }
    let command_pid = match fork() {
        Ok(0) => exec(mask, command),
        Ok(pid) => pid,
        Err(error) => {
            report(&format_args!("agentls sandbox: fork: {error}"));
            // SAFETY: as above.
            unsafe { libc::_exit(super::exit::SETUP_FAILED_EXIT) };
        }
    };
    // Orphans of the namespace are re-parented to init: reap them as they go, and
    // leave (which kills whatever is left) when the command itself ends.
    loop {
        match reap(-1, 0) {
            Ok(Some((pid, wait_status))) if pid == command_pid => {
                let _ = status.write_all(&wait_status.to_ne_bytes());
                // SAFETY: as above.
                unsafe { libc::_exit(0) };
            }
            Ok(_) => {}
            Err(_) => {
                // SAFETY: as above; no children left, which cannot happen while
                // the command runs.
                unsafe { libc::_exit(1) };
            }
        }
    }
}

/// The subreaper: fork the command, wait for it, then kill every descendant.
fn supervise_descendants(waited: &mut SignalMask, command: Command) -> Result<End, String> {
    // SAFETY: prctl(2) with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        return Err(format!(
            "prctl(PR_SET_CHILD_SUBREAPER): {}",
            io::Error::last_os_error()
        ));
    }
    let command_pid = fork().map_err(|error| format!("fork: {error}"))?;
    if command_pid == 0 {
        exec(waited, command);
    }
    let end = loop {
        match waited.wait()? {
            libc::SIGCHLD => {
                let mut ended = None;
                loop {
                    match reap(-1, libc::WNOHANG) {
                        Ok(Some((pid, status))) => {
                            if pid == command_pid {
                                ended = Some(status);
                            }
                        }
                        Ok(None) => break,
                        Err(error) if error.raw_os_error() == Some(libc::ECHILD) => break,
                        Err(error) => return Err(format!("waitpid: {error}")),
                    }
                }
                if let Some(status) = ended {
                    break End::Command(status);
                }
            }
            signal => break End::Stopped(signal),
        }
    };
    kill_descendants()?;
    Ok(end)
}

/// Kills every descendant of this process and reaps them. Descendants that are
/// not our children yet become ours (we are their subreaper) when their parent
/// dies, so this repeats until none are left.
fn kill_descendants() -> Result<(), String> {
    // SAFETY: getpid(2) cannot fail.
    let me = unsafe { libc::getpid() };
    loop {
        let descendants = descendants_of(me);
        for &pid in &descendants {
            // SAFETY: kill(2) takes integers. A pid that died and was reused
            // since the scan could only be a descendant's (we have not reaped).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        match reap(-1, 0) {
            Ok(Some(_)) => {}
            Ok(None) => {}
            Err(error) if error.raw_os_error() == Some(libc::ECHILD) => {
                if descendants.is_empty() {
                    return Ok(());
                }
                // Killed grandchildren whose parents are not reaped by us yet:
                // scan again until they are re-parented.
            }
            Err(error) => return Err(format!("waitpid: {error}")),
        }
    }
}

/// Every process below `ancestor` in the process tree, from `/proc`.
fn descendants_of(ancestor: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: HashMap<libc::pid_t, Vec<libc::pid_t>> = HashMap::new();
    for entry in entries.filter_map(Result::ok) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        if let Some(parent) = parent_of(&entry.path()) {
            children.entry(parent).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut next = vec![ancestor];
    while let Some(parent) = next.pop() {
        for &child in children.get(&parent).map(Vec::as_slice).unwrap_or_default() {
            found.push(child);
            next.push(child);
        }
    }
    found
}

/// The parent pid in `/proc/<pid>/stat` (the field after the state, after the
/// command name's closing parenthesis, which the name itself may contain).
fn parent_of(proc_dir: &Path) -> Option<libc::pid_t> {
    let stat = std::fs::read_to_string(proc_dir.join("stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// In the forked child: restore the signal mask and become the command. Never
/// returns; a failed exec is reported as `sandbox_main` always has.
fn exec(mask: &SignalMask, mut command: Command) -> ! {
    mask.restore();
    let error = command.exec();
    let status = if error.kind() == io::ErrorKind::NotFound {
        NOT_FOUND_EXIT
    } else {
        NOT_EXECUTABLE_EXIT
    };
    report(&format_args!(
        "{EXEC_FAILED_PREFIX}`{}`: {error}",
        Path::new(command.get_program()).display()
    ));
    // SAFETY: _exit(2) ends this (forked) process without running the parent's
    // exit handlers or flushing its buffers twice.
    unsafe { libc::_exit(status) };
}

/// waitpid(2), retried on `EINTR`. `Ok(None)`: `WNOHANG` and nothing ended yet.
fn reap(pid: libc::pid_t, options: libc::c_int) -> io::Result<Option<(libc::pid_t, libc::c_int)>> {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a valid out-pointer for the call.
        let reaped = unsafe { libc::waitpid(pid, &mut status, options) };
        if reaped > 0 {
            return Ok(Some((reaped, status)));
        }
        if reaped == 0 {
            return Ok(None);
        }
        let error = io::Error::last_os_error();
        if error.raw_os_error() != Some(libc::EINTR) {
            return Err(error);
        }
    }
}

fn fork() -> io::Result<libc::pid_t> {
    // SAFETY: the helper is single-threaded (sandbox_main's contract), so the
    // child may go on running ordinary code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(pid)
}

/// An owned file descriptor (one end of a pipe).
struct Fd(libc::c_int);

impl Fd {
    fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        // SAFETY: `bytes` is valid for reads of its length; the fd is ours.
        let written = unsafe { libc::write(self.0, bytes.as_ptr().cast(), bytes.len()) };
        if written == bytes.len() as isize {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn read_exact(&self, buffer: &mut [u8]) -> io::Result<()> {
        let mut filled = 0;
        while filled < buffer.len() {
            // SAFETY: the rest of `buffer` is valid for writes of its length.
            let read = unsafe {
                libc::read(
                    self.0,
                    buffer[filled..].as_mut_ptr().cast(),
                    buffer.len() - filled,
                )
            };
            match read {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                read if read > 0 => filled += read as usize,
                _ => {
                    let error = io::Error::last_os_error();
                    if error.raw_os_error() != Some(libc::EINTR) {
                        return Err(error);
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the other end of this pipe's read end is closed.
    fn hung_up(&self) -> bool {
        let mut poll = libc::pollfd {
            fd: self.0,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no waiting.
        let ready = unsafe { libc::poll(&mut poll, 1, 0) };
        ready > 0 && poll.revents & libc::POLLHUP != 0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the fd is owned by this value and closed once.
        unsafe { libc::close(self.0) };
    }
}

/// A close-on-exec pipe: (read end, write end).
fn pipe() -> io::Result<(Fd, Fd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid out-array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((Fd(fds[0]), Fd(fds[1])))
}

/// `SIGCHLD` and the stop signals, blocked so that the helper takes them one at a
/// time with sigwaitinfo(2) instead of in handlers; the previous mask is what
/// the command gets back.
struct SignalMask {
    waited: libc::sigset_t,
    previous: libc::sigset_t,
}

impl SignalMask {
    fn block() -> io::Result<SignalMask> {
        // SAFETY: sigset_t is a plain C struct; sigemptyset/sigaddset initialise
        // it, and sigprocmask gets valid pointers.
        unsafe {
            let mut waited: libc::sigset_t = std::mem::zeroed();
            let mut previous: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut waited);
            libc::sigaddset(&mut waited, libc::SIGCHLD);
            for signal in STOP_SIGNALS {
                libc::sigaddset(&mut waited, signal);
            }
            if libc::sigprocmask(libc::SIG_BLOCK, &waited, &mut previous) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(SignalMask { waited, previous })
        }
    }

    /// The next of the waited signals.
    fn wait(&mut self) -> Result<libc::c_int, String> {
        loop {
            // SAFETY: `waited` is an initialised set; no siginfo wanted.
            let signal = unsafe { libc::sigwaitinfo(&self.waited, std::ptr::null_mut()) };
            if signal > 0 {
                return Ok(signal);
            }
            let error = io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EINTR) {
                return Err(format!("sigwaitinfo: {error}"));
            }
        }
    }

    fn restore(&self) {
        // SAFETY: `previous` was filled by sigprocmask in `block`.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &self.previous, std::ptr::null_mut()) };
    }
}

/// Which mechanism [`run`] gets for an enforcing policy here, probed in a
/// short-lived child (unsharing would change this process for good).
pub(crate) fn probe() -> ProcessContainment {
    // SAFETY: the child only makes system calls (unshare, _exit), which is what
    // a child of a multi-threaded process may do.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: as above.
        unsafe {
            let code = if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWPID) == 0 {
                0
            } else if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID)
                == 0
            {
                1
            } else {
                2
            };
            libc::_exit(code);
        }
    }
    if pid < 0 {
        return ProcessContainment::Subreaper;
    }
    match reap(pid, 0) {
        Ok(Some((_, status))) if libc::WIFEXITED(status) => match libc::WEXITSTATUS(status) {
            0 => ProcessContainment::PidNamespace {
                user_namespace: false,
            },
            1 => ProcessContainment::PidNamespace {
                user_namespace: true,
            },
            _ => ProcessContainment::Subreaper,
        },
        _ => ProcessContainment::Subreaper,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_parent_of_reads_past_a_name_with_parentheses() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("stat"), "42 (a) b) S 7 42 42 0").unwrap();
        assert_eq!(parent_of(dir.path()), Some(7));
    }
}
