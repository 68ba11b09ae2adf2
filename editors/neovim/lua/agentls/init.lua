--- agentls for Neovim: `require('agentls').setup(opts)` does in one call what
--- docs/editors/neovim.md otherwise asks you to paste.
---
--- - starts one agentls client per workspace root and attaches it to every normal
---   buffer (`buftype` empty) that gets a filetype;
--- - echoes agentls's `$/progress` in the message area, at most one line per 200 ms;
--- - reloads a buffer quietly when the file on disk holds exactly its text (the
---   agent writes saved files it edits), and asks as usual otherwise;
--- - asks approvals with vim.ui.select on 0.10+ (0.7 can only block in inputlist);
--- - adds :AgentActions (the `Agent: ` code actions; a range uses those lines or the
---   visual selection; 0.10+ sends it every diagnostic there, whatever its source),
---   :AgentApprove, :AgentDeny, :AgentStop and :AgentUndo, and for changes waiting
---   for review (`approvals = { edits = 'review' }`) :AgentReview (the diff),
---   :AgentApply and :AgentDiscard;
--- - declares the `agentls` experimental capability, so the server streams each
---   turn as `agent/*` notifications, and shows them in the turn view: :AgentTurn
---   (a scratch split, turn_view.lua), :AgentTurnDiff (the turn's unified diff);
--- - maps keys only when `opts.keymaps` asks for them.
---
--- Options (all optional):
---   cmd             { 'agentls', '--stdio' }
---   settings        initializationOptions: the keys of docs/configuration.md,
---                   e.g. { provider = { kind = 'anthropic' }, approvals = { policy = 'untrusted' } }
---   root_markers    e.g. { '.git', '.agentls.toml' }: the root is the nearest
---                   directory above the file holding one; without (or if none is
---                   found), the current directory
---   progress        true: echo progress
---   reload_unchanged true: the FileChangedShell autocmd above
---   approval_prompt true: agentls asks with window/showMessageRequest (0.7: a
---                   blocking inputlist(), 0.10+: vim.ui.select); false: it only
---                   announces the approval, answer with :AgentApprove / :AgentDeny
---   keymaps         nil: none; true: the defaults below; or a table of some of them
---                   { actions = '<leader>aa', approve = '<leader>ay', deny = '<leader>an',
---                     stop = '<leader>as', undo = '<leader>au', review = '<leader>ar',
---                     apply = '<leader>ac', discard = '<leader>ax', turn = '<leader>at' }
---   turn_view       { auto_open = false, height = 15, output_lines = 10 }: open the
---                   turn view when a turn starts (without leaving your window), its
---                   height, the last lines of each command's output it shows
---   lsp             more client configuration, merged over the plugin's: on_attach,
---                   cmd_env, capabilities, handlers… (vim.lsp.start_client / vim.lsp.config)
---
--- For Neovim 0.7.2 (Debian 12) through 0.11 (tests/tests/neovim_plugin.rs runs
--- both), by feature detection: it uses vim.lsp.config and vim.lsp.enable where
--- they exist (0.11), else vim.lsp.start (0.8+), else start_client and
--- buf_attach_client; the LspProgress event (0.10+), else User
--- LspProgressUpdate; code action filters, ranges and explicit diagnostics from
--- 0.10; server requests run in a coroutine from 0.10, so the approval prompt can
--- wait for vim.ui.select there.

local M = {}

local NAME = 'agentls'
local PROGRESS_INTERVAL_MS = 200
-- The `kind` of the approval prompt given to vim.ui.select, for pickers that style it.
local APPROVAL_KIND = 'agentls.approval'
local uv = vim.uv or vim.loop
local turn_view = require('agentls.turn_view')

local DEFAULTS = {
  cmd = { 'agentls', '--stdio' },
  settings = nil,
  root_markers = nil,
  progress = true,
  reload_unchanged = true,
  approval_prompt = true,
  keymaps = nil,
  turn_view = {},
  lsp = {},
}

local DEFAULT_KEYMAPS = {
  actions = '<leader>aa',
  approve = '<leader>ay',
  deny = '<leader>an',
  stop = '<leader>as',
  undo = '<leader>au',
  review = '<leader>ar',
  apply = '<leader>ac',
  discard = '<leader>ax',
  turn = '<leader>at',
}

local COMMANDS = {
  approve = { 'AgentApprove', 'agentls.approve' },
  deny = { 'AgentDeny', 'agentls.deny' },
  stop = { 'AgentStop', 'agentls.stop' },
  undo = { 'AgentUndo', 'agentls.undo' },
  review = { 'AgentReview', 'agentls.reviewPending' },
  apply = { 'AgentApply', 'agentls.applyPending' },
  discard = { 'AgentDiscard', 'agentls.discardPending' },
}

local function clients()
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ name = NAME })
  end
  return vim.tbl_filter(function(client)
    return client.name == NAME
  end, vim.lsp.get_active_clients())
