// The streamed turn view in VS Code: a tree in the "Agent" panel that fills in
// as the `agent/*` notifications arrive (one node per item, with its kind and
// status; command output; edits that open a side-by-side diff; approvals with
// Approve / Deny buttons), and the virtual documents its diffs show. The model
// and rendering are in turnView.ts (pure); this file is the VS Code side.

import * as vscode from 'vscode';
import {
  ApprovalRequestedParams,
  ApprovalResolvedParams,
  ItemDeltaParams,
  TurnCompletedParams,
  TurnDiffParams,
  TurnStartedParams,
} from './output';
import { ItemParams, NodeAction, TurnModel, ViewNode, renderTurns, textBefore } from './turnView';

export const VIEW_ID = 'agentls.turnView';
/** The virtual documents: the text before an edit, a turn's or an edit's unified diff. */
const SCHEME = 'agentls-turn';
/** At most this often the tree is redrawn while text streams. */
const REFRESH_MS = 100;

export class TurnTree implements vscode.TreeDataProvider<ViewNode>, vscode.TextDocumentContentProvider {
  private readonly model = new TurnModel();
  private roots: ViewNode[] = [];
  private readonly parents = new Map<string, ViewNode | undefined>();
  private readonly changed = new vscode.EventEmitter<ViewNode | undefined | void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly documents = new Map<string, string>();
  private readonly documentChanged = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.documentChanged.event;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private view: vscode.TreeView<ViewNode> | undefined;

