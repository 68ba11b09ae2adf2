//! The "Fix this" scenario the real-editor tests play (Neovim, VS Code): a
//! crate whose test fails, the diagnostic an editor shows for it, the command the
//! model asks to run, the patch that fixes it and the final answer.

pub const BUGGY: &str = "\
pub fn add(a: i32, b: i32) -> i32 {
    a - b
}

#[cfg(test)]
mod tests {
    #[test]
    fn adds() {
        assert_eq!(super::add(2, 3), 5);
    }
}
";

pub const FIXED: &str = "\
pub fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[cfg(test)]
mod tests {
    #[test]
    fn adds() {
        assert_eq!(super::add(2, 3), 5);
    }
}
";

pub const PATCH: &str = "\
*** Begin Patch
*** Update File: src/lib.rs
@@
 pub fn add(a: i32, b: i32) -> i32 {
-    a - b
+    a + b
 }
*** End Patch
";

pub const DIAGNOSTIC_MESSAGE: &str = "test tests::adds failed: add(2, 3) returned -1, expected 5";
/// Not known-safe (it writes), so the `untrusted` policy asks; it prints, so the
/// test can see its output reach the model.
pub const COMMAND: [&str; 3] = ["mkdir", "-v", "scratch"];
pub const REASON: &str = "Make a scratch directory to try the fix in";
pub const FINAL_ANSWER: &str = "Fixed: `add` returned `a - b`; it now returns `a + b`.";
