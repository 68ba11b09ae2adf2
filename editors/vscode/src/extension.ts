// The thin VS Code side of agentls: starts `agentls --stdio` for every file,
// passes the settings, opts in to the `agent/*` notifications and shows them
// (the output channel, and the turn view of turnTree.ts), and puts the agent's
// workspace commands in the command palette. Everything else (code actions,
// progress, approvals, edits, answers) is plain LSP that vscode-languageclient
// already handles.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  CancellationToken,
  ClientCapabilities,
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  FeatureState,
  Executable,
  LanguageClient,
  LanguageClientOptions,
  ResponseError,
  RevealOutputChannelOn,
  StaticFeature,
} from 'vscode-languageclient/node';
import {
  ApprovalRequestedParams,
  ApprovalResolvedParams,
  ItemDeltaParams,
  TurnCompletedParams,
  TurnDiffParams,
  TurnLog,
  TurnStartedParams,
  isAgentPage,
} from './output';
import {
  MappedSettings,
  RESTART_SETTINGS,
  SETTING_KEYS,
  ServerOptions,
  clearedSinceStart,
  didChangeConfigurationSettings,
  mapSettings,
  resolveServerCommand,
} from './settings';
import { TurnTree } from './turnTree';
import { ItemParams } from './turnView';

const SECTION = 'agentls';

/** Declares `experimental.agentls`, which turns on the `agent/*` notifications. */
class AgentlsExtensions implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    const experimental = (capabilities.experimental ?? {}) as Record<string, unknown>;
    experimental.agentls = true;
    capabilities.experimental = experimental;
  }
  initialize(): void {}
  getState(): FeatureState {
    return { kind: 'static' };
  }
  clear(): void {}
}

let client: LanguageClient | undefined;
/** What went out as `initializationOptions` to the running server. */
let optionsAtStart: ServerOptions = {};
let lastProblems = '';

let output: vscode.OutputChannel;
let serverLog: vscode.OutputChannel;
let status: vscode.StatusBarItem;
let turns: TurnLog;
let turnTree: TurnTree;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('agentls');
  serverLog = vscode.window.createOutputChannel('agentls server');
  status = vscode.window.createStatusBarItem('agentls.turns', vscode.StatusBarAlignment.Left, 10);
  status.name = 'agentls';
  status.command = 'agentls.vscode.stop';
  status.tooltip = 'agentls: click to stop the agent';
  turns = new TurnLog((file) => vscode.workspace.asRelativePath(file, false));
  context.subscriptions.push(output, serverLog, status);
  turnTree = new TurnTree();
  turnTree.register(context, (command, id) => serverCommand(command, [id]));

  const register = (id: string, run: () => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(id, run));
  register('agentls.vscode.stop', () => serverCommand('agentls.stop'));
  register('agentls.vscode.undo', () => serverCommand('agentls.undo'));
  register('agentls.vscode.approve', () => serverCommand('agentls.approve'));
  register('agentls.vscode.deny', () => serverCommand('agentls.deny'));
  register('agentls.vscode.reviewPending', () => serverCommand('agentls.reviewPending'));
  register('agentls.vscode.applyPending', () => serverCommand('agentls.applyPending'));
  register('agentls.vscode.discardPending', () => serverCommand('agentls.discardPending'));
  register('agentls.vscode.restart', () => restart());
  register('agentls.vscode.showOutput', () => output.show(true));
  register('agentls.vscode.showDiff', () => showLastDiff());

  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration(onConfigurationChanged));
  await start();
}

export async function deactivate(): Promise<void> {
  await stop();
}

function readSettings(): MappedSettings {
  const config = vscode.workspace.getConfiguration(SECTION);
  const mapped = mapSettings((key) => config.get(key));
  const problems = mapped.problems.join('\n');
  if (problems !== '' && problems !== lastProblems) {
    for (const problem of mapped.problems) {
      void vscode.window.showWarningMessage(`agentls: ${problem}`);
    }
  }
  lastProblems = problems;
  return mapped;
}

