//! Test support for agentls's end-to-end tests: an LSP client over real framing
//! (in-process or against the binary) and a fake model provider on 127.0.0.1.

pub mod client;
pub mod editor;
pub mod fake_completions;
pub mod fake_provider;
pub mod fix_this;
pub mod helix;
pub mod neovim;
pub mod streaming_scene;
