-- What the scenarios of the Neovim plugin (editors/neovim, tests/nvim/plugin_*.lua)
-- add to harness.lua: the plugin directory on 'runtimepath' as a user adds it, a
-- record of what it echoes, and ways to look at the clients and buffers the way a
-- user would (`:messages`, which clients a buffer has).
--
-- Environment, besides harness.lua's:
--   AGENTLS_TEST_PLUGIN   the plugin directory (editors/neovim)

local here = debug.getinfo(1, 'S').source:sub(2):match('(.*/)')
local h = dofile(here .. 'harness.lua')

h.report.echoed = {}

-- Everything echoed from Lua (the plugin's progress lines), with the loop time in
-- ms. Installed before the plugin loads; the plugin looks nvim_echo up per call.
function h.record_echoes()
  local echo = vim.api.nvim_echo
  vim.api.nvim_echo = function(chunks, history, opts)
    local text = {}
    for _, chunk in ipairs(chunks) do
      table.insert(text, chunk[1])
    end
    table.insert(h.report.echoed, { text = table.concat(text), at = vim.loop.now() })
    return echo(chunks, history, opts)
  end
end

function h.load_plugin()
  vim.opt.runtimepath:append(h.env('AGENTLS_TEST_PLUGIN'))
  h.record_echoes()
  return require('agentls')
end

-- The clients attached to `bufnr`, or all; 0.11 warns that the 0.7 functions
-- are deprecated (in the message area the tests read).
local function clients(bufnr)
  if vim.lsp.get_clients then
    return vim.lsp.get_clients({ bufnr = bufnr })
  end
  return bufnr and vim.tbl_values(vim.lsp.buf_get_clients(bufnr)) or vim.lsp.get_active_clients()
end

-- The clients named agentls.
function h.agentls_clients()
  return vim.tbl_filter(function(client)
    return client.name == 'agentls'
  end, clients())
end

-- The names of the clients attached to `bufnr`.
function h.attached(bufnr)
  local names = {}
  for _, client in ipairs(clients(bufnr)) do
    table.insert(names, client.name)
  end
  table.sort(names)
  return names
end

-- Waits until `bufnr` has an initialized agentls client, and returns it.
function h.wait_attached(bufnr)
  local found
  h.wait('an initialized agentls client attached to buffer ' .. bufnr, 15000, function()
    for _, client in ipairs(clients(bufnr)) do
      if client.name == 'agentls' and client.initialized then
        found = client
        return true
      end
    end
    return false
  end)
  return found
end

-- Whether an echo after index `mark` contains `text` (plain).
function h.echoed_since(mark, text)
  for index = mark + 1, #h.report.echoed do
    if h.report.echoed[index].text:find(text, 1, true) then
      return true
    end
  end
  return false
end

-- Whether a showMessage after index `mark` contains `text` (plain).
function h.shown_since(mark, text)
  for index = mark + 1, #h.report.show_message do
    if h.report.show_message[index].message:find(text, 1, true) then
      return true
    end
  end
  return false
end

-- `:messages`, as the user reads it.
function h.messages()
  return vim.fn.execute('messages')
end

-- The client's on_exit, for `lsp = { on_exit = … }`: an exit ends every wait.
function h.on_exit(code, signal)
  h.report.agentls_exit = { code = code, signal = signal }
end

return h