async function start(): Promise<void> {
  const setting = vscode.workspace.getConfiguration(SECTION).get<string>('path');
  const resolved = resolveServerCommand(setting, process.env, {
    home: os.homedir(),
    platform: process.platform,
    isExecutable,
  });
  if (resolved.found === undefined) {
    const choice = await vscode.window.showErrorMessage(
      `agentls: cannot find \`${resolved.command}\`. Install it with \`cargo install --path lsp --locked\` ` +
        'from a clone of agentls, or set agentls.path to the binary, then run "agentls: Restart server".',
      'Open Settings',
    );
    if (choice === 'Open Settings') {
      void vscode.commands.executeCommand('workbench.action.openSettings', 'agentls.path');
    }
    return;
  }
  const server: Executable = { command: resolved.found, args: ['--stdio'] };
  const clientOptions: LanguageClientOptions = {
    // Every file and unsaved buffer, so the `Agent: …` code actions are in the
    // lightbulb whatever the language.
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    // A function: each (re)start sends the settings as they are then.
    initializationOptions: () => {
      optionsAtStart = readSettings().options;
      return optionsAtStart;
    },
    outputChannel: serverLog,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    middleware: {
      window: {
        // Long answers and context pages are Markdown files: show them rendered.
        showDocument: async (params, next) => {
          const uri = vscode.Uri.parse(params.uri);
          if (params.external !== true && uri.scheme === 'file' && isAgentPage(uri.fsPath)) {
            try {
              await vscode.commands.executeCommand('markdown.showPreview', uri);
              return { success: true };
            } catch (error) {
              serverLog.appendLine(`agentls: Markdown preview of ${uri.fsPath}: ${describe(error)}`);
            }
          }
          const shown = await next(params, CancellationToken.None);
          return shown instanceof ResponseError ? { success: false } : shown;
        },
      },
    },
  };
  // The id `agentls` makes the client read `agentls.trace.server`.
  const next = new LanguageClient(SECTION, 'agentls', server, clientOptions);
  next.registerFeature(new AgentlsExtensions());
  // textDocument/inlineCompletion (ghost text) is a proposed feature in
  // vscode-languageclient 9; the server announces it only with
  // `[completion] enabled`.
  next.registerProposedFeatures();
  next.onNotification('agent/turnStarted', (params: TurnStartedParams) => {
    write(turns.turnStarted(params));
    updateStatus();
    turnTree.turnStarted(params);
  });
  // One handler per method (a second registration replaces the first): each
  // feeds the output channel and the turn view.
  next.onNotification('agent/itemStarted', (params: ItemParams) => turnTree.itemStarted(params));
  next.onNotification('agent/itemDelta', (params: ItemDeltaParams) => {
    write(turns.itemDelta(params));
    turnTree.itemDelta(params);
  });
  next.onNotification('agent/itemCompleted', (params: ItemParams) => turnTree.itemCompleted(params));
  next.onNotification('agent/approvalRequested', (params: ApprovalRequestedParams) => {
    write(turns.approvalRequested(params));
    turnTree.approvalRequested(params);
  });
  next.onNotification('agent/approvalResolved', (params: ApprovalResolvedParams) => {
    write(turns.approvalResolved(params));
    turnTree.approvalResolved(params);
  });
  next.onNotification('agent/turnDiff', (params: TurnDiffParams) => {
    turns.turnDiff(params);
    turnTree.turnDiff(params);
  });
  next.onNotification('agent/turnCompleted', (params: TurnCompletedParams) => {
    write(turns.turnCompleted(params));
    updateStatus();
    turnTree.turnCompleted(params);
  });
  client = next;
  try {
    await next.start();
  } catch (error) {
    // vscode-languageclient has said so already, with its output channel.
    serverLog.appendLine(`agentls: could not start ${resolved.found} --stdio: ${describe(error)}`);
  }
}

async function stop(): Promise<void> {
  const running = client;
  client = undefined;
  turns.reset();
  turnTree.reset();
  updateStatus();
  if (running !== undefined) {
    try {
      await running.dispose(2000);
    } catch (error) {
      serverLog.appendLine(`agentls: stopping the server: ${describe(error)}`);
    }
  }
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

/** Runs one of the server's workspace commands, with no argument unless given. */
async function serverCommand(command: string, args: unknown[] = []): Promise<void> {
  const running = client;
  if (running === undefined || !running.isRunning()) {
    void vscode.window.showWarningMessage('agentls: the server is not running; "agentls: Restart server" starts it');
    return;
  }
  try {
    await running.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  } catch (error) {
    serverLog.appendLine(`${command}: ${describe(error)}`);
    if (!(error instanceof ResponseError)) {
      void vscode.window.showErrorMessage(`agentls: ${command} failed: ${describe(error)}`);
    }
    // A ResponseError was also said with window/showMessage by the server.
  }
}

async function showLastDiff(): Promise<void> {
  const last = turns.lastDiff();
  if (last === undefined) {
    void vscode.window.showInformationMessage('agentls: no agent turn has changed files since the server started');
    return;
  }
  const document = await vscode.workspace.openTextDocument({ language: 'diff', content: last.diff });
  await vscode.window.showTextDocument(document, { preview: true });
}

function onConfigurationChanged(event: vscode.ConfigurationChangeEvent): void {
  if (event.affectsConfiguration(`${SECTION}.path`)) {
    void offerRestart('agentls: agentls.path changed; the new binary starts with a restart');
  }
  if (!SETTING_KEYS.some(([setting]) => event.affectsConfiguration(`${SECTION}.${setting}`))) {
    return;
  }
  if (RESTART_SETTINGS.some((setting) => event.affectsConfiguration(`${SECTION}.${setting}`))) {
    void offerRestart('agentls: inline completions are turned on or off when the server starts');
  }
  const { options } = readSettings();
  const running = client;
  if (running === undefined || !running.isRunning()) {
    return; // the next start sends them as initializationOptions
  }
  void running.sendNotification(DidChangeConfigurationNotification.type, {
    settings: didChangeConfigurationSettings(options),
  });
  const cleared = clearedSinceStart(optionsAtStart, options);
  if (cleared.length > 0) {
    void offerRestart(
      `agentls: the server keeps the value it started with for ${cleared.join(', ')} until it restarts`,
    );
  }
}

async function offerRestart(message: string): Promise<void> {
  if ((await vscode.window.showInformationMessage(message, 'Restart server')) === 'Restart server') {
    await restart();
  }
}

function write(text: string): void {
  if (text !== '') {
    output.append(text);
  }
}

function updateStatus(): void {
  const running = turns.runningTitles();
  if (running.length === 0) {
    status.hide();
    return;
  }
  const more = running.length > 1 ? ` +${running.length - 1}` : '';
  status.text = `$(sync~spin) Agent: ${running[0]}${more}`;
  status.tooltip = `agentls: ${running.join(', ')} running; click to stop (agentls: Stop agent)`;
  status.show();
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, process.platform === 'win32' ? fs.constants.F_OK : fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
