// Plays a VS Code user end to end: packages editors/vscode with @vscode/vsce,
// installs it (and the scripted diagnostics source in ./diagnostics) into a real
// VS Code (code-server), opens the workspace in Debian's Chromium through
// playwright-core, all on 127.0.0.1, and then does what a user does: Ctrl+. on the
// diagnostic, "Agent: Fix this", Allow in the approval toast (in review mode, Apply
// in the Refactor Preview that shows the change), Ctrl+S, then
// "Agent: Undo last agent change" and Ctrl+S again. Reads the editor's text off
// the screen and the file off the disk after each step. On the way it reads the
// streamed turn view (the "Agent" panel) off the screen: the approval waiting,
// then the whole turn; it reopens the view with "Agent: Show turn" and opens the
// edit's side-by-side diff from it.
//
// With AGENTLS_E2E_SCENARIO=inline-completion it plays inline completions
// instead: type on an empty line, see the ghost text, Tab, Ctrl+S.
//
// tests/tests/vscode.rs starts the fake model provider and runs this with Node 24;
// the AGENTLS_E2E_* variables below say where everything is. It writes a JSON
// report to AGENTLS_E2E_REPORT (what the user saw at each step, or the error and
// the step it failed at) and exits non-zero on failure, after a screenshot into
// AGENTLS_E2E_SCREENSHOTS.

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

