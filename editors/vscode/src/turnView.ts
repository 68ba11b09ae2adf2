// The streamed turn view's model and rendering: the `agent/*` notifications
// (docs/lsp-extensions.md) folded into turns and their items, and those turns
// rendered as a tree of plain nodes (label, description, icon, children, what a
// click does). Pure: no `vscode` import, so `npm test` runs it in plain Node;
// turnTree.ts turns the nodes into VS Code tree items.

import {
  ApprovalRequestedParams,
  ApprovalResolvedParams,
  ItemDeltaParams,
  TurnCompletedParams,
  TurnDiffParams,
  TurnStartedParams,
  displayCommand,
} from './output';

/** One file of a `fileChange` item. */
export interface FileDiff {
  /** Absolute (after a move, the new path). */
  path: string;
  kind: { type: 'add' | 'delete' | 'update' | string; movedFrom?: string | null };
  /** A unified diff, paths relative to the workspace root. */
  diff: string;
}

export interface PlanStep {
  step: string;
  status: 'pending' | 'inProgress' | 'completed' | string;
}

/** A thread item as the server sends it: `type`-tagged, camelCase. */
export interface ThreadItem {
  id: string;
  type: string;
  text?: string;
  summary?: string[];
  tool?: string;
  arguments?: string;
  output?: string | null;
  isError?: boolean;
  argv?: string[];
  cwd?: string;
  exitCode?: number | null;
  status?: string;
  changes?: FileDiff[];
  error?: string | null;
  explanation?: string | null;
  steps?: PlanStep[];
}

export interface ItemParams {
  threadId: string;
  turnId: string;
  item: ThreadItem;
}

export interface ItemState {
  item: ThreadItem;
  done: boolean;
  /** Assistant text or reasoning summary streamed so far. */
  streamed: string;
  /** Command output streamed so far (stdout and stderr as they came), its tail kept. */
  output: string;
  /** Whether older output was dropped from `output`. */
  outputCut: boolean;
}

export interface ApprovalState {
  id: string;
  itemId: string;
  argv: string[];
  cwd: string;
  reason: string | null;
  sandboxEscalation: boolean;
  /** Unset while it waits. */
  decision?: string;
}

export type Entry = { kind: 'item'; state: ItemState } | { kind: 'approval'; state: ApprovalState };

export interface TurnState {
  threadId: string;
  turnId: string;
  title: string;
  status: 'running' | 'completed' | 'interrupted' | 'failed' | string;
  entries: Entry[];
  diff?: string;
  tokens?: number;
  reason?: string | null;
  error?: string | null;
  changedFiles: string[];
}

/** The most turns kept; older ones are dropped. */
export const MAX_TURNS = 10;
/** The most command output kept per command, in characters (its tail). */
export const MAX_OUTPUT_CHARS = 64 * 1024;

/**
 * The turns of this server session as the notifications describe them,
 * oldest first. Notifications about a turn it never saw start (the view was
 * created mid-turn) start one titled "agent".
 */
export class TurnModel {
  readonly turns: TurnState[] = [];

  turnStarted(params: TurnStartedParams): TurnState {
    const turn = this.turn(params.threadId, params.turnId);
    turn.title = params.title;
    return turn;
  }

  itemStarted(params: ItemParams): void {
    const entry = this.itemEntry(params.threadId, params.turnId, params.item.id);
    entry.item = params.item;
  }

  itemDelta(params: ItemDeltaParams): void {
    const entry = this.itemEntry(params.threadId, params.turnId, params.itemId);
    const text = params.delta.text ?? '';
    if (params.delta.kind === 'commandOutput') {
      entry.output += text;
      if (entry.output.length > MAX_OUTPUT_CHARS) {
        entry.output = entry.output.slice(entry.output.length - MAX_OUTPUT_CHARS);
        entry.outputCut = true;
      }
    } else {
      entry.streamed += text;
    }
  }

  itemCompleted(params: ItemParams): void {
    const entry = this.itemEntry(params.threadId, params.turnId, params.item.id);
    entry.item = params.item;
    entry.done = true;
  }

