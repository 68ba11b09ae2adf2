// Test only: VS Code shows a diagnostic only when an extension reports one, and
// the e2e workspace has no Rust language server. This stands in for the one that
// would (rust-analyzer, or a `cargo test` problem matcher): it reports the
// diagnostic given as JSON in AGENTLS_E2E_DIAGNOSTIC,
// {"file", "line", "start", "end", "message", "source"} (zero-based, UTF-16).
'use strict';
const vscode = require('vscode');

exports.activate = (context) => {
  const spec = process.env.AGENTLS_E2E_DIAGNOSTIC;
  if (!spec) {
    return;
  }
  const { file, line, start, end, message, source } = JSON.parse(spec);
  const diagnostics = vscode.languages.createDiagnosticCollection(source);
  const diagnostic = new vscode.Diagnostic(
    new vscode.Range(line, start, line, end),
    message,
    vscode.DiagnosticSeverity.Error,
  );
  diagnostic.source = source;
  diagnostics.set(vscode.Uri.file(file), [diagnostic]);
  context.subscriptions.push(diagnostics);
};

exports.deactivate = () => {};