function need(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: tests/tests/vscode.rs runs this script`);
  }
  return value;
}

const env = {
  codeServer: need('AGENTLS_E2E_CODE_SERVER'),
  chromium: need('AGENTLS_E2E_CHROMIUM'),
  extension: need('AGENTLS_E2E_EXTENSION'),
  scratch: need('AGENTLS_E2E_SCRATCH'),
  screenshots: need('AGENTLS_E2E_SCREENSHOTS'),
  report: need('AGENTLS_E2E_REPORT'),
  workspace: need('AGENTLS_E2E_WORKSPACE'),
  file: need('AGENTLS_E2E_FILE'),
  scenario: process.env.AGENTLS_E2E_SCENARIO ?? 'fix-this',
  settings: JSON.parse(need('AGENTLS_E2E_SETTINGS')),
  // "1": `approvals.edits = "review"`, the change accepted in the Refactor Preview.
  review: process.env.AGENTLS_E2E_REVIEW === '1',
};
if (env.scenario === 'fix-this') {
  env.buggy = need('AGENTLS_E2E_BUGGY');
  env.fixed = need('AGENTLS_E2E_FIXED');
  env.command = need('AGENTLS_E2E_COMMAND');
}

/** What the user saw, step by step; written as JSON whatever happens. */
const report = { steps: [], code_actions: [], approval: null, turn_view: {}, notifications: [], error: null };
let step = 'start';
function begin(name) {
  step = name;
  report.steps.push(name);
  process.stderr.write(`e2e: ${name}\n`);
}

/** A bounded wait for a UI state; says what it waited for when it runs out. */
async function until(what, probe, { timeout = 60_000, interval = 250 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await probe();
    if (last.ok) {
      return last.value;
    }
    if (Date.now() > deadline) {
      throw new Error(`waited ${timeout / 1000} s for ${what}; last seen: ${JSON.stringify(last.seen ?? last.value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

function run(program, args, options) {
  process.stderr.write(`e2e: $ ${path.basename(program)} ${args.join(' ')}\n`);
  return execFileSync(program, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...options });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const NO_GALLERY = {
  serviceUrl: 'http://127.0.0.1:1/gallery',
  itemUrl: 'http://127.0.0.1:1/item',
  resourceUrlTemplate: 'http://127.0.0.1:1/resource',
};

const EDITOR = '.part.editor .editor-instance .monaco-editor';
const VIEW_LINES = `${EDITOR} .view-lines`;

/** The text of the active editor as drawn: its view lines in order, joined. */
async function editorText(page) {
  return page.evaluate((selector) => {
    const viewLines = document.querySelector(selector);
    if (viewLines === null) {
      return null;
    }
    return [...viewLines.querySelectorAll('.view-line')]
      .map((line) => [parseFloat(line.style.top), line.textContent.replace(/\u00a0/g, ' ')])
      .sort((a, b) => a[0] - b[0])
      .map(([, text]) => text)
      .join('\n');
  }, VIEW_LINES);
}

function waitForEditorText(page, expected, what) {
  return until(what, async () => {
    const text = await editorText(page);
    return { ok: text === expected, value: text };
  });
}

function waitForDisk(expected, what) {
  return until(what, async () => {
    const text = fs.readFileSync(env.file, 'utf8');
    return { ok: text === expected, value: text };
  });
}

/** Focus on the text editor (not the Chat input, also a Monaco editor). */
async function focusEditor(page) {
  await page.locator(VIEW_LINES).first().click({ position: { x: 5, y: 5 } });
}

const DIRTY_TAB = '.part.editor .tabs-container .tab.active.dirty';

/** Ctrl+S in the editor, and the tab's dirty mark gone: saved, no conflict. */
async function save(page) {
  await focusEditor(page);
  await page.keyboard.press('Control+S');
  await until('the tab to lose its unsaved-changes mark after Ctrl+S', async () => {
    const dirty = await page.locator(DIRTY_TAB).count();
    return { ok: dirty === 0, value: dirty === 0 ? 'saved' : 'still dirty' };
  }, { timeout: 30_000 });
}

async function notifications(page) {
  return page.locator('.notifications-toasts .notification-toast').allInnerTexts();
}

/** Every notification, shown as toast or not: opens the notification center. */
async function notificationCenter(page) {
  await page.locator('[id="status.notifications"]').click({ timeout: 5_000 });
  const center = page.locator('.notifications-center');
  await center.waitFor({ state: 'visible', timeout: 5_000 });
  return center.locator('.notification-list-item').allInnerTexts();
}

/**
 * Ctrl+. at the cursor until the Quick Fix menu lists `title` (the server may
 * still be starting the first time), and returns every title it listed.
 */
async function quickFixMenu(page, title) {
  const rows = page.locator('.action-widget .monaco-list-row');
  return until(`Ctrl+. to list ${JSON.stringify(title)}`, async () => {
    await page.keyboard.press('Control+.');
    let titles = [];
    try {
      await rows.first().waitFor({ state: 'visible', timeout: 5_000 });
      titles = (await rows.allInnerTexts()).map((text) => text.trim());
    } catch {
      // No menu: VS Code said "No code actions available", or is still asking.
    }
    if (titles.includes(title)) {
      return { ok: true, value: titles };
    }
    await page.keyboard.press('Escape');
    return { ok: false, seen: titles };
  }, { timeout: 90_000, interval: 1_000 });
}

/** The rows of the turn view (the tree in the "Agent" panel) as drawn: label and description. */
async function turnViewRows(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.part.panel .customview-tree .monaco-list-row')]
      .map((row) => ({
        top: parseFloat(row.style.top) || 0,
        depth: Number(row.getAttribute('aria-level') ?? 0),
        label: row.querySelector('.label-name')?.textContent?.trim() ?? '',
        description: row.querySelector('.label-description')?.textContent?.trim() ?? '',
      }))
      .sort((a, b) => a.top - b.top)
      .map(({ depth, label, description }) => ({ depth, label, description })),
  );
}

/** Waits until the turn view shows a row whose label starts with `label` (and description, if given). */
function waitForTurnRow(page, label, description, what) {
  return until(what, async () => {
    const rows = await turnViewRows(page);
    const ok = rows.some(
      (row) => row.label.startsWith(label) && (description === undefined || row.description.startsWith(description)),
    );
    return { ok, value: rows };
  });
}

/** Runs a command from the command palette (F1) by its title. */
async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 5_000 });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ state: 'visible', timeout: 10_000 });
  await page.keyboard.press('Enter');
}

