// A real ACP client, the TypeScript SDK (@agentclientprotocol/sdk), driving
// `agentls acp` through one scenario and printing what it saw as one JSON
// report on stdout; tests/tests/acp.rs runs it and asserts on the report.
//
//   node client.mjs SCENARIO CONFIG.json
//
// CONFIG: {binary, cwd, buffers: {absolute path: text}, sessionId?}. The
// client plays an editor: `fs/read_text_file` answers from `buffers` (the
// editor's open buffers, unsaved text included) and else from the disk;
// `fs/write_text_file` writes into `buffers` only (the edit lands in the
// editor, unsaved), which the report returns.
//
// The SDK is loaded from $AGENTLS_ACP_MODULES (tests/acp/setup.sh installs it
// there, outside the checkout).

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";

const [scenario, configPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, "utf8"));
const modules = process.env.AGENTLS_ACP_MODULES;
const acp = await import(
  pathToFileURL(
    path.join(modules, "node_modules/@agentclientprotocol/sdk/dist/v1/stable/acp.js"),
  ).href
);

const started = Date.now();
const buffers = new Map(Object.entries(config.buffers ?? {}));
const report = { scenario, events: [], steps: {} };
/** Record an event; the recorded object is returned, to complete later. */
const note = (event) => {
  const recorded = { at: Date.now() - started, ...event };
  report.events.push(recorded);
  return recorded;
};

// How the next permission request is answered: "allow_once", an option id
// that was never offered, or "never" (the request waits until withdrawn).
let permissionAnswer = "allow_once";
// Resolved when a tool call whose title matches runs.
let running = null;

const child = spawn(config.binary, ["acp"], {
  cwd: config.cwd,
  stdio: ["pipe", "pipe", "inherit"],
});
child.stdin.on("error", () => {});
const exited = new Promise((resolve) =>
  child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() - started })),
);

const app = acp
  .client({ name: "agentls-acp-test" })
  .onRequest(acp.methods.client.session.requestPermission, async ({ params, signal }) => {
    const event = note({
      type: "permission",
      toolCall: params.toolCall,
      options: params.options,
    });
    if (permissionAnswer === "never") {
      // Wait until the agent withdraws the request ($/cancel_request).
      await new Promise((resolve) => signal.addEventListener("abort", resolve));
      event.withdrawn = true;
      return { outcome: { outcome: "cancelled" } };
    }
    event.answer = permissionAnswer;
    return { outcome: { outcome: "selected", optionId: permissionAnswer } };
  })
  .onRequest(acp.methods.client.fs.readTextFile, async ({ params }) => {
    note({ type: "read", path: params.path });
    if (buffers.has(params.path)) {
      return { content: buffers.get(params.path) };
    }
    try {
      return { content: readFileSync(params.path, "utf8") };
    } catch {
      throw acp.RequestError.resourceNotFound(params.path);
    }
  })
  .onRequest(acp.methods.client.fs.writeTextFile, async ({ params }) => {
    note({ type: "write", path: params.path, content: params.content });
    buffers.set(params.path, params.content);
    return {};
  })
  .onNotification(acp.methods.client.session.update, async ({ params }) => {
    note({ type: "update", sessionId: params.sessionId, update: params.update });
    const update = params.update;
    if (
      running &&
      (update.sessionUpdate === "tool_call" || update.sessionUpdate === "tool_call_update") &&
      update.status === "in_progress" &&
      (update.title ?? "").includes(running.title)
    ) {
      running.resolve();
      running = null;
    }
  });

/** Run one request and keep its result or error in the report under `name`. */
async function step(name, request) {
  try {
    const result = await request;
    report.steps[name] = { result, at: Date.now() - started };
    return result;
  } catch (error) {
    report.steps[name] = {
      error: { code: error.code, message: error.message, data: error.data },
      at: Date.now() - started,
    };
    return null;
  }
}

/** Resolves once a tool call whose title contains `title` runs. */
function whenRunning(title) {
  return new Promise((resolve) => {
    running = { title, resolve };
  });
}

const prompt = (ctx, sessionId, text) =>
  ctx.request(acp.methods.agent.session.prompt, {
    sessionId,
    prompt: [{ type: "text", text }],
  });

