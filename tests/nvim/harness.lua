-- What every headless Neovim scenario in tests/nvim/ shares: start agentls the way
-- docs/editors/neovim.md tells a Neovim 0.7 user to, stand in for the user where
-- Neovim would ask them (showMessageRequest's inputlist, vim.ui.select), record
-- everything the server shows, and leave a JSON report for the Rust test to judge.
--
-- Environment (set by tests/src/neovim.rs):
--   AGENTLS_TEST_BIN          the agentls binary
--   AGENTLS_TEST_LOG          agentls's log file (--log-file)
--   AGENTLS_TEST_REPORT       where the JSON report goes
--   AGENTLS_TEST_WORKSPACE    the workspace root
--   AGENTLS_TEST_INIT_OPTIONS initializationOptions, as JSON
--
-- A scenario calls `harness.run(function(h) ... end)`: an error (a failed wait, a
-- Lua error) ends up in the report's `error` and Neovim exits with status 1; the
-- report is written either way.

local M = {}

M.report = {
  nvim_version = tostring(vim.version().major) .. '.' .. vim.version().minor .. '.' .. vim.version().patch,
  error = vim.NIL,
  -- in arrival order, every message the server showed or asked, and what Neovim did
  show_message = {},
  show_message_request = {},
  apply_edit = {},
  progress = {},
  execute_command = {},
  notify = {},
  code_actions = {},
  agentls_exit = vim.NIL,
}

-- How `window/showMessageRequest` is answered: the title of the action to pick
-- (as a user would type its number into 0.7's inputlist), or nil to dismiss it.
M.answer_approval_with = 'Allow'
-- Which code action `vim.ui.select` picks, by title.
M.pick_code_action = nil

function M.env(name)
  local value = os.getenv(name)
  if value == nil or value == '' then
    error('the environment variable ' .. name .. ' is not set: run this script from tests/src/neovim.rs', 0)
  end
  return value
end

-- Waits for `condition`, processing Neovim's events meanwhile; fails with a message
-- naming `what` after `timeout_ms`, or at once if agentls exits.
function M.wait(what, timeout_ms, condition)
  local met = vim.wait(timeout_ms, function()
    return condition() or M.report.agentls_exit ~= vim.NIL
  end, 20)
  if condition() then
    return
  end
  if M.report.agentls_exit ~= vim.NIL then
    error(string.format('agentls exited (%s) while Neovim waited for %s', vim.inspect(M.report.agentls_exit), what), 0)
  end
  if not met then
    error(string.format('timed out after %d ms waiting for %s', timeout_ms, what), 0)
  end
end

local function install_handlers()
  local handlers = vim.lsp.handlers

  local show_message = handlers['window/showMessage']
  handlers['window/showMessage'] = function(err, params, ctx, config)
    table.insert(M.report.show_message, { type = params.type, message = params.message })
    return show_message(err, params, ctx, config)
  end

  -- 0.7's own handler calls inputlist(), which blocks until someone types a number.
  -- Pick the action the way that user would, and remember what was asked (a
  -- client's own handler, as the plugin's on 0.10+, comes before this one).
  handlers['window/showMessageRequest'] = function(_, params)
    local titles = {}
    local chosen = vim.NIL
    for _, action in ipairs(params.actions or {}) do
      table.insert(titles, action.title)
      if action.title == M.answer_approval_with then
        chosen = action
      end
    end
    table.insert(M.report.show_message_request, {
      type = params.type,
      message = params.message,
      actions = titles,
      answered = chosen == vim.NIL and vim.NIL or chosen.title,
      prompt = 'inputlist',
    })
    return chosen
  end

  local apply_edit = handlers['workspace/applyEdit']
  handlers['workspace/applyEdit'] = function(err, params, ctx, config)
    local result = apply_edit(err, params, ctx, config)
    table.insert(M.report.apply_edit, { params = params, result = result })
    return result
  end

  local progress = handlers['$/progress']
  handlers['$/progress'] = function(err, params, ctx, config)
    table.insert(M.report.progress, params)
    -- Only a turn's progress says a task ended (the index has its own).
    local is_turn = type(params.token) == 'string' and params.token:find('^agentls/turn/') ~= nil
    if is_turn and type(params.value) == 'table' and params.value.kind == 'end' then
      M.messages_before_progress_end = #M.report.show_message
    end
    return progress(err, params, ctx, config)
  end

  -- What Neovim does with executeCommand's answer when the code action ran it
  -- (it passes no handler of its own).
  handlers['workspace/executeCommand'] = function(err, result, ctx)
    table.insert(M.report.execute_command, {
      command = ctx.params and ctx.params.command or vim.NIL,
      error = err or vim.NIL,
      result = result == nil and vim.NIL or result,
    })
  end

  local notify = vim.notify
  vim.notify = function(message, level, opts)
    table.insert(M.report.notify, { message = message, level = level or vim.NIL })
    return notify(message, level, opts)
  end

  -- The code action menu: 0.7's default is inputlist() too. Pick by title, as a
  -- user would, and record the menu. The plugin's approval prompt on 0.10+ comes
  -- here too (kind 'agentls.approval'): it is answered with `answer_approval_with`.
  vim.ui.select = function(items, opts, on_choice)
    if opts.kind == 'agentls.approval' then
      local titles, chosen = {}, nil
      for _, item in ipairs(items) do
        table.insert(titles, item.title)
        if item.title == M.answer_approval_with and chosen == nil then
          chosen = item
        end
      end
      table.insert(M.report.show_message_request, {
        message = opts.prompt,
        actions = titles,
        answered = chosen and chosen.title or vim.NIL,
        prompt = 'vim.ui.select',
      })
      on_choice(chosen, nil)
      return
    end
    local menu = {}
    local chosen = nil
    for index, item in ipairs(items) do
      local title = opts.format_item and opts.format_item(item) or tostring(item)
      table.insert(menu, title)
      if title == M.pick_code_action and chosen == nil then
        chosen = index
      end
    end
    table.insert(M.report.code_actions, { kind = opts.kind or vim.NIL, titles = menu, picked = M.pick_code_action or vim.NIL })
    if chosen then
      on_choice(items[chosen], chosen)
    else
      on_choice(nil, nil)
    end
  end
end

-- Starts agentls for `root` and attaches it to `bufnr`, as docs/editors/neovim.md
-- does for 0.7; returns the client once initialized.
function M.start_agentls(bufnr)
  local initialized = false
  local client_id = vim.lsp.start_client({
    name = 'agentls',
    cmd = { M.env('AGENTLS_TEST_BIN'), '--stdio', '--log-file', M.env('AGENTLS_TEST_LOG') },
    root_dir = M.env('AGENTLS_TEST_WORKSPACE'),
    init_options = vim.json.decode(M.env('AGENTLS_TEST_INIT_OPTIONS')),
    on_init = function()
      initialized = true
    end,
    on_exit = function(code, signal)
      M.report.agentls_exit = { code = code, signal = signal }
    end,
  })
  if not client_id then
    error('vim.lsp.start_client did not start agentls', 0)
  end
  vim.lsp.buf_attach_client(bufnr, client_id)
  M.wait('agentls to answer initialize', 15000, function()
    return initialized
  end)
  return vim.lsp.get_client_by_id(client_id)
end

-- Runs the code action titled `title` at the cursor the way a user does
-- (`:lua vim.lsp.buf.code_action()`, then picking it from the menu) and waits
-- for the server to answer the command Neovim sends for it.
function M.code_action(title, context)
  local menus, notes, answers = #M.report.code_actions, #M.report.notify, #M.report.execute_command
  M.pick_code_action = title
  vim.lsp.buf.code_action(context)
  M.wait('the code action menu (or "No code actions available")', 15000, function()
    return #M.report.code_actions > menus or #M.report.notify > notes
  end)
  local menu = M.report.code_actions[menus + 1]
  if not menu or not vim.tbl_contains(menu.titles, title) then
    error(string.format('"%s" is not among the code actions: %s; notifications: %s',
      title, vim.inspect(menu and menu.titles), vim.inspect(M.report.notify)), 0)
  end
  M.wait('the answer to executeCommand', 15000, function()
    return #M.report.execute_command > answers
  end)
  local answer = M.report.execute_command[answers + 1]
  if answer.error ~= vim.NIL then
    error('workspace/executeCommand failed: ' .. vim.inspect(answer.error), 0)
  end
  return answer
end

-- How many messages have been shown so far: pass it to `task_ended`.
function M.mark()
  return #M.report.show_message
end

-- Whether a task started after `mark` is over, as a Neovim user learns it: an
-- error message, or the message the server sends after ending the turn's
-- progress (0.7 shows no progress, so that message is what tells the user).
function M.task_ended(mark)
  for index = mark + 1, #M.report.show_message do
    if M.report.show_message[index].type == vim.lsp.protocol.MessageType.Error then
      return true
    end
  end
  return M.messages_before_progress_end ~= nil
    and M.messages_before_progress_end >= mark
    and #M.report.show_message > M.messages_before_progress_end
end

function M.buffer_text(bufnr)
  local lines = vim.api.nvim_buf_get_lines(bufnr, 0, -1, true)
  local text = table.concat(lines, '\n')
  if vim.bo[bufnr].eol then
    text = text .. '\n'
  end
  return text
end

function M.read_file(path)
  local file = io.open(path, 'rb')
  if not file then
    return vim.NIL
  end
  local text = file:read('*a')
  file:close()
  return text
end

local function write_report()
  local file = assert(io.open(M.env('AGENTLS_TEST_REPORT'), 'wb'))
  file:write(vim.json.encode(M.report))
  file:close()
end

function M.run(scenario)
  local ok, err = xpcall(function()
    install_handlers()
    scenario(M)
  end, function(message)
    return debug.traceback(tostring(message), 2)
  end)
  if not ok then
    M.report.error = err
  end
  local written, write_error = pcall(write_report)
  if not written then
    io.stderr:write('cannot write the report: ' .. tostring(write_error) .. '\n')
  end
  if ok and written then
    vim.cmd('qall!')
  else
    vim.cmd('cquit 1')
  end
end

return M