/** Quick Open (Ctrl+P) on the file: opens it, or brings its tab to the front. */
async function quickOpen(page) {
  const fileName = path.basename(env.file);
  await until('Quick Open to list the file', async () => {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    try {
      await input.waitFor({ state: 'visible', timeout: 3_000 });
    } catch {
      return { ok: false, value: 'no Quick Open' };
    }
    await input.fill(path.relative(env.workspace, env.file));
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: fileName }).first();
    try {
      await row.waitFor({ state: 'visible', timeout: 5_000 });
    } catch {
      await page.keyboard.press('Escape');
      return { ok: false, value: 'the file is not listed' };
    }
    await page.keyboard.press('Enter');
    return { ok: true };
  });
}

async function pick(page, title) {
  await page.locator('.action-widget .monaco-list-row', { hasText: title }).first().click();
}

/** Agent: Fix this, the approval, save, the turn view, undo. */
async function fixThis(page) {
  begin('open the file with Quick Open');
  await quickOpen(page);
  await waitForEditorText(page, env.buggy, 'the editor to show the buggy file');
  report.editor_before = await editorText(page);

  begin('see the diagnostic squiggle');
  await page.locator(`${EDITOR} .squiggly-error`).first().waitFor({ timeout: 60_000 });

  begin('Ctrl+. on the diagnostic lists Agent: Fix this');
  await focusEditor(page);
  // Line 2, in the middle of the diagnostic's range (`a - b`).
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  report.code_actions.push(await quickFixMenu(page, 'Agent: Fix this'));

  begin('run Agent: Fix this');
  await pick(page, 'Agent: Fix this');

  begin('answer the approval toast with Allow');
  // The server also announces the approval with a plain message (for clients
  // without prompts): the toast to answer is the one with the buttons.
  const toast = page
    .locator('.notifications-toasts .notification-toast', { hasText: env.command })
    .filter({ has: page.getByRole('button', { name: 'Allow', exact: true }) })
    .first();
  await toast.waitFor({ state: 'visible', timeout: 60_000 });
  const buttons = await toast.locator('.monaco-button').allInnerTexts();
  report.approval = { message: (await toast.locator('.notification-list-item-message').innerText()).trim(), buttons };

  begin('the turn view opened by itself and shows the approval waiting');
  report.turn_view.while_waiting = await waitForTurnRow(
    page,
    `Approval 1: run \`${env.command}\``,
    'waiting for you',
    'the Agent panel to show the approval waiting',
  );
  await toast.getByRole('button', { name: 'Allow', exact: true }).click();

  if (env.review) {
    begin('see the change in the Refactor Preview');
    const preview = page.locator('.bulk-edit-panel[data-state=data]');
    await preview.waitFor({ state: 'visible', timeout: 60_000 });
    await until('the Refactor Preview to list the change', async () => {
      const rows = await preview.locator('.monaco-list-row').allInnerTexts();
      return { ok: rows.some((row) => row.includes(path.basename(env.file))), value: rows };
    });
    report.preview = (await preview.locator('.monaco-list-row').allInnerTexts()).map((row) => row.trim());
    report.disk_during_review = fs.readFileSync(env.file, 'utf8');

    // VS Code starts edits that need confirmation unticked: the user opts in
    // by ticking the file (which ticks its hunks), then presses Apply.
    begin('tick the file in the Refactor Preview and press Apply');
    const fileRow = preview.locator('.monaco-list-row', { hasText: path.basename(env.file) }).first();
    const checkbox = fileRow.locator('.edit-checkbox').first();
    report.ticked_before = await checkbox.getAttribute('aria-checked');
    await checkbox.click();
    await until('the file to be ticked', async () => {
      const checked = await checkbox.getAttribute('aria-checked');
      return { ok: checked === 'true', value: checked };
    }, { timeout: 10_000 });
    await preview.locator('.buttons .monaco-button', { hasText: 'Apply' }).first().click();
    await preview.waitFor({ state: 'hidden', timeout: 30_000 }).catch(() => {});
    // The preview may have put its diff in front: back to the file.
    await quickOpen(page);
  }

  begin('see the fix in the editor');
  await waitForEditorText(page, env.fixed, 'the editor to show the fixed text');
  report.editor_after = await editorText(page);
  report.disk_before_save = fs.readFileSync(env.file, 'utf8');
  report.dirty_after_fix = (await page.locator(DIRTY_TAB).count()) > 0;

  begin('Ctrl+S saves the fix to disk');
  await save(page);
  await waitForDisk(env.fixed, 'the file on disk to hold the fixed text');
  report.disk_after_save = fs.readFileSync(env.file, 'utf8');
  report.notifications.push(...(await notifications(page)));

  begin('the turn view shows the whole turn');
  report.turn_view.after_turn = await waitForTurnRow(page, 'Turn diff', undefined, 'the Agent panel to show the turn diff');
  fs.mkdirSync(env.screenshots, { recursive: true });
  await page.screenshot({ path: path.join(env.screenshots, 'turn-view.png') });

  begin('Agent: Show turn reopens the view after the panel is closed');
  await runCommand(page, 'View: Toggle Panel Visibility');
  await until('the panel to close', async () => {
    const rows = await turnViewRows(page);
    return { ok: rows.length === 0, value: rows };
  }, { timeout: 10_000 });
  await runCommand(page, 'Agent: Show turn');
  report.turn_view.after_show_turn = await waitForTurnRow(
    page,
    'Turn diff',
    undefined,
    'Agent: Show turn to bring back the turn view',
  );

  begin("click the edit in the turn view: the edit's side-by-side diff");
  await page.locator('.part.panel .customview-tree .monaco-list-row', { hasText: 'Edit src/lib.rs' }).first().click();
  const diffEditor = page.locator('.part.editor .monaco-diff-editor').first();
  await diffEditor.waitFor({ state: 'visible', timeout: 20_000 });
  const sideText = (side) =>
    diffEditor.evaluate((element, which) => {
      const lines = element.querySelector(`.editor.${which} .view-lines`);
      return lines === null
        ? null
        : [...lines.querySelectorAll('.view-line')]
            .map((line) => [parseFloat(line.style.top), line.textContent.replace(/\u00a0/g, ' ')])
            .sort((a, b) => a[0] - b[0])
            .map(([, text]) => text)
            .join('\n');
    }, side);
  report.turn_view.diff = await until('the diff editor to show both sides', async () => {
    const value = {
      title: (await page.locator('.part.editor .tab.active').first().innerText()).trim(),
      original: await sideText('original'),
      modified: await sideText('modified'),
    };
    return { ok: value.original?.includes('a - b') && value.modified?.includes('a + b'), value };
  }, { timeout: 20_000 });

  begin("close the diff editor with its tab's close button: back to the file");
  // (Quick Open on the file would bring back the diff editor, which shows it.)
  await page.locator('.part.editor .tab.active .tab-actions .action-label').first().click();
  await waitForEditorText(page, env.fixed, 'the editor to show the fixed file again');

  begin('Ctrl+. lists Agent: Undo last agent change');
  await focusEditor(page);
  report.code_actions.push(await quickFixMenu(page, 'Agent: Undo last agent change'));

  begin('run Agent: Undo last agent change');
  await pick(page, 'Agent: Undo last agent change');
  await waitForEditorText(page, env.buggy, 'the editor to show the text from before the fix');
  report.editor_after_undo = await editorText(page);
  report.disk_before_save_after_undo = fs.readFileSync(env.file, 'utf8');
  report.dirty_after_undo = (await page.locator(DIRTY_TAB).count()) > 0;

  begin('Ctrl+S saves the reverted file');
  await save(page);
  await waitForDisk(env.buggy, 'the file on disk to hold the text from before the fix');
  report.disk_after_undo = fs.readFileSync(env.file, 'utf8');
  report.notifications.push(...(await notifications(page)));
}