  approvalRequested(params: ApprovalRequestedParams): void {
    const turn = this.turn(params.threadId, params.turnId);
    turn.entries.push({
      kind: 'approval',
      state: {
        id: params.id,
        itemId: params.itemId,
        argv: params.argv,
        cwd: params.cwd,
        reason: params.reason ?? null,
        sandboxEscalation: params.sandboxEscalation === true,
      },
    });
  }

  approvalResolved(params: ApprovalResolvedParams): void {
    const turn = this.turn(params.threadId, params.turnId);
    for (const entry of turn.entries) {
      if (entry.kind === 'approval' && entry.state.id === params.id && entry.state.decision === undefined) {
        entry.state.decision = params.decision;
      }
    }
  }

  turnDiff(params: TurnDiffParams): void {
    this.turn(params.threadId, params.turnId).diff = params.diff;
  }

  turnCompleted(params: TurnCompletedParams): void {
    const turn = this.turn(params.threadId, params.turnId);
    turn.status = params.status;
    turn.tokens = typeof params.usage?.total_tokens === 'number' ? params.usage.total_tokens : undefined;
    turn.reason = params.reason ?? null;
    turn.error = params.error ?? null;
    turn.changedFiles = params.changedFiles ?? [];
  }

  /** The server stopped: its running turns will never complete. */
  reset(): void {
    for (const turn of this.turns) {
      if (turn.status === 'running') {
        turn.status = 'interrupted';
        turn.reason = 'the server stopped';
      }
    }
  }

  find(turnId: string): TurnState | undefined {
    return this.turns.find((turn) => turn.turnId === turnId);
  }

  private turn(threadId: string, turnId: string): TurnState {
    let turn = this.turns.find((each) => each.turnId === turnId && each.threadId === threadId);
    if (turn === undefined) {
      turn = { threadId, turnId, title: 'agent', status: 'running', entries: [], changedFiles: [] };
      this.turns.push(turn);
      if (this.turns.length > MAX_TURNS) {
        this.turns.splice(0, this.turns.length - MAX_TURNS);
      }
    }
    return turn;
  }

  private itemEntry(threadId: string, turnId: string, itemId: string): ItemState {
    const turn = this.turn(threadId, turnId);
    for (const entry of turn.entries) {
      if (entry.kind === 'item' && entry.state.item.id === itemId) {
        return entry.state;
      }
    }
    const state: ItemState = {
      item: { id: itemId, type: 'unknown' },
      done: false,
      streamed: '',
      output: '',
      outputCut: false,
    };
    turn.entries.push({ kind: 'item', state });
    return state;
  }
}

// ---------------------------------------------------------------------------
// Rendering.

/** A codicon id and, optionally, a theme color id. */
export interface NodeIcon {
  id: string;
  color?: string;
}

/** What a click on a node does. */
export type NodeAction =
  | { kind: 'fileDiff'; turnId: string; itemId: string; file: number }
  | { kind: 'turnDiff'; turnId: string };

export interface ViewNode {
  /** Stable across renders: `turnId`, `turnId/itemId`, `turnId/itemId/…`. */
  id: string;
  label: string;
  description?: string;
  tooltip?: string;
  icon?: NodeIcon;
  /** Unset for a leaf; otherwise whether it starts expanded. */
  expanded?: boolean;
  children?: ViewNode[];
  action?: NodeAction;
  /** For menus: `agentls.approval.pending`, `agentls.fileChange`, `agentls.turnDiff`. */
  contextValue?: string;
  /** The approval id of an approval node. */
  approvalId?: string;
}

export interface RenderOptions {
  /** A path as the user reads it (relative to the workspace). */
  relative: (path: string) => string;
  /** The most output lines shown per command (its last ones). */
  outputLines: number;
  /** Lines longer than this are wrapped. */
  width: number;
}

export const DEFAULT_RENDER: RenderOptions = { relative: (path) => path, outputLines: 20, width: 120 };

const DECISIONS: Record<string, string> = {
  approved: 'approved',
  approvedForThread: 'approved for this thread',
  denied: 'denied',
  abort: 'denied, and the turn stopped',
};

