-- Agent tasks driven through the plugin's commands: "Agent: Fix this" picked from
-- :AgentActions, the command it asks to run answered with :AgentApprove or
-- :AgentDeny (setup with `approval_prompt = false`, so no prompt answers first) or
-- with the prompt, and :AgentUndo or :AgentStop after. The user watches the echoed
-- progress and the message area.
--
-- Environment, besides plugin_harness.lua's:
--   AGENTLS_TEST_FILE        the file to open (src/lib.rs of the workspace)
--   AGENTLS_TEST_DIAGNOSTIC  a diagnostic on the bug, as JSON (vim.diagnostic's 0-based form)
--   AGENTLS_TEST_FLOW        "approve": approve, then :checktime, :write and :AgentUndo;
--                            "deny_then_stop": deny, then a second task stopped with :AgentStop;
--                            "prompt": `approval_prompt = true`, "Allow" picked in the prompt;
--                            "review": `approvals.edits = "review"`, the change announced
--                            and applied with "Agent: Apply change to src/lib.rs" from
--                            :AgentActions

local here = debug.getinfo(1, 'S').source:sub(2):match('(.*/)')
local h = dofile(here .. 'plugin_harness.lua')

-- Picks the code action titled `title` from :AgentActions and waits until the
-- server took it.
local function pick(title)
  local menus, answers = #h.report.code_actions, #h.report.execute_command
  h.pick_code_action = title
  vim.cmd('AgentActions')
  h.wait('the code action menu', 15000, function()
    return #h.report.code_actions > menus
  end)
  local menu = h.report.code_actions[menus + 1]
  if not vim.tbl_contains(menu.titles, title) then
    error('"' .. title .. '" is not among the code actions: ' .. vim.inspect(menu.titles), 0)
  end
  h.wait('the answer to the command of "' .. title .. '"', 15000, function()
    return #h.report.execute_command > answers
  end)
  local answer = h.report.execute_command[answers + 1]
  if answer.error ~= vim.NIL then
    error('"' .. title .. '" failed: ' .. vim.inspect(answer.error), 0)
  end
end

-- Picks "Agent: Fix this" from :AgentActions and waits until the server took it.
local function fix_this(bufnr)
  pick('Agent: Fix this')
  return vim.bo[bufnr].modified
end

-- Waits for the approval the way a user notices it: the echoed progress line and
-- the announcement in the message area.
local function wait_for_approval(echoes, messages)
  h.wait('the echoed progress to say it waits for approval', 20000, function()
    return h.echoed_since(echoes, 'waiting for approval to run')
  end)
  h.wait('the approval to be announced', 20000, function()
    return h.shown_since(messages, 'agentls.approve')
  end)
end

local function wait_for_end(mark, echoes, last_word)
  h.wait('the task to end', 40000, function()
    return h.task_ended(mark)
  end)
  h.wait('the echoed progress to say ' .. last_word, 5000, function()
    return h.echoed_since(echoes, 'Agent: Fix this: ' .. last_word)
  end)
end

h.run(function()
  local file = h.env('AGENTLS_TEST_FILE')
  -- Below the root, so that only root_markers can find it.
  vim.cmd('cd ' .. vim.fn.fnameescape(vim.fn.fnamemodify(file, ':h')))
  local agentls = h.load_plugin()
  agentls.setup({
    cmd = { h.env('AGENTLS_TEST_BIN'), '--stdio', '--log-file', h.env('AGENTLS_TEST_LOG') },
    settings = vim.json.decode(h.env('AGENTLS_TEST_INIT_OPTIONS')),
    root_markers = { 'Cargo.toml' },
    approval_prompt = h.env('AGENTLS_TEST_FLOW') == 'prompt',
    lsp = { on_exit = h.on_exit },
  })

  vim.cmd('edit ' .. vim.fn.fnameescape(file))
  local bufnr = vim.api.nvim_get_current_buf()
  local client = h.wait_attached(bufnr)
  h.report.root_dir = client.config.root_dir
  h.report.buffer_before = h.buffer_text(bufnr)

  local diagnostic = vim.json.decode(h.env('AGENTLS_TEST_DIAGNOSTIC'))
  diagnostic.severity = vim.diagnostic.severity.ERROR
  vim.diagnostic.set(vim.api.nvim_create_namespace('agentls-test-linter'), bufnr, { diagnostic })
  vim.api.nvim_win_set_cursor(0, { diagnostic.lnum + 1, diagnostic.col })

  local flow = h.env('AGENTLS_TEST_FLOW')
  local mark, echoes = h.mark(), #h.report.echoed
  fix_this(bufnr)
  if flow == 'review' then
    h.wait('the change to be announced for review', 20000, function()
      return h.shown_since(mark, 'it waits for your review')
    end)
    h.report.buffer_while_pending = h.buffer_text(bufnr)
    pick('Agent: Apply change to src/lib.rs')
    wait_for_end(mark, echoes, 'done')
    h.report.buffer_after = h.buffer_text(bufnr)
    h.report.messages = h.messages()
    return
  end
  if flow == 'prompt' then
    h.wait('the approval prompt', 20000, function()
      return #h.report.show_message_request > 0
    end)
    wait_for_end(mark, echoes, 'done')
    h.report.buffer_after = h.buffer_text(bufnr)
    h.report.messages = h.messages()
    return
  end
  wait_for_approval(echoes, mark)
  if flow == 'approve' then
    vim.cmd('AgentApprove')
  else
    vim.cmd('AgentDeny')
  end
  wait_for_end(mark, echoes, 'done')
  h.report.buffer_after = h.buffer_text(bufnr)
  h.report.messages_after_task = h.messages()

  if flow == 'approve' then
    -- The fix waits in the modified buffer; the disk is as saved, so
    -- :checktime finds nothing changed behind Neovim's back and :write saves
    -- without asking.
    h.report.disk_before_write = h.read_file(file)
    h.report.modified_before_write = vim.bo[bufnr].modified
    vim.cmd('checktime ' .. bufnr)
    vim.cmd('write')
    h.report.disk_after_write = h.read_file(file)

    mark = h.mark()
    vim.cmd('AgentUndo')
    h.wait('the undo to be reported', 20000, function()
      return h.shown_since(mark, 'agentls: undid')
    end)
    h.report.buffer_after_undo = h.buffer_text(bufnr)
  else
    -- A second task whose model never answers, stopped from the command line.
    mark, echoes = h.mark(), #h.report.echoed
    fix_this(bufnr)
    h.wait('the echoed progress to say the agent is thinking', 20000, function()
      return h.echoed_since(echoes, 'Agent: Fix this: thinking')
    end)
    vim.cmd('AgentStop')
    wait_for_end(mark, echoes, 'stopped')
  end
  h.report.messages = h.messages()
end)