const GHOST_TEXT = `${EDITOR} .ghost-text-decoration, ${EDITOR} .ghost-text`;

/** Type on an empty line, see the ghost text, Tab accepts it, Ctrl+S. */
async function inlineCompletion(page) {
  const before = need('AGENTLS_E2E_BEFORE');
  const typed = need('AGENTLS_E2E_TYPED');
  const after = need('AGENTLS_E2E_AFTER');

  begin('open the file with Quick Open');
  await quickOpen(page);
  await waitForEditorText(page, before, 'the editor to show the file');

  begin(`type ${JSON.stringify(typed)} at the end of line 2`);
  await focusEditor(page);
  await page.keyboard.press('Control+Home');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('End');
  await page.keyboard.type(typed);

  begin('see the ghost text');
  // The extension may still be starting agentls when the keys arrive (the
  // server's first didOpen then already holds them), and VS Code asks an
  // inline completion provider only on the next edit: after a quiet while,
  // retype the last character as a user would. (Alt+\, Trigger Inline
  // Suggestion, does not reach the provider in code-server.)
  let probes = 0;
  report.ghost_text = await until('the ghost text after what was typed', async () => {
    const text = (await page.locator(GHOST_TEXT).allTextContents()).join('').replace(/\u00a0/g, ' ');
    probes += 1;
    if (text.trim() === '' && probes % 12 === 0) {
      report.retyped = (report.retyped ?? 0) + 1;
      await page.keyboard.press('Backspace');
      await page.keyboard.type(typed.slice(-1));
    }
    return { ok: text.trim() !== '', value: text };
  });
  fs.mkdirSync(env.screenshots, { recursive: true });
  await page.screenshot({ path: path.join(env.screenshots, 'ghost-text.png') });

  begin('Tab accepts it');
  await page.keyboard.press('Tab');
  report.editor_after_tab = await until('the line completed and no ghost text left', async () => {
    const ghosts = await page.locator(GHOST_TEXT).count();
    const text = await editorText(page);
    return { ok: ghosts === 0 && text === after, value: text, seen: { ghosts, text } };
  }, { timeout: 20_000 });

  begin('Ctrl+S saves it');
  await save(page);
  await waitForDisk(after, 'the file on disk to hold the completed line');
  report.disk_after_save = fs.readFileSync(env.file, 'utf8');
}