/** The turns as tree nodes, newest first. */
export function renderTurns(model: TurnModel, options: Partial<RenderOptions> = {}): ViewNode[] {
  const resolved = { ...DEFAULT_RENDER, ...options };
  return [...model.turns].reverse().map((turn, index) => renderTurn(turn, resolved, index === 0));
}

export function renderTurn(turn: TurnState, options: RenderOptions, newest = true): ViewNode {
  const children: ViewNode[] = [];
  for (const entry of turn.entries) {
    const node = entry.kind === 'item' ? renderItem(turn, entry.state, options) : renderApproval(turn, entry.state);
    if (node !== undefined) {
      children.push(node);
    }
  }
  if (turn.diff) {
    const files = countDiffFiles(turn.diff);
    children.push({
      id: `${turn.turnId}/diff`,
      label: 'Turn diff',
      description: `${files} ${files === 1 ? 'file' : 'files'}; click to open`,
      icon: { id: 'diff' },
      action: { kind: 'turnDiff', turnId: turn.turnId },
      contextValue: 'agentls.turnDiff',
      tooltip: 'The unified diff of everything this turn changed',
    });
  }
  return {
    id: turn.turnId,
    label: turn.title,
    description: turnDescription(turn, options),
    icon: turnIcon(turn.status),
    expanded: newest,
    children,
    tooltip: `${turn.title} (thread ${turn.threadId}, ${turn.turnId})`,
  };
}

function turnDescription(turn: TurnState, options: RenderOptions): string {
  const parts: string[] = [];
  switch (turn.status) {
    case 'running':
      parts.push('running');
      break;
    case 'completed':
      parts.push('done');
      break;
    case 'interrupted':
      parts.push(turn.reason ? `stopped (${turn.reason})` : 'stopped');
      break;
    case 'failed':
      parts.push(turn.error ? `failed: ${firstLine(turn.error)}` : 'failed');
      break;
    default:
      parts.push(turn.status);
  }
  if (turn.status !== 'running') {
    const files = turn.changedFiles;
    parts.push(files.length === 0 ? 'no files changed' : `changed ${files.map(options.relative).join(', ')}`);
  }
  if (turn.tokens !== undefined) {
    parts.push(`${turn.tokens} tokens`);
  }
  return parts.join(' · ');
}

function turnIcon(status: string): NodeIcon {
  switch (status) {
    case 'running':
      return { id: 'sync~spin' };
    case 'completed':
      return { id: 'pass', color: 'testing.iconPassed' };
    case 'failed':
      return { id: 'error', color: 'testing.iconFailed' };
    default:
      return { id: 'debug-stop' };
  }
}

function renderApproval(turn: TurnState, approval: ApprovalState): ViewNode {
  const what = approval.sandboxEscalation ? 'run without the sandbox' : 'run';
  const decision = approval.decision;
  const approved = decision === 'approved' || decision === 'approvedForThread';
  const tooltip = [`\`${displayCommand(approval.argv)}\` in ${approval.cwd}`];
  if (approval.reason) {
    tooltip.push(approval.reason);
  }
  if (decision === undefined) {
    tooltip.push('Approve or deny with the buttons, or "agentls: Approve pending command"');
  }
  return {
    id: `${turn.turnId}/approval/${approval.id}`,
    label: `Approval ${approval.id}: ${what} \`${displayCommand(approval.argv)}\``,
    description: decision === undefined ? 'waiting for you' : (DECISIONS[decision] ?? decision),
    icon:
      decision === undefined
        ? { id: 'question', color: 'list.warningForeground' }
        : approved
          ? { id: 'check' }
          : { id: 'circle-slash' },
    tooltip: tooltip.join('\n'),
    contextValue: decision === undefined ? 'agentls.approval.pending' : 'agentls.approval',
    approvalId: approval.id,
  };
}

