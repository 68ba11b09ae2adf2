// What the `agent/*` notifications (docs/lsp-extensions.md) put in the
// "agentls" output channel, and which turns are running. Pure: no `vscode`
// import, so `npm test` runs it in plain Node.

export interface TurnStartedParams {
  threadId: string;
  turnId: string;
  title: string;
}

export interface ItemDeltaParams {
  threadId: string;
  turnId: string;
  itemId: string;
  delta: { kind: string; text?: string; stream?: string };
}

export interface ApprovalRequestedParams {
  threadId: string;
  turnId: string;
  itemId: string;
  id: string;
  argv: string[];
  cwd: string;
  reason?: string | null;
  sandboxEscalation?: boolean;
}

export interface ApprovalResolvedParams {
  threadId: string;
  turnId: string;
  itemId: string;
  id: string;
  decision: 'approved' | 'approvedForThread' | 'denied' | 'abort' | string;
}

export interface TurnDiffParams {
  threadId: string;
  turnId: string;
  diff: string;
}

export interface TurnCompletedParams {
  threadId: string;
  turnId: string;
  status: 'completed' | 'interrupted' | 'failed' | string;
  usage?: { total_tokens?: number } | null;
  reason?: string | null;
  error?: string | null;
  changedFiles?: string[];
}

export interface LastDiff {
  title: string;
  turnId: string;
  diff: string;
}

/** A command line as a user would type it (`bash -lc SCRIPT` is SCRIPT, as the server shows it). */
export function displayCommand(argv: readonly string[]): string {
  if (argv.length === 3 && ['bash', 'sh', 'zsh'].includes(argv[0]) && ['-c', '-lc'].includes(argv[1])) {
    return argv[2];
  }
  return argv.map((arg) => (arg === '' || /[\s'"\\$`]/.test(arg) ? JSON.stringify(arg) : arg)).join(' ');
}

/**
 * Turns notifications into text for the output channel. Assistant text is
 * streamed as it arrives; when two turns stream at once (an "Explain this"
 * beside a "Fix this"), each switch starts a new line naming the turn.
 */
export class TurnLog {
  private readonly titles = new Map<string, string>();
  private readonly running = new Map<string, string>();
  /** The turn whose text was written last, and whether its line is open. */
  private writer: string | undefined;
  private lineOpen = false;
  /** The assistant message written last. */
  private item: string | undefined;
  private lastDiffValue: LastDiff | undefined;

  constructor(private readonly relative: (path: string) => string = (path) => path) {}

  turnStarted(params: TurnStartedParams): string {
    this.titles.set(params.turnId, params.title);
    this.running.set(params.turnId, params.title);
    this.writer = params.turnId;
    return `${this.breakLine()}▶ ${params.title}\n`;
  }

  itemDelta(params: ItemDeltaParams): string {
    if (params.delta.kind !== 'assistantText' || !params.delta.text) {
      return '';
    }
    let prefix = '';
    if (this.writer !== params.turnId) {
      prefix = `${this.breakLine()}[${this.title(params.turnId)}] `;
      this.writer = params.turnId;
    } else if (this.item !== params.itemId) {
      // The next message of the same turn (after a tool call): a new line.
      prefix = this.breakLine();
    }
    this.item = params.itemId;
    const text = params.delta.text;
    this.lineOpen = !text.endsWith('\n');
    return prefix + text;
  }

  approvalRequested(params: ApprovalRequestedParams): string {
    const what = params.sandboxEscalation ? 'to run without the sandbox' : 'to run';
    const reason = params.reason ? ` (${params.reason})` : '';
    this.writer = undefined;
    return (
      `${this.breakLine()}? ${this.title(params.turnId)}: approval ${params.id} needed ${what} ` +
      `\`${displayCommand(params.argv)}\` in ${this.relative(params.cwd)}${reason}: ` +
      `"agentls: Approve pending command" or "agentls: Deny pending command"\n`
    );
  }

  approvalResolved(params: ApprovalResolvedParams): string {
    const said: Record<string, string> = {
      approved: 'approved',
      approvedForThread: 'approved for this thread',
      denied: 'denied',
      abort: 'denied, and the turn stopped',
    };
    this.writer = undefined;
    return `${this.breakLine()}? ${this.title(params.turnId)}: approval ${params.id} ${said[params.decision] ?? params.decision}\n`;
  }

  turnDiff(params: TurnDiffParams): void {
    this.lastDiffValue = { title: this.title(params.turnId), turnId: params.turnId, diff: params.diff };
  }

  turnCompleted(params: TurnCompletedParams): string {
    const title = this.title(params.turnId);
    this.running.delete(params.turnId);
    this.titles.delete(params.turnId);
    this.writer = undefined;
    const parts: string[] = [];
    switch (params.status) {
      case 'completed':
        parts.push('done');
        break;
      case 'interrupted':
        parts.push(params.reason ? `stopped (${params.reason})` : 'stopped');
        break;
      case 'failed':
        parts.push(params.error ? `failed: ${params.error}` : 'failed');
        break;
      default:
        parts.push(params.status);
    }
    const files = params.changedFiles ?? [];
    parts.push(files.length === 0 ? 'no files changed' : `changed ${files.map(this.relative).join(', ')}`);
    if (typeof params.usage?.total_tokens === 'number') {
      parts.push(`${params.usage.total_tokens} tokens`);
    }
    return `${this.breakLine()}■ ${title}: ${parts.join('; ')}\n`;
  }

  /** The titles of the turns that started and have not completed. */
  runningTitles(): string[] {
    return [...this.running.values()];
  }

  /** The diff of the latest turn that changed files, if any. */
  lastDiff(): LastDiff | undefined {
    return this.lastDiffValue;
  }

  /** The server restarted: no turn of the old one is running any more. */
  reset(): void {
    this.running.clear();
    this.writer = undefined;
  }

  private title(turnId: string): string {
    return this.titles.get(turnId) ?? 'agent';
  }

  private breakLine(): string {
    const open = this.lineOpen;
    this.lineOpen = false;
    return open ? '\n' : '';
  }
}

/**
 * Whether a path is one of the Markdown pages the server writes and opens with
 * `window/showDocument`: a long answer (`<data>/agentls/answers/*.md`) or an
 * "Agent: Show agent context" page (`<data>/agentls/context/*.md`).
 */
export function isAgentPage(path: string): boolean {
  return /[\\/]agentls[\\/](answers|context)[\\/][^\\/]+\.md$/.test(path);
}
