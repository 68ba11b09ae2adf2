// The VS Code settings `agentls.*` as the server's configuration table
// (docs/configuration.md). Pure: no `vscode` import, so `npm test` runs it in
// plain Node.

/** Reads one setting below `agentls.`, e.g. `provider.baseUrl`. */
export type SettingReader = (key: string) => unknown;

/** The server's configuration table: `{ provider: { base_url: … }, … }`. */
export type ServerOptions = Record<string, Record<string, unknown>>;

/**
 * Each VS Code setting (below `agentls.`) and the server key it sets; a dotted
 * key (`provider.base_url` in `completion`) is a nested table.
 */
export const SETTING_KEYS: ReadonlyArray<readonly [setting: string, table: string, key: string]> = [
  ['provider.kind', 'provider', 'kind'],
  ['provider.model', 'provider', 'model'],
  ['provider.baseUrl', 'provider', 'base_url'],
  ['provider.apiKeyEnv', 'provider', 'api_key_env'],
  ['approvals.policy', 'approvals', 'policy'],
  ['approvals.edits', 'approvals', 'edits'],
  ['sandbox.policy', 'sandbox', 'policy'],
  ['completion.enabled', 'completion', 'enabled'],
  ['completion.debounceMs', 'completion', 'debounce_ms'],
  ['completion.provider.kind', 'completion', 'provider.kind'],
  ['completion.provider.baseUrl', 'completion', 'provider.base_url'],
  ['completion.provider.model', 'completion', 'provider.model'],
  ['completion.provider.apiKeyEnv', 'completion', 'provider.api_key_env'],
  ['completion.provider.template', 'completion', 'provider.template'],
];

/** Settings read only when the server starts (its capabilities depend on them). */
export const RESTART_SETTINGS: ReadonlyArray<string> = ['completion.enabled'];

function setPath(table: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  const last = parts.pop() as string;
  let current = table;
  for (const part of parts) {
    current = (current[part] ??= {}) as Record<string, unknown>;
  }
  current[last] = value;
}

function getPath(table: Record<string, unknown> | undefined, key: string): unknown {
  let current: unknown = table;
  for (const part of key.split('.')) {
    if (current === undefined || current === null || typeof current !== 'object') {
      return undefined;
    }
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface MappedSettings {
  /** What goes out as `initializationOptions` (and, under `agentls`, with didChangeConfiguration). */
  options: ServerOptions;
  /** Settings left out because they cannot be right, one sentence each. */
  problems: string[];
}

/**
 * Maps the settings to the server's table. A setting that is unset (undefined,
 * null, or an empty string, which is the "use the server's configuration"
 * default) is left out, so the server's files and environment still apply.
 * Strings are trimmed; a value of another type is passed on for the server to
 * report. A table with nothing set is left out whole.
 */
export function mapSettings(read: SettingReader): MappedSettings {
  const options: ServerOptions = {};
  const problems: string[] = [];
  for (const [setting, table, key] of SETTING_KEYS) {
    let value = read(setting);
    if (value === undefined || value === null) {
      continue;
    }
    if (typeof value === 'string') {
      value = value.trim();
      if (value === '') {
        continue;
      }
      if (setting.endsWith('apiKeyEnv') && !ENV_NAME.test(value as string)) {
        // Most likely the key itself was pasted: never send it anywhere.
        problems.push(
          `agentls.${setting} names the environment variable that holds the key ` +
            '(e.g. OPENAI_API_KEY), never the key itself; the value is not a variable name and was left out',
        );
        continue;
      }
    }
    setPath((options[table] ??= {}), key, value);
  }
  return { options, problems };
}

/** `initializationOptions` from the settings. */
export function initializationOptions(read: SettingReader): ServerOptions {
  return mapSettings(read).options;
}

/**
 * The `settings` of `workspace/didChangeConfiguration`: the same table nested
 * under `agentls`, which the server accepts beside the bare table
 * (core/src/config.rs, `editor_layer`). An empty table means "no editor layer".
 */
export function didChangeConfigurationSettings(options: ServerOptions): { agentls: ServerOptions } {
  return { agentls: options };
}

/**
 * The settings (full names, `agentls.provider.model`) that were sent with
 * `initializationOptions` and are unset now. didChangeConfiguration cannot
 * unset them: the server keeps the value it was started with until a restart.
 */
export function clearedSinceStart(atStart: ServerOptions, now: ServerOptions): string[] {
  const cleared: string[] = [];
  for (const [setting, table, key] of SETTING_KEYS) {
    if (getPath(atStart[table], key) !== undefined && getPath(now[table], key) === undefined) {
      cleared.push(`agentls.${setting}`);
    }
  }
  return cleared;
}

export interface ServerCommand {
  /** What to start (with `--stdio`). */
  command: string;
  /** The file it names, when it was found; undefined when it was not. */
  found: string | undefined;
}

/**
 * The `agentls.path` setting as a command: `~/` is the home directory; a bare
 * name (the default `agentls`) is looked up on `PATH` (with `PATHEXT` on
 * Windows) so a missing binary can be reported before anything is started.
 */
export function resolveServerCommand(
  setting: unknown,
  env: Readonly<Record<string, string | undefined>>,
  options: { home: string; platform: string; isExecutable: (file: string) => boolean },
): ServerCommand {
  const windows = options.platform === 'win32';
  const separator = windows ? ';' : ':';
  let command = typeof setting === 'string' && setting.trim() !== '' ? setting.trim() : 'agentls';
  if (command === '~' || command.startsWith('~/') || (windows && command.startsWith('~\\'))) {
    command = options.home + command.slice(1);
  }
  const join = (dir: string, name: string) => (/[\\/]$/.test(dir) ? dir + name : `${dir}${windows ? '\\' : '/'}${name}`);
  const extensions = windows
    ? ['', ...(env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter((ext) => ext !== '')]
    : [''];
  const candidates = /[\\/]/.test(command)
    ? extensions.map((ext) => command + ext)
    : (env.PATH ?? (windows ? env.Path : undefined) ?? '')
        .split(separator)
        .filter((dir) => dir !== '')
        .flatMap((dir) => extensions.map((ext) => join(dir, command + ext)));
  return { command, found: candidates.find((file) => options.isExecutable(file)) };
}
