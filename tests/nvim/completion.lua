-- Inline completions as completion items in Neovim (0.7 to 0.11 have no
-- textDocument/inlineCompletion): start agentls as docs/editors/neovim.md says,
-- ask `textDocument/completion` at the cursor the way the LSP client does for
-- omnifunc and completion plugins, and accept the item (apply its textEdit, as
-- completing it does).
--
-- Environment, besides harness.lua's:
--   AGENTLS_TEST_FILE   the file to open; the cursor goes after `su` on line 2

local here = debug.getinfo(1, 'S').source:sub(2):match('(.*/)')
local harness = dofile(here .. 'harness.lua')

harness.run(function(h)
  vim.cmd('edit ' .. vim.fn.fnameescape(h.env('AGENTLS_TEST_FILE')))
  local bufnr = vim.api.nvim_get_current_buf()
  local client = h.start_agentls(bufnr)
  h.report.completion_provider = client.server_capabilities.completionProvider ~= nil
  h.report.inline_completion_provider = client.server_capabilities.inlineCompletionProvider ~= nil

  vim.api.nvim_win_set_cursor(0, { 2, 6 })
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    position = { line = 1, character = 6 },
  }
  local responses = vim.lsp.buf_request_sync(bufnr, 'textDocument/completion', params, 15000)
  local items = {}
  for _, response in pairs(responses or {}) do
    if response.err then
      error('textDocument/completion failed: ' .. vim.inspect(response.err), 0)
    end
    local result = response.result or {}
    for _, item in ipairs(result.items or result) do
      table.insert(items, item)
    end
  end
  h.report.items = items
  if #items == 0 then
    error('no completion item', 0)
  end
  -- What the client does on accepting the item.
  vim.lsp.util.apply_text_edits({ items[1].textEdit }, bufnr, 'utf-16')
  h.report.buffer_after = h.buffer_text(bufnr)
end)