end

--- The client attached to the current buffer, else any agentls client.
local function current_client()
  local all = clients()
  for _, client in ipairs(all) do
    if vim.lsp.buf_is_attached(0, client.id) then
      return client
    end
  end
  return all[1]
end

local function root_for(bufnr, markers)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local dir = name ~= '' and vim.fn.fnamemodify(name, ':p:h') or nil
  while markers and dir do
    for _, marker in ipairs(markers) do
      if uv.fs_stat(dir .. '/' .. marker) then
        return dir
      end
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    dir = parent ~= dir and parent or nil
  end
  return vim.fn.getcwd()
end

--- window/showMessageRequest on 0.10+, where Neovim calls server requests' handlers
--- in a coroutine: the handler yields until the user picks in vim.ui.select, so the
--- editor never blocks. Neovim's own handler does this too, but falls back to the
--- blocking inputlist() outside a coroutine; this one answers with the announced
--- commands instead. Dismissing the prompt is a deny (vim.NIL).
local function ask_with_select(_, params)
  local co, is_main = coroutine.running()
  if not co or is_main then
    vim.notify('agentls: answer with :AgentApprove or :AgentDeny: ' .. params.message, vim.log.levels.WARN)
    return vim.NIL
  end
  vim.ui.select(params.actions or {}, {
    prompt = params.message,
    kind = APPROVAL_KIND,
    format_item = function(action)
      return action.title
    end,
  }, function(choice)
    -- A picker may answer before the yield below (vim.ui.select's default does).
    vim.schedule(function()
      coroutine.resume(co, choice or vim.NIL)
    end)
  end)
  return coroutine.yield()
end

local function client_config(opts)
  local config = vim.tbl_extend('force', {
    name = NAME,
    cmd = opts.cmd,
    -- 0.7 sends `settings` nowhere by itself: the configuration goes at initialize.
    init_options = opts.settings,
  }, opts.lsp)
  config.handlers = vim.tbl_extend('keep', config.handlers or {}, turn_view.handlers())
  if vim.fn.has('nvim-0.10') == 1 then
    config.handlers = vim.tbl_extend('keep', config.handlers, {
      ['window/showMessageRequest'] = ask_with_select,
    })
  end
  local on_exit = config.on_exit
  config.on_exit = function(...)
    turn_view.reset()
    if on_exit then
      return on_exit(...)
    end
  end
  -- `experimental.agentls`: the server sends the agent/* notifications.
  config.capabilities = vim.deepcopy(config.capabilities or vim.lsp.protocol.make_client_capabilities())
  config.capabilities.experimental = config.capabilities.experimental or {}
  config.capabilities.experimental.agentls = true
  if not opts.approval_prompt then
    -- Without window.showMessage the server never asks and waits for
    -- agentls.approve / agentls.deny. vim.NIL, not nil, in case Neovim merges
    -- these capabilities over its defaults.
    config.capabilities.window = config.capabilities.window or {}
    config.capabilities.window.showMessage = vim.NIL
  end
  return config
end

-- 0.7: the client started for each root.
local started = {}

local function attach(bufnr, opts)
  if vim.bo[bufnr].buftype ~= '' then
    return -- help, terminals, plugin windows
  end
  local config = client_config(opts)
  config.root_dir = root_for(bufnr, opts.root_markers)
  if vim.lsp.start then
    -- Reuses the client with the same name and root; 0.8/0.9 attach the current buffer.
    vim.api.nvim_buf_call(bufnr, function()
      vim.lsp.start(config, { bufnr = bufnr })
    end)
    return
  end
  local id = started[config.root_dir]
  if not id or vim.lsp.client_is_stopped(id) then
    id = vim.lsp.start_client(config)
    started[config.root_dir] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
end

local function start_clients(opts, group)
  if vim.lsp.config and vim.lsp.enable then
    local config = client_config(opts)
    config.root_dir = function(bufnr, on_dir)
      on_dir(root_for(bufnr, opts.root_markers))
    end
    -- No `filetypes`: enabled for every buffer with a file (its own buftype check).
    vim.lsp.config(NAME, config)
    vim.lsp.enable(NAME)
    if vim.v.vim_did_enter == 0 then
      -- enable() attaches the buffers already open only after VimEnter (setup
      -- from `-c`, `-S` or a plugin loaded during startup would miss them);
      -- vim.lsp.start reuses the client by name and root, as enable's does.
      for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
        if vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].filetype ~= '' then
          attach(bufnr, opts)
        end
      end
    end
    return
  end
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = '*',
    callback = function(args)
      attach(args.buf, opts)
    end,
  })
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.bo[bufnr].filetype ~= '' then
      attach(bufnr, opts)
    end
  end
end

--- Echoes the latest text given, at most once per PROGRESS_INTERVAL_MS; a text
--- given sooner waits, and is replaced by any newer one meanwhile.
local function throttled_echo()
  local pending, scheduled, last = nil, false, -math.huge
  local function flush()
    scheduled = false
    if pending then
      vim.api.nvim_echo({ { pending } }, false, {})
      last, pending = uv.now(), nil
    end
  end
  return function(text)
    pending = text
    if scheduled then
      return
    end
    local wait = last + PROGRESS_INTERVAL_MS - uv.now()
    if wait <= 0 then
      flush()
    else
      scheduled = true
      vim.defer_fn(flush, wait)
    end
  end
end

local function describe(title, message, percentage, done)
  local text = string.format('%s: %s', title, message or (done and 'done' or ''))
  if percentage then
    text = string.format('%s (%d%%)', text, percentage)
  end
  return text
end

local function show_progress(group)
  local echo = throttled_echo()
  if vim.fn.exists('##LspProgress') == 1 then
    -- 0.10+: the event says which client and token; only `begin` carries the title.
    local titles = {}
    vim.api.nvim_create_autocmd('LspProgress', {
      group = group,
      callback = function(args)
        local client = vim.lsp.get_client_by_id(args.data.client_id)
        local value = args.data.params.value
        if not client or client.name ~= NAME or type(value) ~= 'table' then
          return
        end
        local key = client.id .. ':' .. tostring(args.data.params.token)
        if value.kind == 'begin' then
          titles[key] = value.title
        end
        echo(describe(titles[key] or NAME, value.message, value.percentage, value.kind == 'end'))
        if value.kind == 'end' then
          titles[key] = nil
        end
      end,
    })
    return
  end
  -- 0.7–0.9: the event says nothing; each client keeps the latest state per token
  -- (done ones until get_progress_messages() takes them), so echo what changed.
  local shown = {}
  vim.api.nvim_create_autocmd('User', {
    group = group,
    pattern = 'LspProgressUpdate',
    callback = function()
      for _, client in ipairs(clients()) do
        for token, progress in pairs(client.messages.progress) do
          if progress.title then
            local text = describe(progress.title, progress.message, progress.percentage, progress.done)
            local key = client.id .. ':' .. tostring(token)
            if shown[key] ~= text then
              shown[key] = text
              echo(text)
            end
          end
        end
      end
    end,
  })
end

local function reload_unchanged(group)
  vim.api.nvim_create_autocmd('FileChangedShell', {
    group = group,
    callback = function(args)
      local same = vim.fn.filereadable(args.file) == 1
        and vim.deep_equal(vim.fn.readfile(args.file), vim.api.nvim_buf_get_lines(args.buf, 0, -1, true))
      vim.v.fcs_choice = same and 'reload' or 'ask'
    end,
  })
end

--- workspace/executeCommand `command`, no arguments: the server answers
--- agentls.approve / agentls.deny with the latest pending approval (and
--- agentls.applyPending / agentls.discardPending with the latest pending change),
--- and says what it did with window/showMessage, so the reply itself is dropped.
local function execute(command)
  local client = current_client()
  if not client then
    vim.notify('agentls is not running: open a file first', vim.log.levels.WARN)
    return
  end
  local bufnr = vim.api.nvim_get_current_buf()
  local function ignore() end
  if client.exec_cmd then -- 0.11
    client:exec_cmd({ title = command, command = command }, { bufnr = bufnr }, ignore)
  else
    client.request('workspace/executeCommand', { command = command }, ignore, bufnr)
  end
end

--- A command's range as code action positions ({line, col}, 1-based lines): the
--- visual selection when the range is its lines, else whole lines.
local function command_range(command)
  if command.range == 0 then
    return nil
  end
  local first, last = vim.api.nvim_buf_get_mark(0, '<'), vim.api.nvim_buf_get_mark(0, '>')
  if first[1] ~= command.line1 or last[1] ~= command.line2 then
    first, last = { command.line1, 0 }, { command.line2, math.huge }
  end
  -- Linewise visual mode puts '> at v:maxcol.
  last[2] = math.min(last[2], #vim.fn.getline(last[1]))
  return first, last
end

--- A vim.diagnostic diagnostic as LSP's Diagnostic. Columns stay bytes: agentls
--- negotiates UTF-8 positions with Neovim.
local function lsp_diagnostic(diagnostic)
  if diagnostic.user_data and diagnostic.user_data.lsp then
    return diagnostic.user_data.lsp
  end
  return {
    range = {
      start = { line = diagnostic.lnum, character = diagnostic.col },
      ['end'] = { line = diagnostic.end_lnum or diagnostic.lnum, character = diagnostic.end_col or diagnostic.col },
    },
    -- vim.diagnostic.severity and LSP's DiagnosticSeverity share their numbers.
    severity = diagnostic.severity,
    message = diagnostic.message,
    source = diagnostic.source,
    code = diagnostic.code,
  }
end

--- Every diagnostic on lines `first` to `last` (1-based), from every source. 0.10+
--- code_action() sends each client only the diagnostics of its own namespaces, and
--- agentls publishes none: without these it never sees a linter's or another
--- server's diagnostic, and offers no "Fix this".
local function diagnostics_on(bufnr, first, last)
  local found = {}
  for lnum = first - 1, last - 1 do
    for _, diagnostic in ipairs(vim.diagnostic.get(bufnr, { lnum = lnum })) do
      table.insert(found, lsp_diagnostic(diagnostic))
    end
  end
  return found
end

local function code_actions(command)
  local first, last = command_range(command)
  if vim.fn.has('nvim-0.10') == 1 then
    local cursor = vim.api.nvim_win_get_cursor(0)[1]
    vim.lsp.buf.code_action({
      context = { diagnostics = diagnostics_on(0, first and first[1] or cursor, last and last[1] or cursor) },
      filter = function(action)
        return action.title:find('^Agent: ') ~= nil
      end,
      range = first and { start = first, ['end'] = last } or nil,
    })
  elseif first then
    vim.lsp.buf.range_code_action(nil, first, last)
  else
    -- 0.7 cannot filter: other servers' actions are listed too.
    vim.lsp.buf.code_action()
  end
end

local function create_commands()
  vim.api.nvim_create_user_command('AgentActions', code_actions, {
    range = true,
    desc = 'agentls: the Agent: code actions here',
  })
  for _, entry in pairs(COMMANDS) do
    local name, command = entry[1], entry[2]
    vim.api.nvim_create_user_command(name, function()
      execute(command)
    end, { desc = 'agentls: ' .. command })
  end
  vim.api.nvim_create_user_command('AgentTurn', function()
    turn_view.open(true)
  end, { desc = 'agentls: the streamed turn view' })
  vim.api.nvim_create_user_command('AgentTurnDiff', function()
    turn_view.diff(nil)
  end, { desc = "agentls: the latest turn's unified diff" })
end

local function set_keymaps(keymaps)
  for action, lhs in pairs(keymaps == true and DEFAULT_KEYMAPS or keymaps) do
    local name = action == 'actions' and 'AgentActions' or action == 'turn' and 'AgentTurn'
      or (COMMANDS[action] or {})[1]
    if not name then
      local known = vim.tbl_keys(DEFAULT_KEYMAPS)
      table.sort(known)
      vim.notify(string.format('agentls: unknown keymap %q (known: %s)', action, table.concat(known, ', ')),
        vim.log.levels.WARN)
    elseif lhs then
      -- In visual mode the `:` brings the selection as the range.
      local modes = action == 'actions' and { 'n', 'x' } or 'n'
      vim.keymap.set(modes, lhs, ':' .. name .. '<CR>', { silent = true, desc = 'agentls: ' .. name })
    end
  end
end

function M.setup(opts)
  opts = vim.tbl_extend('force', DEFAULTS, opts or {})
  vim.validate({
    cmd = { opts.cmd, 't' },
    settings = { opts.settings, 't', true },
    root_markers = { opts.root_markers, 't', true },
    keymaps = { opts.keymaps, { 'b', 't' }, true },
    turn_view = { opts.turn_view, 't' },
    lsp = { opts.lsp, 't' },
  })
  if vim.fn.executable(opts.cmd[1]) == 0 then
    vim.notify(string.format('agentls: %s is not executable: install agentls '
      .. '(`cargo install --path lsp --locked`) or set `cmd`', opts.cmd[1]), vim.log.levels.WARN)
  end
  -- Calling setup again replaces the autocmds; running clients stay.
  local group = vim.api.nvim_create_augroup('agentls', { clear = true })
  start_clients(opts, group)
  if opts.progress then
    show_progress(group)
  end
  if opts.reload_unchanged then
    reload_unchanged(group)
  end
  turn_view.configure(opts.turn_view)
  create_commands()
  if opts.keymaps then
    set_keymaps(opts.keymaps)
  end
end

return M