function renderItem(turn: TurnState, state: ItemState, options: RenderOptions): ViewNode | undefined {
  const item = state.item;
  const id = `${turn.turnId}/${item.id}`;
  switch (item.type) {
    case 'userMessage': {
      const text = item.text ?? '';
      return {
        id,
        label: 'Task',
        description: clip(firstLine(text), options.width),
        icon: { id: 'account' },
        tooltip: clip(text, 4000),
      };
    }
    case 'assistantMessage': {
      const text = state.done ? (item.text ?? state.streamed) : state.streamed;
      return textNode(id, text, state.done ? undefined : 'writing…', { id: 'comment' }, options);
    }
    case 'reasoning': {
      const text = state.done && item.summary !== undefined ? item.summary.join('\n\n') : state.streamed;
      const lines = wrapLines(text, options.width);
      return {
        id,
        label: 'Reasoning',
        description: clip(lines[0] ?? '', options.width) + (state.done ? '' : ' …'),
        icon: { id: 'lightbulb' },
        expanded: lines.length > 0 ? false : undefined,
        children: lines.length > 0 ? lines.map((line, index) => leaf(`${id}/${index}`, line)) : undefined,
        tooltip: clip(text, 4000),
      };
    }
    case 'commandExecution':
      return renderCommand(id, state, options);
    case 'fileChange':
      return renderFileChange(turn, id, state, options);
    case 'plan': {
      const steps = item.steps ?? [];
      return {
        id,
        label: 'Plan',
        description: item.explanation ? clip(firstLine(item.explanation), options.width) : undefined,
        icon: { id: 'checklist' },
        expanded: steps.length > 0 ? true : undefined,
        children: steps.map((step, index) => ({
          id: `${id}/${index}`,
          label: step.step,
          icon:
            step.status === 'completed'
              ? { id: 'pass' }
              : step.status === 'inProgress'
                ? { id: 'arrow-right' }
                : { id: 'circle-large-outline' },
          description: step.status === 'inProgress' ? 'in progress' : step.status,
        })),
      };
    }
    case 'toolCall': {
      const output = item.output ?? '';
      return {
        id,
        label: `${item.tool ?? 'tool'} ${toolArguments(item.arguments ?? '')}`.trim(),
        description: !state.done ? 'running' : item.isError ? 'error' : undefined,
        icon: item.isError ? { id: 'warning' } : { id: 'search' },
        tooltip: output === '' ? undefined : clip(output, 4000),
      };
    }
    case 'compaction':
      return {
        id,
        label: 'Earlier history summarized',
        icon: { id: 'fold' },
        tooltip: clip(item.text ?? '', 4000),
      };
    default:
      // An item known only from its deltas so far.
      if (state.streamed !== '') {
        return textNode(id, state.streamed, 'writing…', { id: 'comment' }, options);
      }
      if (state.output !== '') {
        return renderCommand(id, state, options);
      }
      return undefined;
  }
}

function textNode(
  id: string,
  text: string,
  description: string | undefined,
  icon: NodeIcon,
  options: RenderOptions,
): ViewNode {
  const lines = wrapLines(text, options.width);
  const [first, ...rest] = lines.length > 0 ? lines : [''];
  return {
    id,
    label: first,
    description,
    icon,
    expanded: rest.length > 0 ? true : undefined,
    children: rest.length > 0 ? rest.map((line, index) => leaf(`${id}/${index + 1}`, line)) : undefined,
    tooltip: clip(text, 4000),
  };
}

function renderCommand(id: string, state: ItemState, options: RenderOptions): ViewNode {
  const item = state.item;
  const command = displayCommand(item.argv ?? []);
  let description: string;
  let icon: NodeIcon;
  switch (state.done ? item.status : 'inProgress') {
    case 'completed':
      description = `exit ${item.exitCode ?? 0}`;
      icon = { id: 'pass', color: 'testing.iconPassed' };
      break;
    case 'failed':
      description = item.exitCode === undefined || item.exitCode === null ? 'failed' : `exit ${item.exitCode}`;
      icon = { id: 'error', color: 'testing.iconFailed' };
      break;
    case 'declined':
      description = 'declined';
      icon = { id: 'circle-slash' };
      break;
    case 'interrupted':
      description = 'interrupted';
      icon = { id: 'debug-stop' };
      break;
    default:
      description = 'running';
      icon = { id: 'sync~spin' };
  }
  // What the command printed as it ran; else (nothing streamed) the output the
  // model got, which starts with the exit code and wall time.
  const text = state.output !== '' ? state.output : state.done ? (item.output ?? '') : '';
  const tail = outputTail(text, options.outputLines, state.outputCut);
  const children: ViewNode[] = [];
  if (tail.hidden > 0) {
    children.push({
      id: `${id}/earlier`,
      label: `… ${tail.hidden} earlier ${tail.hidden === 1 ? 'line' : 'lines'}`,
      icon: { id: 'ellipsis' },
    });
  }
  tail.lines.forEach((line, index) => {
    children.push(leaf(`${id}/out/${tail.first + index}`, clip(line, options.width * 2)));
  });
  return {
    id,
    label: `$ ${command}`,
    description,
    icon,
    expanded: children.length > 0 ? true : undefined,
    children: children.length > 0 ? children : undefined,
    tooltip: `${command}\nin ${item.cwd ?? ''}`,
  };
}

