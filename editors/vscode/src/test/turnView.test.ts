// Runs in plain Node (`npm test`): the turn view's model and rendering have no
// `vscode` import. The notifications are the ones the server sends for the
// Fix-this scenario of the real-editor tests (tests/src/fix_this.rs).

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TurnModel, ViewNode, outputTail, renderTurns, textBefore, wrapLines } from '../turnView';

const thread = '0192f1a0-0000-7000-8000-000000000001';
const turnId = 'turn-1';
const base = { threadId: thread, turnId };

const BUGGY = 'pub fn add(a: i32, b: i32) -> i32 {\n    a - b\n}\n\n#[cfg(test)]\nmod tests {\n}\n';
const FIXED = BUGGY.replace('a - b', 'a + b');
const FILE_DIFF =
  '--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,4 +1,4 @@\n pub fn add(a: i32, b: i32) -> i32 {\n-    a - b\n+    a + b\n }\n \n';

/** A node and its children as indented text: `label — description [icon] → action`. */
function outline(nodes: ViewNode[], depth = 0): string {
  return nodes
    .map((node) => {
      const parts = [`${'  '.repeat(depth)}${node.label}`];
      if (node.description) {
        parts.push(` — ${node.description}`);
      }
      if (node.icon) {
        parts.push(` [${node.icon.id}]`);
      }
      if (node.action) {
        parts.push(` → ${node.action.kind}`);
      }
      if (node.contextValue === 'agentls.approval.pending') {
        parts.push(' (approve/deny)');
      }
      const line = parts.join('');
      const children = node.children && node.expanded !== false ? outline(node.children, depth + 1) : '';
      return children === '' ? line : `${line}\n${children}`;
    })
    .join('\n');
}

/** The Fix-this turn up to `stop` notifications. */
function fixThis(stop = Infinity): TurnModel {
  const model = new TurnModel();
  const steps: Array<() => void> = [
    () => model.turnStarted({ ...base, title: 'Fix this' }),
    () =>
      model.itemStarted({ ...base, item: { id: 'item-1', type: 'userMessage', text: 'Fix this diagnostic.\nsrc/lib.rs:2 …' } }),
    () =>
      model.itemCompleted({ ...base, item: { id: 'item-1', type: 'userMessage', text: 'Fix this diagnostic.\nsrc/lib.rs:2 …' } }),
    () => model.itemStarted({ ...base, item: { id: 'item-2', type: 'reasoning', summary: [] } }),
    () => model.itemDelta({ ...base, itemId: 'item-2', delta: { kind: 'reasoningSummary', text: 'The sign is wrong.' } }),
    () => model.itemCompleted({ ...base, item: { id: 'item-2', type: 'reasoning', summary: ['The sign is wrong.'] } }),
    () => model.itemStarted({ ...base, item: { id: 'item-3', type: 'assistantMessage', text: '' } }),
    () => model.itemDelta({ ...base, itemId: 'item-3', delta: { kind: 'assistantText', text: 'Let me set up ' } }),
    () => model.itemDelta({ ...base, itemId: 'item-3', delta: { kind: 'assistantText', text: 'a scratch directory first.' } }),
    () =>
      model.itemCompleted({
        ...base,
        item: { id: 'item-3', type: 'assistantMessage', text: 'Let me set up a scratch directory first.' },
      }),
    () =>
      model.approvalRequested({
        ...base,
        itemId: 'item-4',
        id: '1',
        argv: ['mkdir', '-v', 'scratch'],
        cwd: '/w',
        reason: 'Make a scratch directory to try the fix in',
        sandboxEscalation: false,
      }),
    () => model.approvalResolved({ ...base, itemId: 'item-4', id: '1', decision: 'approved' }),
    () =>
      model.itemStarted({
        ...base,
        item: { id: 'item-4', type: 'commandExecution', argv: ['mkdir', '-v', 'scratch'], cwd: '/w', output: '', status: 'inProgress' },
      }),
    () =>
      model.itemDelta({
        ...base,
        itemId: 'item-4',
        delta: { kind: 'commandOutput', stream: 'stdout', text: "mkdir: created directory 'scratch'\n" },
      }),
    () =>
      model.itemCompleted({
        ...base,
        item: {
          id: 'item-4',
          type: 'commandExecution',
          argv: ['mkdir', '-v', 'scratch'],
          cwd: '/w',
          output: "exit code: 0\nwall time: 0.0 s\noutput:\nmkdir: created directory 'scratch'\n",
          exitCode: 0,
          status: 'completed',
        },
      }),
    () =>
      model.itemStarted({
        ...base,
        item: {
          id: 'item-5',
          type: 'fileChange',
          changes: [{ path: '/w/src/lib.rs', kind: { type: 'update' }, diff: FILE_DIFF }],
          status: 'inProgress',
        },
      }),
    () =>
      model.itemCompleted({
        ...base,
        item: {
          id: 'item-5',
          type: 'fileChange',
          changes: [{ path: '/w/src/lib.rs', kind: { type: 'update' }, diff: FILE_DIFF }],
          status: 'applied',
        },
      }),
    () => model.itemStarted({ ...base, item: { id: 'item-6', type: 'assistantMessage', text: '' } }),
    () =>
      model.itemDelta({
        ...base,
        itemId: 'item-6',
        delta: { kind: 'assistantText', text: 'Fixed: `add` returned `a - b`; it now returns `a + b`.' },
      }),
    () =>
      model.itemCompleted({
        ...base,
        item: { id: 'item-6', type: 'assistantMessage', text: 'Fixed: `add` returned `a - b`; it now returns `a + b`.' },
      }),
    () => model.turnDiff({ ...base, diff: FILE_DIFF }),
    () =>
      model.turnCompleted({
        ...base,
        status: 'completed',
        usage: { total_tokens: 1234 },
        changedFiles: ['/w/src/lib.rs'],
      }),
  ];
  steps.slice(0, stop).forEach((step) => step());
  return model;
}

