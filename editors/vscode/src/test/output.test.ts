// Runs in plain Node (`npm test`): the output module has no `vscode` import.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TurnLog, displayCommand, isAgentPage } from '../output';

const thread = '0192f1a0-0000-7000-8000-000000000001';

describe('TurnLog', () => {
  it('streams a turn: header, assistant text, the end with files and tokens', () => {
    const log = new TurnLog((path) => path.replace('/w/', ''));
    let text = log.turnStarted({ threadId: thread, turnId: 't1', title: 'Fix this' });
    assert.deepEqual(log.runningTitles(), ['Fix this']);
    text += log.itemDelta({ threadId: thread, turnId: 't1', itemId: 'i1', delta: { kind: 'assistantText', text: 'The test ' } });
    text += log.itemDelta({ threadId: thread, turnId: 't1', itemId: 'i1', delta: { kind: 'reasoningSummary', text: 'hidden' } });
    text += log.itemDelta({
      threadId: thread,
      turnId: 't1',
      itemId: 'i2',
      delta: { kind: 'commandOutput', stream: 'stdout', text: 'running 1 test' },
    });
    text += log.itemDelta({ threadId: thread, turnId: 't1', itemId: 'i1', delta: { kind: 'assistantText', text: 'fails.' } });
    text += log.itemDelta({ threadId: thread, turnId: 't1', itemId: 'i3', delta: { kind: 'assistantText', text: 'It passes now.' } });
    log.turnDiff({ threadId: thread, turnId: 't1', diff: '--- a/src/lib.rs\n+++ b/src/lib.rs\n' });
    text += log.turnCompleted({
      threadId: thread,
      turnId: 't1',
      status: 'completed',
      usage: { total_tokens: 1234 },
      changedFiles: ['/w/src/lib.rs'],
    });
    assert.equal(text, '▶ Fix this\nThe test fails.\nIt passes now.\n■ Fix this: done; changed src/lib.rs; 1234 tokens\n');
    assert.deepEqual(log.runningTitles(), []);
    assert.deepEqual(log.lastDiff(), { title: 'Fix this', turnId: 't1', diff: '--- a/src/lib.rs\n+++ b/src/lib.rs\n' });
  });

  it('names the turn on each switch when two stream at once', () => {
    const log = new TurnLog();
    let text = log.turnStarted({ threadId: 'a', turnId: 'fix', title: 'Fix this' });
    text += log.turnStarted({ threadId: 'b', turnId: 'explain', title: 'Explain this' });
    text += log.itemDelta({ threadId: 'b', turnId: 'explain', itemId: 'x', delta: { kind: 'assistantText', text: 'It sums.' } });
    text += log.itemDelta({ threadId: 'a', turnId: 'fix', itemId: 'y', delta: { kind: 'assistantText', text: 'Fixed.' } });
    assert.deepEqual(log.runningTitles(), ['Fix this', 'Explain this']);
    text += log.turnCompleted({ threadId: 'b', turnId: 'explain', status: 'completed', changedFiles: [] });
    assert.equal(
      text,
      '▶ Fix this\n▶ Explain this\nIt sums.\n[Fix this] Fixed.\n■ Explain this: done; no files changed\n',
    );
    assert.deepEqual(log.runningTitles(), ['Fix this']);
    log.reset();
    assert.deepEqual(log.runningTitles(), []);
  });

  it('says why a turn stopped or failed, and which approval waits', () => {
    const log = new TurnLog();
    log.turnStarted({ threadId: thread, turnId: 't', title: 'Write tests for this' });
    const asked = log.approvalRequested({
      threadId: thread,
      turnId: 't',
      itemId: 'c1',
      id: '3',
      argv: ['bash', '-lc', 'cargo test'],
      cwd: '/w',
      reason: 'run the tests',
      sandboxEscalation: false,
    });
    assert.equal(
      asked,
      '? Write tests for this: approval 3 needed to run `cargo test` in /w (run the tests): ' +
        '"agentls: Approve pending command" or "agentls: Deny pending command"\n',
    );
    assert.equal(
      log.approvalResolved({ threadId: thread, turnId: 't', itemId: 'c1', id: '3', decision: 'approvedForThread' }),
      '? Write tests for this: approval 3 approved for this thread\n',
    );
    assert.equal(
      log.turnCompleted({ threadId: thread, turnId: 't', status: 'interrupted', reason: 'user', changedFiles: ['a.rs'] }),
      '■ Write tests for this: stopped (user); changed a.rs\n',
    );
    log.turnStarted({ threadId: thread, turnId: 'u', title: 'Fix this' });
    assert.equal(
      log.turnCompleted({ threadId: thread, turnId: 'u', status: 'failed', error: 'HTTP 401', changedFiles: [] }),
      '■ Fix this: failed: HTTP 401; no files changed\n',
    );
    assert.equal(log.lastDiff(), undefined);
  });
});

describe('displayCommand', () => {
  it('shows a shell script as the script and quotes what needs it', () => {
    assert.equal(displayCommand(['bash', '-lc', 'cargo test && ls']), 'cargo test && ls');
    assert.equal(displayCommand(['rg', 'fn main', 'src']), 'rg "fn main" src');
  });
});

describe('isAgentPage', () => {
  it('knows the answer and context pages the server opens', () => {
    assert.ok(isAgentPage('/home/u/.local/share/agentls/answers/0192-t1.md'));
    assert.ok(isAgentPage('/home/u/.local/share/agentls/context/lib.rs-12.md'));
    assert.ok(isAgentPage('C:\\Users\\u\\AppData\\agentls\\answers\\x.md'));
    assert.ok(!isAgentPage('/w/README.md'));
    assert.ok(!isAgentPage('/home/u/.local/share/agentls/threads/x.jsonl'));
  });
});
