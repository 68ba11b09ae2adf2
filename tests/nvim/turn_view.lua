-- The streamed turn view of the plugin: setup with `turn_view = { auto_open =
-- true, … }`, "Agent: Fix this" picked from :AgentActions; the view opens by
-- itself in a split when the turn starts (the cursor stays in the source
-- window) and fills in as the agent/* notifications stream: the approval waiting,
-- then (after :AgentApprove) the command with its output, the edit, the answer.
-- Then :AgentTurn goes to the split, `d` on the edit opens its diff, and
-- :AgentTurnDiff the turn's.
--
-- Environment, besides plugin_harness.lua's:
--   AGENTLS_TEST_FILE        the file to open (src/lib.rs of the workspace)
--   AGENTLS_TEST_DIAGNOSTIC  a diagnostic on the bug, as JSON (vim.diagnostic's 0-based form)

local here = debug.getinfo(1, 'S').source:sub(2):match('(.*/)')
local h = dofile(here .. 'plugin_harness.lua')

-- The view's buffer: the one named agentls://turn.
local function view_buffer()
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(bufnr) == 'agentls://turn' then
      return bufnr
    end
  end
  return nil
end

local function view_lines()
  local bufnr = view_buffer()
  return bufnr and vim.api.nvim_buf_get_lines(bufnr, 0, -1, true) or {}
end

-- Whether a line of the view starts with `prefix`.
local function view_has(prefix)
  for _, line in ipairs(view_lines()) do
    if line:sub(1, #prefix) == prefix then
      return true
    end
  end
  return false
end

local function windows_of(bufnr)
  return vim.tbl_filter(function(win)
    return vim.api.nvim_win_get_buf(win) == bufnr
  end, vim.api.nvim_list_wins())
end

h.run(function()
  local file = h.env('AGENTLS_TEST_FILE')
  vim.cmd('cd ' .. vim.fn.fnameescape(h.env('AGENTLS_TEST_WORKSPACE')))
  local agentls = h.load_plugin()
  agentls.setup({
    cmd = { h.env('AGENTLS_TEST_BIN'), '--stdio', '--log-file', h.env('AGENTLS_TEST_LOG') },
    settings = vim.json.decode(h.env('AGENTLS_TEST_INIT_OPTIONS')),
    approval_prompt = false,
    turn_view = { auto_open = true, height = 12, output_lines = 5 },
    lsp = { on_exit = h.on_exit },
  })
  h.report.commands = {
    AgentTurn = vim.fn.exists(':AgentTurn') == 2,
    AgentTurnDiff = vim.fn.exists(':AgentTurnDiff') == 2,
  }

  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local source = vim.api.nvim_get_current_buf()
  local source_win = vim.api.nvim_get_current_win()
  local client = h.wait_attached(source)
  h.report.experimental = client.config.capabilities.experimental or vim.NIL
  h.report.server_experimental = (client.server_capabilities or {}).experimental or vim.NIL

  local diagnostic = vim.json.decode(h.env('AGENTLS_TEST_DIAGNOSTIC'))
  diagnostic.severity = vim.diagnostic.severity.ERROR
  vim.diagnostic.set(vim.api.nvim_create_namespace('agentls-test-linter'), source, { diagnostic })
  vim.api.nvim_win_set_cursor(0, { diagnostic.lnum + 1, diagnostic.col })

  local mark = h.mark()
  local answers = #h.report.execute_command
  h.pick_code_action = 'Agent: Fix this'
  vim.cmd('AgentActions')
  h.wait('the answer to the command of "Agent: Fix this"', 15000, function()
    return #h.report.execute_command > answers
  end)

  -- The view opened by itself and shows the approval the turn waits for.
  h.wait('the turn view to show the approval waiting', 20000, function()
    return view_has('## Approval 1: run `mkdir -v scratch` — waiting')
  end)
  local view = view_buffer()
  h.report.lines_waiting = view_lines()
  h.report.auto_opened = #windows_of(view) == 1
  h.report.cursor_stayed = vim.api.nvim_get_current_win() == source_win
  h.report.view_height = vim.api.nvim_win_get_height(windows_of(view)[1])
  h.report.buftype = vim.bo[view].buftype
  h.report.filetype = vim.bo[view].filetype
  h.report.modifiable = vim.bo[view].modifiable

  vim.cmd('AgentApprove')
  h.wait('the task to end', 40000, function()
    return h.task_ended(mark)
  end)
  h.wait('the turn view to show the end of the turn', 5000, function()
    return view_has('## Done')
  end)
  h.report.lines_done = view_lines()

  -- :AgentTurn goes to the split; `d` on the edit opens its diff.
  vim.cmd('AgentTurn')
  h.report.agent_turn_focused = vim.api.nvim_get_current_buf() == view
  h.report.windows_after_agent_turn = #windows_of(view)
  local edit_line
  for index, line in ipairs(vim.api.nvim_buf_get_lines(view, 0, -1, true)) do
    if line:find('^## Edit ') then
      edit_line = index
    end
  end
  if not edit_line then
    error('no "## Edit" line in the view: ' .. vim.inspect(view_lines()), 0)
  end
  vim.api.nvim_win_set_cursor(0, { edit_line, 0 })
  vim.cmd('normal d')
  local diff = vim.api.nvim_get_current_buf()
  h.report.edit_diff = {
    name = vim.api.nvim_buf_get_name(diff),
    filetype = vim.bo[diff].filetype,
    buftype = vim.bo[diff].buftype,
    lines = vim.api.nvim_buf_get_lines(diff, 0, -1, true),
  }
  vim.cmd('close')

  vim.api.nvim_set_current_win(source_win)
  vim.cmd('AgentTurnDiff')
  local turn_diff = vim.api.nvim_get_current_buf()
  h.report.turn_diff = {
    name = vim.api.nvim_buf_get_name(turn_diff),
    filetype = vim.bo[turn_diff].filetype,
    lines = vim.api.nvim_buf_get_lines(turn_diff, 0, -1, true),
  }
  h.report.buffer_after = h.buffer_text(source)
  h.report.messages = h.messages()
end)