const relative = (path: string) => path.replace(/^\/w\//, '');

describe('the turn view', () => {
  it('shows each item of a finished Fix this turn: task, reasoning, messages, approval, command and output, edit, diff', () => {
    const nodes = renderTurns(fixThis(), { relative });
    assert.equal(
      outline(nodes),
      [
        'Fix this — done · changed src/lib.rs · 1234 tokens [pass]',
        '  Task — Fix this diagnostic. [account]',
        '  Reasoning — The sign is wrong. [lightbulb]',
        '  Let me set up a scratch directory first. [comment]',
        '  Approval 1: run `mkdir -v scratch` — approved [check]',
        '  $ mkdir -v scratch — exit 0 [pass]',
        "    mkdir: created directory 'scratch'",
        '  Edit src/lib.rs — +1 −1 · applied [diff] → fileDiff',
        '  Fixed: `add` returned `a - b`; it now returns `a + b`. [comment]',
        '  Turn diff — 1 file; click to open [diff] → turnDiff',
      ].join('\n'),
    );
  });

  it('fills in as the notifications stream: text so far, the approval waiting, a running command', () => {
    assert.equal(
      outline(renderTurns(fixThis(8), { relative })),
      [
        'Fix this — running [sync~spin]',
        '  Task — Fix this diagnostic. [account]',
        '  Reasoning — The sign is wrong. [lightbulb]',
        '  Let me set up — writing… [comment]',
      ].join('\n'),
    );
    assert.equal(
      outline(renderTurns(fixThis(11), { relative })).split('\n').slice(4).join('\n'),
      '  Approval 1: run `mkdir -v scratch` — waiting for you [question] (approve/deny)',
    );
    const running = renderTurns(fixThis(14), { relative })[0].children ?? [];
    assert.equal(
      outline(running.slice(4)),
      "$ mkdir -v scratch — running [sync~spin]\n  mkdir: created directory 'scratch'",
    );
  });

  it('keeps node ids stable as items grow, for the tree to update in place', () => {
    const ids = (model: TurnModel) => (renderTurns(model)[0].children ?? []).map((node) => node.id);
    assert.deepEqual(ids(fixThis(14)), ['turn-1/item-1', 'turn-1/item-2', 'turn-1/item-3', 'turn-1/approval/1', 'turn-1/item-4']);
    assert.deepEqual(ids(fixThis()).slice(0, 5), ids(fixThis(14)));
  });

  it('shows a long output by its last lines, saying how many came before', () => {
    const model = new TurnModel();
    model.turnStarted({ ...base, title: 'Write tests for this' });
    model.itemStarted({ ...base, item: { id: 'c', type: 'commandExecution', argv: ['bash', '-lc', 'cargo test'], status: 'inProgress' } });
    const text = Array.from({ length: 30 }, (_, index) => `line ${index + 1}`).join('\n') + '\n';
    model.itemDelta({ ...base, itemId: 'c', delta: { kind: 'commandOutput', stream: 'stdout', text } });
    model.itemCompleted({
      ...base,
      item: { id: 'c', type: 'commandExecution', argv: ['bash', '-lc', 'cargo test'], exitCode: 101, status: 'failed' },
    });
    model.turnCompleted({ ...base, status: 'failed', error: 'HTTP 500\nbody', changedFiles: [] });
    assert.equal(
      outline(renderTurns(model, { outputLines: 3 })),
      [
        'Write tests for this — failed: HTTP 500 · no files changed [error]',
        '  $ cargo test — exit 101 [error]',
        '    … 27 earlier lines [ellipsis]',
        '    line 28',
        '    line 29',
        '    line 30',
      ].join('\n'),
    );
  });

  it('shows a declined command, an edit of several files, a plan, and turns newest first', () => {
    const model = new TurnModel();
    model.turnStarted({ ...base, turnId: 'old', title: 'Explain this' });
    model.turnCompleted({ ...base, turnId: 'old', status: 'interrupted', reason: 'user', changedFiles: [] });
    model.turnStarted({ ...base, title: 'Implement this' });
    model.itemCompleted({
      ...base,
      item: {
        id: 'p',
        type: 'plan',
        steps: [
          { step: 'read', status: 'completed' },
          { step: 'write', status: 'inProgress' },
        ],
      },
    });
    model.approvalRequested({ ...base, itemId: 'c', id: '2', argv: ['rm', 'x'], cwd: '/w', reason: null, sandboxEscalation: true });
    model.approvalResolved({ ...base, itemId: 'c', id: '2', decision: 'denied' });
    model.itemCompleted({ ...base, item: { id: 'c', type: 'commandExecution', argv: ['rm', 'x'], output: '', status: 'declined' } });
    model.itemCompleted({
      ...base,
      item: {
        id: 'f',
        type: 'fileChange',
        changes: [
          { path: '/w/a.rs', kind: { type: 'add' }, diff: '--- /dev/null\n+++ b/a.rs\n@@ -0,0 +1 @@\n+x\n' },
          { path: '/w/b.rs', kind: { type: 'update', movedFrom: '/w/c.rs' }, diff: '' },
        ],
        status: 'failed',
        error: 'the file changed',
      },
    });
    assert.equal(
      outline(renderTurns(model, { relative })),
      [
        'Implement this — running [sync~spin]',
        '  Plan [checklist]',
        '    read — completed [pass]',
        '    write — in progress [arrow-right]',
        '  Approval 2: run without the sandbox `rm x` — denied [circle-slash]',
        '  $ rm x — declined [circle-slash]',
        '  Edit 2 files — failed: the file changed [error]',
        '    a.rs — new file, +1 −0 [diff] → fileDiff',
        '    b.rs — moved from c.rs, +0 −0 [diff] → fileDiff',
        'Explain this — stopped (user) · no files changed [debug-stop]',
      ].join('\n'),
    );
  });

  it('marks running turns stopped when the server goes away', () => {
    const model = fixThis(8);
    model.reset();
    assert.equal(renderTurns(model)[0].description, 'stopped (the server stopped) · no files changed');
  });
});

describe('outputTail and wrapLines', () => {
  it('drops the fragment of a cut tail and the final newline', () => {
    assert.deepEqual(outputTail('ial line\nb\nc\n', 5, true), { lines: ['b', 'c'], first: 0, hidden: 0 });
    assert.deepEqual(outputTail('a\nb\nc', 2), { lines: ['b', 'c'], first: 1, hidden: 1 });
  });
  it('wraps at spaces and drops blank lines', () => {
    assert.deepEqual(wrapLines('one two three\n\nfour', 8), ['one two', 'three', 'four']);
    assert.deepEqual(wrapLines('abcdefghij', 4), ['abcd', 'efgh', 'ij']);
  });
});

describe('textBefore', () => {
  it('reverses a file change on the text now', () => {
    assert.equal(textBefore(FILE_DIFF, FIXED), BUGGY);
  });
  it('finds a hunk moved by lines the user added above it since', () => {
    assert.equal(textBefore(FILE_DIFF, `// a comment\n${FIXED}`), `// a comment\n${BUGGY}`);
  });
  it('gives up when the user edited the changed lines since', () => {
    assert.equal(textBefore(FILE_DIFF, FIXED.replace('a + b', 'b + a')), undefined);
  });
  it('handles a created file, and a missing newline at the end', () => {
    assert.equal(textBefore('--- /dev/null\n+++ b/a.rs\n@@ -0,0 +1,2 @@\n+x\n+y\n', 'x\ny\n'), '');
    const diff = '--- a/a\n+++ b/a\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n+z\n';
    assert.equal(textBefore(diff, 'x\nz\n'), 'x\ny');
    assert.equal(textBefore(diff, 'x\r\nz\r\n'), 'x\r\ny');
  });
});
