// The extension's wire shapes against the real server, without VS Code: the
// initializationOptions and didChangeConfiguration settings built by
// settings.ts, the experimental capability, and the no-argument workspace
// commands the palette entries send. Runs the binary named by AGENTLS_BIN, else
// ../../target/debug/agentls from a `cargo build`; skipped when neither exists.

import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  MessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
} from 'vscode-jsonrpc/node';
import { ServerOptions, didChangeConfigurationSettings, initializationOptions } from '../settings';

const binary = process.env.AGENTLS_BIN ?? path.resolve(__dirname, '../../../../target/debug/agentls');
const skip = fs.existsSync(binary) ? false : `no agentls binary at ${binary} (set AGENTLS_BIN or cargo build)`;

interface Message {
  type: number;
  message: string;
}

describe('against agentls --stdio', { skip }, () => {
  let child: ChildProcess;
  let connection: MessageConnection;
  let home: string;
  const messages: Message[] = [];

  const until = async (what: string, found: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!found()) {
      if (Date.now() > end) {
        assert.fail(`timed out waiting for ${what}; messages: ${JSON.stringify(messages)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const configProblems = () => messages.filter((m) => m.message.includes('invalid configuration'));

  before(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'agentls-vscode-'));
    const workspace = path.join(home, 'w');
    fs.mkdirSync(workspace);
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(env)) {
      if (name.startsWith('AGENTLS_') || name.endsWith('_API_KEY')) {
        delete env[name];
      }
    }
    env.XDG_CONFIG_HOME = path.join(home, 'config');
    env.XDG_DATA_HOME = path.join(home, 'data');
    env.HOME = home;
    child = spawn(binary, ['--stdio'], { cwd: workspace, env, stdio: ['pipe', 'pipe', 'ignore'] });
    connection = createMessageConnection(
      new StreamMessageReader(child.stdout!),
      new StreamMessageWriter(child.stdin!),
    );
    connection.onNotification('window/showMessage', (params: Message) => messages.push(params));
    connection.onRequest('window/showMessageRequest', () => null);
    connection.onRequest('window/workDoneProgress/create', () => null);
    connection.onRequest('client/registerCapability', () => null);
    connection.onRequest('workspace/applyEdit', () => ({ applied: false }));
    connection.listen();
  });

  after(async () => {
    try {
      await connection.sendRequest('shutdown');
      await connection.sendNotification('exit');
    } finally {
      connection.dispose();
      child.kill();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('takes the settings as initializationOptions and answers the capability', async () => {
    const options = initializationOptions(
      (key) =>
        ({
          'provider.kind': 'openai-chat',
          'provider.model': 'qwen2.5-coder',
          'provider.baseUrl': 'http://127.0.0.1:9/v1',
          'provider.apiKeyEnv': 'AGENTLS_TEST_KEY',
          'approvals.policy': 'untrusted',
          'sandbox.policy': 'read-only',
        })[key],
    );
    const workspace = path.join(home, 'w');
    const result: any = await connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(workspace).href,
      workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: 'w' }],
      capabilities: {
        window: { showMessage: {}, workDoneProgress: true, showDocument: { support: true } },
        experimental: { agentls: true },
      },
      initializationOptions: options,
    });
    await connection.sendNotification('initialized', {});
    assert.deepEqual(result.capabilities.experimental, { agentls: { version: 1 } });
    const commands: string[] = result.capabilities.executeCommandProvider.commands;
    for (const command of ['agentls.stop', 'agentls.undo', 'agentls.approve', 'agentls.deny']) {
      assert.ok(commands.includes(command), `${command} in ${commands}`);
    }
    // Every key was known and valid: no problem is reported.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(configProblems(), []);
  });

  it('reads didChangeConfiguration nested under "agentls"', async () => {
    await connection.sendNotification('workspace/didChangeConfiguration', {
      settings: didChangeConfigurationSettings({ approvals: { policy: 'sometimes' } }),
    });
    await until('the invalid policy to be reported', () => configProblems().length === 1);
    assert.match(configProblems()[0].message, /editor settings: `approvals\.policy`: unknown variant `sometimes`/);

    // The camelCase VS Code name would be an unknown key: the mapping matters.
    await connection.sendNotification('workspace/didChangeConfiguration', {
      settings: { agentls: { provider: { baseUrl: 'http://127.0.0.1:9/v1' } } },
    });
    await until('the unknown key to be reported', () => configProblems().length === 2);
    assert.match(configProblems()[1].message, /baseUrl/);

    // The mapped settings are accepted, and an empty table clears the layer.
    const accepted: ServerOptions[] = [
      { provider: { base_url: 'http://127.0.0.1:9/v1' }, sandbox: { policy: 'workspace-write' } },
      {},
    ];
    for (const options of accepted) {
      await connection.sendNotification('workspace/didChangeConfiguration', {
        settings: didChangeConfigurationSettings(options),
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(configProblems().length, 2);
  });

  it('runs the palette commands with no argument', async () => {
    const stop: any = await connection.sendRequest('workspace/executeCommand', { command: 'agentls.stop', arguments: [] });
    assert.deepEqual(stop, { stopped: 0 });
    await until('"no agent task is running"', () => messages.some((m) => m.message.includes('no agent task is running')));

    for (const command of ['agentls.approve', 'agentls.deny']) {
      await assert.rejects(
        connection.sendRequest('workspace/executeCommand', { command, arguments: [] }),
        (error: unknown) => error instanceof ResponseError && /pending/i.test(error.message),
      );
    }
    const undo = await connection.sendRequest('workspace/executeCommand', { command: 'agentls.undo', arguments: [] });
    assert.deepEqual(undo, {});
  });
});