function renderFileChange(turn: TurnState, id: string, state: ItemState, options: RenderOptions): ViewNode {
  const item = state.item;
  const changes = item.changes ?? [];
  const status = item.status === 'failed' ? `failed${item.error ? `: ${firstLine(item.error)}` : ''}` : item.status === 'applied' ? 'applied' : 'applying';
  const icon: NodeIcon =
    item.status === 'failed'
      ? { id: 'error', color: 'testing.iconFailed' }
      : item.status === 'applied'
        ? { id: 'diff' }
        : { id: 'sync~spin' };
  const files = changes.map((change, index) => {
    const counts = diffCounts(change.diff);
    const kind =
      change.kind.type === 'add'
        ? 'new file, '
        : change.kind.type === 'delete'
          ? 'deleted, '
          : change.kind.movedFrom
            ? `moved from ${options.relative(change.kind.movedFrom)}, `
            : '';
    return {
      path: options.relative(change.path),
      description: `${kind}+${counts.added} −${counts.removed}`,
      action: { kind: 'fileDiff', turnId: turn.turnId, itemId: item.id, file: index } as NodeAction,
    };
  });
  if (files.length === 1) {
    return {
      id,
      label: `Edit ${files[0].path}`,
      description: `${files[0].description} · ${status}`,
      icon,
      action: files[0].action,
      contextValue: 'agentls.fileChange',
      tooltip: `${files[0].path}: click for the diff`,
    };
  }
  return {
    id,
    label: `Edit ${files.length} files`,
    description: status,
    icon,
    expanded: files.length > 0 ? true : undefined,
    children: files.map((file, index) => ({
      id: `${id}/${index}`,
      label: file.path,
      description: file.description,
      icon: { id: 'diff' },
      action: file.action,
      contextValue: 'agentls.fileChange',
      tooltip: `${file.path}: click for the diff`,
    })),
  };
}

function leaf(id: string, label: string): ViewNode {
  return { id, label };
}

/** The last `max` lines of `text`, which of its lines the first one is, and how many are hidden. */
export function outputTail(
  text: string,
  max: number,
  cut = false,
): { lines: string[]; first: number; hidden: number } {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') {
    lines.pop();
  }
  // A cut tail starts mid-line: drop that fragment.
  if (cut && lines.length > 1) {
    lines.shift();
  }
  const first = Math.max(0, lines.length - max);
  return { lines: lines.slice(first), first, hidden: first };
}

/** Lines of `text`, each at most `width` characters (broken at spaces where it can), blank lines dropped. */
export function wrapLines(text: string, width: number): string[] {
  const out: string[] = [];
  for (const raw of text.replace(/\r\n/g, '\n').split('\n')) {
    let line = raw.trimEnd();
    while (line.length > width) {
      let cut = line.lastIndexOf(' ', width);
      if (cut <= 0) {
        cut = width;
      }
      out.push(line.slice(0, cut));
      line = line.slice(cut).trimStart();
    }
    if (line.trim() !== '') {
      out.push(line);
    }
  }
  return out;
}

