//! How the helper says that it, not the command, failed: exit statuses and
//! stderr prefixes shared by the helper, the supervisor in `contain` and the
//! runner that reads them. A leaf, so those three need not import each other.

/// Exit status when the sandbox could not be set up (the command never ran).
pub(crate) const SETUP_FAILED_EXIT: i32 = 125;
/// Exit status when the command could not be executed (not found: 127, other: 126).
pub(crate) const NOT_FOUND_EXIT: i32 = 127;
pub(crate) const NOT_EXECUTABLE_EXIT: i32 = 126;
/// How the helper's own failures start on stderr, so the runner can tell them from
/// the command's.
pub(crate) const SETUP_FAILED_PREFIX: &str = "agentls sandbox: setup failed: ";
pub(crate) const EXEC_FAILED_PREFIX: &str = "agentls sandbox: could not run ";

/// Says on stderr that the sandbox could not be set up; the exit status to
/// return.
pub(crate) fn fail_setup(error: &dyn std::fmt::Display) -> i32 {
    report(&format_args!("{SETUP_FAILED_PREFIX}{error}"));
    SETUP_FAILED_EXIT
}

/// stderr is the command's stderr, which the runner reads: say what went wrong there
/// (there may be no log subscriber in the helper).
pub(crate) fn report(message: &dyn std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}