async function initialize(ctx) {
  await step(
    "initialize",
    ctx.request(acp.methods.agent.initialize, {
      protocolVersion: acp.PROTOCOL_VERSION,
      clientCapabilities: { fs: { readTextFile: true, writeTextFile: true }, terminal: false },
      clientInfo: { name: "agentls-acp-test", version: "0" },
    }),
  );
}

async function newSession(ctx) {
  const session = await step(
    "new",
    ctx.request(acp.methods.agent.session.new, { cwd: config.cwd, mcpServers: [] }),
  );
  report.sessionId = session?.sessionId;
  return session?.sessionId;
}

const scenarios = {
  // prompt → tool calls (a read of an unsaved buffer, a command approved
  // through the client, a patch written through the client) → a prompt
  // cancelled mid-command (twice) → a prompt to an unknown session → the
  // session loaded again in the same connection → a prompt on it.
  async main(ctx) {
    await initialize(ctx);
    const sessionId = await newSession(ctx);
    await step("fix", prompt(ctx, sessionId, "Fix the bug in src/lib.rs"));

    const sleeping = whenRunning("sleep");
    const slow = step("slow", prompt(ctx, sessionId, "Check it slowly"));
    await sleeping;
    report.cancelledAt = Date.now() - started;
    await ctx.notify(acp.methods.agent.session.cancel, { sessionId });
    await ctx.notify(acp.methods.agent.session.cancel, { sessionId });
    await slow;
    // A third cancel, with nothing running.
    await ctx.notify(acp.methods.agent.session.cancel, { sessionId });

    await step("unknown", prompt(ctx, "no-such-session", "Hello?"));
    await ctx.notify(acp.methods.agent.session.cancel, { sessionId: "no-such-session" });

    report.loadFrom = report.events.length;
    await step(
      "load",
      ctx.request(acp.methods.agent.session.load, { sessionId, cwd: config.cwd, mcpServers: [] }),
    );
    await step("resumed", prompt(ctx, sessionId, "Go on"));
  },

  // Permission answered with an option never offered, then never answered
  // (the agent's approval timeout withdraws it), then stdin closed while a
  // command runs.
  async hostile(ctx) {
    await initialize(ctx);
    const sessionId = await newSession(ctx);
    permissionAnswer = "bogus_option";
    await step("unknown_option", prompt(ctx, sessionId, "Touch a"));
    permissionAnswer = "never";
    await step("unanswered", prompt(ctx, sessionId, "Touch b"));
    permissionAnswer = "allow_once";
    const sleeping = whenRunning("sleep");
    step("closed", prompt(ctx, sessionId, "Check it slowly"));
    await sleeping;
    report.closedAt = Date.now() - started;
    child.stdin.end();
    report.exit = await exited;
  },

  // The client offers its MCP servers (config.mcpServers) in session/new, as
  // Zed does with its context servers; the agent calls one of their tools,
  // asking permission first.
  async mcp(ctx) {
    await initialize(ctx);
    const session = await step(
      "new",
      ctx.request(acp.methods.agent.session.new, {
        cwd: config.cwd,
        mcpServers: config.mcpServers,
      }),
    );
    report.sessionId = session?.sessionId;
    await step("echo", prompt(ctx, report.sessionId, "Echo through the client's server"));
  },

  // A later process loads the session the hostile scenario left.
  async reload(ctx) {
    await initialize(ctx);
    report.sessionId = config.sessionId;
    report.loadFrom = 0;
    await step(
      "load",
      ctx.request(acp.methods.agent.session.load, {
        sessionId: config.sessionId,
        cwd: config.cwd,
        mcpServers: [],
      }),
    );
    await step("missing", ctx.request(acp.methods.agent.session.load, {
      sessionId: "0190aaaa-0000-7000-8000-000000000000",
      cwd: config.cwd,
      mcpServers: [],
    }));
    await step("relative", ctx.request(acp.methods.agent.session.new, {
      cwd: "relative/dir",
      mcpServers: [],
    }));
  },
};

const stream = acp.ndJsonStream(Writable.toWeb(child.stdin), Readable.toWeb(child.stdout));
try {
  await app.connectWith(stream, async (ctx) => {
    await scenarios[scenario](ctx);
  });
} catch (error) {
  report.connectionError = String(error);
}
if (!report.exit) {
  child.stdin.end();
  report.exit = await exited;
}
report.buffers = Object.fromEntries(buffers);
process.stdout.write(JSON.stringify(report) + "\n");
process.exit(0);
