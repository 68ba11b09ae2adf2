-- "Agent: Fix this" in Neovim, the way a user runs it: a linter's diagnostic on
-- the buggy line, the cursor on it, `:lua vim.lsp.buf.code_action()`, pick the
-- action, allow the command the agent asks to run, and wait for the turn to end.
--
-- Environment, besides harness.lua's:
--   AGENTLS_TEST_FILE        the file to open
--   AGENTLS_TEST_DIAGNOSTIC  the diagnostic, as JSON: {lnum, col, end_lnum, end_col, message, source}
--                            (0-based, as vim.diagnostic takes it)
--   AGENTLS_TEST_THEN_UNDO   "1": after saving, run "Agent: Undo last agent change"

local here = debug.getinfo(1, 'S').source:sub(2):match('(.*/)')
local harness = dofile(here .. 'harness.lua')

harness.run(function(h)
  vim.cmd('edit ' .. vim.fn.fnameescape(h.env('AGENTLS_TEST_FILE')))
  local bufnr = vim.api.nvim_get_current_buf()
  h.report.buffer_before = h.buffer_text(bufnr)

  h.start_agentls(bufnr)

  -- A diagnostic from some other source (a linter, a test runner): 0.7's
  -- code_action() sends every diagnostic on the cursor's line, whatever its
  -- namespace.
  local diagnostic = vim.json.decode(h.env('AGENTLS_TEST_DIAGNOSTIC'))
  diagnostic.severity = vim.diagnostic.severity.ERROR
  vim.diagnostic.set(vim.api.nvim_create_namespace('agentls-test-linter'), bufnr, { diagnostic })
  vim.api.nvim_win_set_cursor(0, { diagnostic.lnum + 1, diagnostic.col })

  local mark = h.mark()
  h.code_action('Agent: Fix this')
  h.wait('the task to end (progress end, then a message; or an error message)', 40000, function()
    return h.task_ended(mark)
  end)

  h.report.buffer_after = h.buffer_text(bufnr)
  h.report.buffer_modified = vim.api.nvim_buf_get_option(bufnr, 'modified')
  h.report.disk_after = h.read_file(h.env('AGENTLS_TEST_FILE'))

  -- The fix is in the buffer only (modified); the disk is as the user saved it,
  -- so Neovim finds nothing changed behind its back: FileChangedShell must not
  -- fire on :checktime (it would mean a write behind the editor), and :write
  -- saves without asking.
  h.report.file_changed_shell = vim.NIL
  h.report.saved = false
  vim.api.nvim_create_autocmd('FileChangedShell', {
    callback = function(args)
      h.report.file_changed_shell = { reason = vim.v.fcs_reason }
      vim.v.fcs_choice = ''
    end,
  })
  vim.cmd('checktime ' .. bufnr)
  if h.report.file_changed_shell == vim.NIL then
    -- Not otherwise: :write would block on its (y/n) question.
    vim.cmd('write')
    h.report.saved = true
  end
  h.report.buffer_saved = h.buffer_text(bufnr)
  h.report.disk_saved = h.read_file(h.env('AGENTLS_TEST_FILE'))

  if os.getenv('AGENTLS_TEST_THEN_UNDO') == '1' then
    -- Take it back: the server reverts the turn's hunks with an edit of its own
    -- and says what it did.
    mark = h.mark()
    h.code_action('Agent: Undo last agent change')
    h.wait('the undo to be reported', 20000, function()
      return #h.report.show_message > mark
    end)
    h.report.buffer_after_undo = h.buffer_text(bufnr)
    h.report.disk_after_undo = h.read_file(h.env('AGENTLS_TEST_FILE'))
    vim.cmd('checktime ' .. bufnr)
    if h.report.file_changed_shell == vim.NIL then
      vim.cmd('write')
      h.report.disk_after_undo_saved = h.read_file(h.env('AGENTLS_TEST_FILE'))
    end
  end
end)