async function main() {
  const scratch = (name) => {
    const dir = path.join(env.scratch, name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const userData = scratch('user-data');
  const extensions = scratch('extensions');
  const vsix = path.join(env.scratch, 'agentls.vsix');
  const diagnosticsVsix = path.join(env.scratch, 'agentls-e2e-diagnostics.vsix');
  const node = process.execPath;

  begin('package the extension with @vscode/vsce');
  const extensionBin = (name) => path.join(env.extension, 'node_modules', '.bin', name);
  for (const tool of ['tsc', 'vsce']) {
    if (!fs.existsSync(extensionBin(tool))) {
      throw new Error(`${extensionBin(tool)} is missing: run \`npm ci\` in ${env.extension} (.ci/run does)`);
    }
  }
  run(extensionBin('tsc'), ['-p', env.extension], { cwd: env.extension });
  run(extensionBin('vsce'), ['package', '--skip-license', '--out', vsix], { cwd: env.extension });
  run(
    extensionBin('vsce'),
    ['package', '--skip-license', '--allow-missing-repository', '--no-dependencies', '--out', diagnosticsVsix],
    { cwd: path.join(here, 'diagnostics') },
  );

  begin('install both extensions with code-server --install-extension');
  const dirs = ['--user-data-dir', userData, '--extensions-dir', extensions];
  const installed = run(env.codeServer, [...dirs, '--install-extension', vsix, '--install-extension', diagnosticsVsix]);
  report.install = installed.trim();
  const workbenchSettings = {
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'workbench.enableExperiments': false,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'chat.disableAIFeatures': true,
    'git.enabled': false,
    'files.autoSave': 'off',
  };
  if (env.scenario === 'inline-completion') {
    // Only the inline completion shows: no suggest widget over it (which
    // VS Code would let the ghost text show only as an extension of).
    Object.assign(workbenchSettings, {
      'editor.inlineSuggest.enabled': true,
      'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
      'editor.suggestOnTriggerCharacters': false,
      'editor.wordBasedSuggestions': 'off',
    });
  }
  // The extension's settings go where a code-server user puts settings for the
  // machine that runs the server (and so the extension host): on the first
  // start of a fresh user-data-dir, the extension host does not see the User
  // settings yet, and agentls.path would be its default.
  for (const [dir, settings] of [
    ['User', { ...workbenchSettings, ...env.settings }],
    ['Machine', env.settings],
  ]) {
    fs.mkdirSync(path.join(userData, dir), { recursive: true });
    fs.writeFileSync(path.join(userData, dir, 'settings.json'), JSON.stringify(settings, null, 2));
  }

  begin('start code-server on 127.0.0.1');
  const port = await freePort();
  const serverLog = fs.openSync(path.join(env.scratch, 'code-server.log'), 'w');
  const server = spawn(
    env.codeServer,
    [
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      ...dirs,
      env.workspace,
    ],
    {
      stdio: ['ignore', serverLog, serverLog],
      // Its extension gallery (Open VSX by default) on a closed loopback port.
      env: { ...process.env, EXTENSIONS_GALLERY: JSON.stringify(NO_GALLERY) },
    },
  );
  const stopServer = () => {
    // Its extension host and agentls end with it; tests/tests/vscode.rs kills
    // this whole process group after the run besides.
    server.kill('SIGTERM');
  };
  process.on('exit', stopServer);
  const url = `http://127.0.0.1:${port}`;
  await until(`code-server to answer on ${url}/healthz`, async () => {
    if (server.exitCode !== null) {
      throw new Error(`code-server exited with ${server.exitCode}; see ${path.join(env.scratch, 'code-server.log')}`);
    }
    try {
      const response = await fetch(`${url}/healthz`);
      return { ok: response.ok, value: response.status };
    } catch (error) {
      return { ok: false, value: String(error) };
    }
  });

  begin('open the workspace in Chromium');
  const context = await chromium.launchPersistentContext(scratch('chromium-profile'), {
    executablePath: env.chromium,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1400, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  try {
    // Nothing but 127.0.0.1.
    report.blocked_requests = [];
    await context.route(/^(?!https?:\/\/127\.0\.0\.1[:/]|data:|blob:)/, (route) => {
      report.blocked_requests.push(route.request().url());
      return route.abort();
    });
    await page.goto(`${url}/?folder=${encodeURIComponent(env.workspace)}`);
    await page.locator('.monaco-workbench .part.editor').waitFor({ timeout: 60_000 });

    if (env.scenario === 'inline-completion') {
      await inlineCompletion(page);
    } else {
      await fixThis(page);
    }
  } catch (error) {
    fs.mkdirSync(env.screenshots, { recursive: true });
    const shot = path.join(env.screenshots, `failed-${report.steps.length}.png`);
    await page.screenshot({ path: shot }).catch(() => {});
    report.screenshot = shot;
    report.notifications.push(...(await notifications(page).catch(() => [])));
    report.notification_center = await notificationCenter(page).catch((error) => String(error));
    report.editor_at_failure = await editorText(page).catch(() => null);
    throw error;
  } finally {
    await context.close().catch(() => {});
    stopServer();
  }
}

try {
  await main();
} catch (error) {
  report.error = `${step}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`;
  process.exitCode = 1;
} finally {
  fs.writeFileSync(env.report, JSON.stringify(report, null, 2));
}