function firstLine(text: string): string {
  return text.trim().split('\n', 1)[0] ?? '';
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The one argument worth showing of a read-only tool call (`read_file src/lib.rs`). */
function toolArguments(json: string): string {
  try {
    const parsed = JSON.parse(json) as Record<string, unknown>;
    for (const key of ['path', 'pattern', 'symbol', 'name', 'query']) {
      if (typeof parsed[key] === 'string') {
        return clip(parsed[key] as string, 80);
      }
    }
  } catch {
    // Arguments that did not parse are shown as sent.
  }
  return clip(json, 80);
}

/** Added and removed lines of a unified diff. */
export function diffCounts(diff: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const line of diff.split('\n')) {
    if (line.startsWith('+') && !line.startsWith('+++ ')) {
      added += 1;
    } else if (line.startsWith('-') && !line.startsWith('--- ')) {
      removed += 1;
    }
  }
  return { added, removed };
}

function countDiffFiles(diff: string): number {
  return diff.split('\n').filter((line) => line.startsWith('+++ ') || line.startsWith('rename to ')).length;
}

// ---------------------------------------------------------------------------
// The text before a change, for a side-by-side diff.

/**
 * The text a file had before `diff` (one file's unified diff) was applied, from
 * its text now: each hunk's new side is found (at its line, else the nearest
 * place after the previous hunk) and replaced by its old side. `undefined` when
 * the text no longer holds a hunk's new side (edited since, in that spot).
 */
export function textBefore(diff: string, now: string): string | undefined {
  const hunks = parseHunks(diff);
  if (hunks === undefined) {
    return undefined;
  }
  const eol = now.includes('\r\n') ? '\r\n' : '\n';
  const endsWithNewline = now === '' || now.endsWith('\n');
  const lines = now === '' ? [] : now.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let cursor = 0;
  let oldEndsWithNewline = endsWithNewline;
  for (const hunk of hunks) {
    const at = findBlock(lines, hunk.newLines, Math.max(cursor, hunk.newStart - 1), cursor);
    if (at === undefined) {
      return undefined;
    }
    out.push(...lines.slice(cursor, at), ...hunk.oldLines);
    cursor = at + hunk.newLines.length;
    if (cursor === lines.length) {
      oldEndsWithNewline = hunk.oldEndsWithNewline;
    }
  }
  out.push(...lines.slice(cursor));
  if (out.length === 0) {
    return '';
  }
  return out.join(eol) + (oldEndsWithNewline ? eol : '');
}

interface Hunk {
  newStart: number;
  oldLines: string[];
  newLines: string[];
  /** Whether the old side's last line had a newline (no `\ No newline` after it). */
  oldEndsWithNewline: boolean;
}

function parseHunks(diff: string): Hunk[] | undefined {
  const hunks: Hunk[] = [];
  let hunk: Hunk | undefined;
  let last: ' ' | '-' | '+' | undefined;
  for (const line of diff.split('\n')) {
    const header = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(line);
    if (header !== null) {
      hunk = { newStart: Number(header[1]), oldLines: [], newLines: [], oldEndsWithNewline: true };
      hunks.push(hunk);
      continue;
    }
    if (hunk === undefined) {
      continue; // the file headers
    }
    if (line.startsWith('\\')) {
      if (last === '-' || last === ' ') {
        hunk.oldEndsWithNewline = false;
      }
      continue;
    }
    const mark = line[0];
    const text = line.slice(1);
    if (mark === ' ') {
      hunk.oldLines.push(text);
      hunk.newLines.push(text);
    } else if (mark === '-') {
      hunk.oldLines.push(text);
    } else if (mark === '+') {
      hunk.newLines.push(text);
    } else if (line === '') {
      continue;
    } else {
      return undefined;
    }
    last = mark as ' ' | '-' | '+';
  }
  return hunks.length > 0 ? hunks : undefined;
}

/** Where `block` is in `lines`: at `preferred`, else the nearest place from `from` on. */
function findBlock(lines: string[], block: string[], preferred: number, from: number): number | undefined {
  const matches = (at: number) =>
    at >= from && at + block.length <= lines.length && block.every((line, index) => lines[at + index] === line);
  if (matches(preferred)) {
    return preferred;
  }
  for (let distance = 1; distance <= lines.length; distance += 1) {
    if (matches(preferred - distance)) {
      return preferred - distance;
    }
    if (matches(preferred + distance)) {
      return preferred + distance;
    }
  }
  return undefined;
}