  /** Registers the view, its document scheme and its commands. */
  register(context: vscode.ExtensionContext, approve: (command: string, id: string) => Promise<void>): void {
    this.view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: this, showCollapseAll: true });
    this.view.message = 'No agent turn yet: run an "Agent: …" code action (Ctrl+.).';
    const register = (id: string, run: (...args: never[]) => unknown) =>
      context.subscriptions.push(vscode.commands.registerCommand(id, run));
    register('agentls.showTurn', () => this.show(true));
    register('agentls.turnView.open', (node: ViewNode) => this.open(node.action));
    register('agentls.turnView.approve', (node: ViewNode) => approve('agentls.approve', node.approvalId ?? ''));
    register('agentls.turnView.deny', (node: ViewNode) => approve('agentls.deny', node.approvalId ?? ''));
    context.subscriptions.push(
      this.view,
      this.changed,
      this.documentChanged,
      vscode.workspace.registerTextDocumentContentProvider(SCHEME, this),
      { dispose: () => clearTimeout(this.timer) },
    );
  }

  turnStarted(params: TurnStartedParams): void {
    this.model.turnStarted(params);
    this.refresh(true);
    const autoOpen = vscode.workspace.getConfiguration('agentls').get<boolean>('turnView.autoOpen', true);
    if (autoOpen) {
      void this.show(false);
    }
  }
  itemStarted(params: ItemParams): void {
    this.model.itemStarted(params);
    this.refresh();
  }
  itemDelta(params: ItemDeltaParams): void {
    this.model.itemDelta(params);
    this.refresh();
  }
  itemCompleted(params: ItemParams): void {
    this.model.itemCompleted(params);
    this.refresh();
  }
  approvalRequested(params: ApprovalRequestedParams): void {
    this.model.approvalRequested(params);
    this.refresh(true);
  }
  approvalResolved(params: ApprovalResolvedParams): void {
    this.model.approvalResolved(params);
    this.refresh(true);
  }
  turnDiff(params: TurnDiffParams): void {
    this.model.turnDiff(params);
    this.refresh();
  }
  turnCompleted(params: TurnCompletedParams): void {
    this.model.turnCompleted(params);
    this.refresh(true);
  }
  reset(): void {
    this.model.reset();
    this.refresh(true);
  }

  /** Shows the view with the newest turn; `focus` moves the keyboard there too. */
  async show(focus: boolean): Promise<void> {
    this.render();
    const newest = this.roots[0];
    if (focus || newest === undefined) {
      await vscode.commands.executeCommand(`${VIEW_ID}.focus`);
    }
    if (newest !== undefined && this.view !== undefined) {
      try {
        await this.view.reveal(newest, { select: false, focus, expand: true });
      } catch {
        // A turn dropped meanwhile: the view is open anyway.
      }
    }
  }

  getTreeItem(node: ViewNode): vscode.TreeItem {
    const state =
      node.expanded === undefined
        ? vscode.TreeItemCollapsibleState.None
        : node.expanded
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed;
    const item = new vscode.TreeItem(node.label, state);
    item.id = node.id;
    item.description = node.description;
    item.tooltip = node.tooltip;
    item.contextValue = node.contextValue;
    if (node.icon !== undefined) {
      item.iconPath = new vscode.ThemeIcon(
        node.icon.id,
        node.icon.color === undefined ? undefined : new vscode.ThemeColor(node.icon.color),
      );
    }
    if (node.action !== undefined) {
      item.command = { command: 'agentls.turnView.open', title: 'Open diff', arguments: [node] };
    }
    return item;
  }

  getChildren(node?: ViewNode): ViewNode[] {
    if (node === undefined) {
      this.render();
      return this.roots;
    }
    return node.children ?? [];
  }

  getParent(node: ViewNode): ViewNode | undefined {
    return this.parents.get(node.id);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.documents.get(uri.toString()) ?? '';
  }

  /** Redraws now (`now`) or within REFRESH_MS, coalescing streamed deltas. */
  private refresh(now = false): void {
    if (now) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.fire();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.fire();
      }, REFRESH_MS);
    }
  }

  private fire(): void {
    if (this.view !== undefined) {
      this.view.message = this.model.turns.length === 0 ? this.view.message : undefined;
    }
    this.changed.fire();
  }

  private render(): void {
    this.roots = renderTurns(this.model, { relative: (path) => vscode.workspace.asRelativePath(path, false) });
    this.parents.clear();
    const walk = (nodes: ViewNode[], parent: ViewNode | undefined) => {
      for (const node of nodes) {
        this.parents.set(node.id, parent);
        walk(node.children ?? [], node);
      }
    };
    walk(this.roots, undefined);
  }

  /** Opens what a node links to: an edit side by side, or a unified diff. */
  private async open(action: NodeAction | undefined): Promise<void> {
    if (action === undefined) {
      return;
    }
    const turn = this.model.find(action.turnId);
    if (turn === undefined) {
      void vscode.window.showInformationMessage('agentls: that turn is no longer in the view');
      return;
    }
    if (action.kind === 'turnDiff') {
      await this.showText(`/${turn.title} (${turn.turnId}).diff`, turn.diff ?? '');
      return;
    }
    let change;
    for (const entry of turn.entries) {
      if (entry.kind === 'item' && entry.state.item.id === action.itemId) {
        change = entry.state.item.changes?.[action.file];
      }
    }
    if (change === undefined) {
      return;
    }
    const file = vscode.Uri.file(change.path);
    const name = vscode.workspace.asRelativePath(file, false);
    if (change.kind.type !== 'delete') {
      const now = await currentText(file);
      const before = now === undefined ? undefined : change.kind.type === 'add' ? '' : textBefore(change.diff, now);
      if (before !== undefined) {
        const left = this.put(`/before/${turn.turnId}/${action.itemId}/${name}`, before);
        await vscode.commands.executeCommand('vscode.diff', left, file, `${name} (before ${turn.title} ↔ now)`, {
          preview: true,
        });
        return;
      }
    }
    // Deleted, or edited since where the agent changed it: the unified diff as it was.
    await this.showText(`/${name} (${turn.title}).diff`, change.diff);
  }

  private put(path: string, text: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: SCHEME, path });
    this.documents.set(uri.toString(), text);
    this.documentChanged.fire(uri);
    return uri;
  }

  private async showText(path: string, text: string): Promise<void> {
    const document = await vscode.workspace.openTextDocument(this.put(path, text));
    await vscode.languages.setTextDocumentLanguage(document, 'diff');
    await vscode.window.showTextDocument(document, { preview: true });
  }
}

/** The text of a file as the editor has it (an open document), else on disk. */
async function currentText(file: vscode.Uri): Promise<string | undefined> {
  const open = vscode.workspace.textDocuments.find((document) => document.uri.toString() === file.toString());
  if (open !== undefined) {
    return open.getText();
  }
  try {
    return new TextDecoder().decode(await vscode.workspace.fs.readFile(file));
  } catch {
    return undefined;
  }
}
