-- `require('agentls').setup({})` with the plugin on 'runtimepath' and `agentls` on
-- PATH, as a user has it: which buffers get the client, what commands and keys
-- appear, and that calling setup again keeps the one client.
--
-- Environment, besides plugin_harness.lua's: AGENTLS_TEST_WORKSPACE (the current
-- directory; holds Cargo.toml and src/lib.rs).

local here = debug.getinfo(1, 'S').source:sub(2):match('(.*/)')
local h = dofile(here .. 'plugin_harness.lua')

local KEYS = {
  '<leader>aa', '<leader>ay', '<leader>an', '<leader>as', '<leader>au', '<leader>ar', '<leader>ac', '<leader>ax',
}

local function keymaps(mode)
  local found = {}
  for _, lhs in ipairs(KEYS) do
    found[lhs] = vim.fn.maparg(lhs, mode)
  end
  return found
end

h.run(function()
  local workspace = h.env('AGENTLS_TEST_WORKSPACE')
  vim.cmd('cd ' .. vim.fn.fnameescape(workspace))
  local agentls = h.load_plugin()

  -- Before setup: a file, and a scratch buffer that has a filetype but no file.
  vim.cmd('edit Cargo.toml')
  local manifest = vim.api.nvim_get_current_buf()
  local scratch = vim.api.nvim_create_buf(false, true)
  vim.bo[scratch].filetype = 'markdown'

  local progress_mark = #h.report.echoed
  agentls.setup({})
  h.report.manifest_filetype = vim.bo[manifest].filetype
  local client = h.wait_attached(manifest)

  -- After setup: another file, and a help window.
  vim.cmd('edit src/lib.rs')
  local source = vim.api.nvim_get_current_buf()
  h.wait_attached(source)
  vim.cmd('help')
  local help = vim.api.nvim_get_current_buf()
  h.report.help_buftype = vim.bo[help].buftype
  vim.cmd('close')

  h.report.attached = {
    manifest = h.attached(manifest),
    source = h.attached(source),
    scratch = h.attached(scratch),
    help = h.attached(help),
  }
  local clients = h.agentls_clients()
  h.report.clients = vim.tbl_map(function(each)
    return { id = each.id, cmd = each.config.cmd, root_dir = each.config.root_dir }
  end, clients)
  h.report.client_id = client.id

  h.wait('the index progress to be echoed', 15000, function()
    return h.echoed_since(progress_mark, 'Agent: indexing')
  end)

  h.report.commands = {}
  for _, name in ipairs({
    'AgentActions', 'AgentApprove', 'AgentDeny', 'AgentStop', 'AgentUndo', 'AgentReview', 'AgentApply', 'AgentDiscard',
  }) do
    h.report.commands[name] = vim.fn.exists(':' .. name) == 2
  end
  h.report.keymaps_without_option = keymaps('n')

  -- :AgentStop with nothing running: the server answers in the message area.
  local mark = h.mark()
  vim.cmd('AgentStop')
  -- Other messages may arrive meanwhile (the index's): take the one that answers.
  local function stop_answer()
    for index = mark + 1, #h.report.show_message do
      local message = h.report.show_message[index].message
      if message:find('agent task', 1, true) then
        return message
      end
    end
  end
  h.wait('the answer to :AgentStop', 15000, function()
    return stop_answer() ~= nil
  end)
  h.report.stop_answer = stop_answer()

  agentls.setup({ keymaps = true })
  h.report.keymaps_with_option = keymaps('n')
  h.report.visual_actions_keymap = vim.fn.maparg('<leader>aa', 'x')
  h.report.clients_after_second_setup = vim.tbl_map(function(each)
    return each.id
  end, h.agentls_clients())
  h.report.messages = h.messages()
end)
