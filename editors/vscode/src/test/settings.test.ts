// Runs in plain Node (`npm test`): the settings module has no `vscode` import.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  clearedSinceStart,
  didChangeConfigurationSettings,
  initializationOptions,
  mapSettings,
  resolveServerCommand,
} from '../settings';

/** A settings reader over a flat object, as `vscode.workspace.getConfiguration('agentls').get` reads. */
const reader = (settings: Record<string, unknown>) => (key: string) => settings[key];

describe('initializationOptions', () => {
  it('maps every setting to the key docs/configuration.md gives', () => {
    const options = initializationOptions(
      reader({
        'provider.kind': 'openai-chat',
        'provider.model': 'qwen2.5-coder',
        'provider.baseUrl': 'http://127.0.0.1:11434/v1',
        'provider.apiKeyEnv': 'OLLAMA_KEY',
        'approvals.policy': 'untrusted',
        'approvals.edits': 'review',
        'sandbox.policy': 'read-only',
      }),
    );
    assert.deepEqual(options, {
      provider: {
        kind: 'openai-chat',
        model: 'qwen2.5-coder',
        base_url: 'http://127.0.0.1:11434/v1',
        api_key_env: 'OLLAMA_KEY',
      },
      approvals: { policy: 'untrusted', edits: 'review' },
      sandbox: { policy: 'read-only' },
    });
  });

  it('nests the completion provider settings in completion.provider', () => {
    const { options, problems } = mapSettings(
      reader({
        'completion.enabled': true,
        'completion.debounceMs': 50,
        'completion.provider.kind': 'fim',
        'completion.provider.baseUrl': 'http://127.0.0.1:8080/v1',
        'completion.provider.template': 'qwen',
        'completion.provider.apiKeyEnv': 'sk-pasted-key',
      }),
    );
    assert.deepEqual(options, {
      completion: {
        enabled: true,
        debounce_ms: 50,
        provider: { kind: 'fim', base_url: 'http://127.0.0.1:8080/v1', template: 'qwen' },
      },
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /agentls\.completion\.provider\.apiKeyEnv names the environment variable/);
    assert.deepEqual(
      clearedSinceStart(options, { completion: { enabled: true } }),
      ['agentls.completion.debounceMs', 'agentls.completion.provider.kind', 'agentls.completion.provider.baseUrl', 'agentls.completion.provider.template'],
    );
  });

  it('leaves out unset settings, and tables with nothing set', () => {
    // What VS Code gives with nothing configured: the "" defaults of package.json.
    const defaults = reader({
      path: 'agentls',
      'trace.server': 'off',
      'provider.kind': '',
      'provider.model': '',
      'provider.baseUrl': '',
      'provider.apiKeyEnv': '',
      'approvals.policy': '',
      'approvals.edits': '',
      'sandbox.policy': '',
    });
    assert.deepEqual(initializationOptions(defaults), {});
    assert.deepEqual(initializationOptions(reader({})), {});
    assert.deepEqual(
      initializationOptions(reader({ 'provider.model': '  gpt-5-codex ', 'provider.kind': null, 'sandbox.policy': '   ' })),
      { provider: { model: 'gpt-5-codex' } },
    );
  });

  it('sends no client-only setting and no camelCase key', () => {
    const options = initializationOptions(
      reader({ path: '/opt/agentls', 'trace.server': 'verbose', 'provider.baseUrl': 'https://x/v1' }),
    );
    assert.deepEqual(options, { provider: { base_url: 'https://x/v1' } });
    assert.ok(!JSON.stringify(options).includes('baseUrl'));
  });

  it('passes a value of the wrong type on, for the server to report', () => {
    assert.deepEqual(initializationOptions(reader({ 'approvals.policy': 3 })), { approvals: { policy: 3 } });
  });

  it('never sends an API key pasted where the variable name goes', () => {
    const mapped = mapSettings(reader({ 'provider.apiKeyEnv': 'sk-proj-abc123', 'provider.model': 'm' }));
    assert.deepEqual(mapped.options, { provider: { model: 'm' } });
    assert.equal(mapped.problems.length, 1);
    assert.match(mapped.problems[0], /agentls\.provider\.apiKeyEnv/);
    assert.ok(!mapped.problems[0].includes('sk-proj-abc123'));
    assert.deepEqual(mapSettings(reader({ 'provider.apiKeyEnv': 'ANTHROPIC_API_KEY' })).problems, []);
  });
});

describe('didChangeConfigurationSettings', () => {
  it('nests the table under "agentls", which the server unwraps', () => {
    const options = { approvals: { policy: 'never' } };
    assert.deepEqual(didChangeConfigurationSettings(options), { agentls: { approvals: { policy: 'never' } } });
    // Nothing set: an empty table, which the server takes as "no editor layer".
    assert.deepEqual(didChangeConfigurationSettings({}), { agentls: {} });
  });
});

describe('clearedSinceStart', () => {
  it('names the settings sent at start and unset now', () => {
    const atStart = { provider: { model: 'a', base_url: 'http://h/v1' }, sandbox: { policy: 'read-only' } };
    assert.deepEqual(clearedSinceStart(atStart, { provider: { model: 'b' } }), [
      'agentls.provider.baseUrl',
      'agentls.sandbox.policy',
    ]);
    assert.deepEqual(clearedSinceStart(atStart, atStart), []);
    assert.deepEqual(clearedSinceStart({}, { provider: { model: 'b' } }), []);
  });
});

describe('resolveServerCommand', () => {
  const unix = (files: string[]) => ({
    home: '/home/u',
    platform: 'linux',
    isExecutable: (file: string) => files.includes(file),
  });

  it('looks the default name up on PATH', () => {
    const env = { PATH: '/usr/bin:/home/u/.cargo/bin' };
    assert.deepEqual(resolveServerCommand(undefined, env, unix(['/home/u/.cargo/bin/agentls'])), {
      command: 'agentls',
      found: '/home/u/.cargo/bin/agentls',
    });
    assert.deepEqual(resolveServerCommand('  ', env, unix([])), { command: 'agentls', found: undefined });
  });

  it('takes a path as it is, with ~/ as the home directory', () => {
    assert.equal(resolveServerCommand('~/bin/agentls', {}, unix(['/home/u/bin/agentls'])).found, '/home/u/bin/agentls');
    assert.equal(resolveServerCommand('/opt/agentls', { PATH: '/usr/bin' }, unix(['/usr/bin/agentls'])).found, undefined);
  });

  it('tries PATHEXT on Windows', () => {
    const found = resolveServerCommand(
      'agentls',
      { PATH: 'C:\\tools;C:\\Users\\u\\.cargo\\bin', PATHEXT: '.COM;.EXE' },
      { home: 'C:\\Users\\u', platform: 'win32', isExecutable: (file) => file === 'C:\\Users\\u\\.cargo\\bin\\agentls.EXE' },
    );
    assert.equal(found.found, 'C:\\Users\\u\\.cargo\\bin\\agentls.EXE');
  });
});
