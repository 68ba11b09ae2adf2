--- The streamed turn view: the `agent/*` notifications (docs/lsp-extensions.md)
--- folded into turns and their items, shown in a scratch split (buftype=nofile,
--- filetype markdown) that is rewritten as they stream: messages, reasoning
--- summaries, commands with the last lines of their output, file changes, plans
--- and approvals with their state. `d` in the split (or :AgentTurnDiff) opens a
--- unified diff in a buffer with filetype diff: the edit under the cursor, else
--- the whole turn's. Used by init.lua; `M.render` is pure.
---
--- Neovim 0.7.2 through 0.11: only nvim_buf_*/nvim_win_* calls that 0.7 has.

local M = {}

local BUFFER_NAME = 'agentls://turn'
--- At most this often the split is rewritten while text streams.
local RENDER_INTERVAL_MS = 50
--- The most turns kept; the view shows the newest and any still running.
local MAX_TURNS = 5
--- The most command output kept per command, in bytes (its tail).
local MAX_OUTPUT_BYTES = 64 * 1024

M.defaults = { auto_open = false, height = 15, output_lines = 10 }
local options = vim.deepcopy(M.defaults)

-- Oldest first: { thread_id, turn_id, title, status, entries = { {kind='item'|'approval', …} }, diff, … }
local turns = {}
local bufnr = nil
local render_scheduled = false
-- What `d` opens from each line of the split: { turn = turn, item = item_state, file = n } or { turn = turn }.
local targets = {}

local DECISIONS = {
  approved = 'approved',
  approvedForThread = 'approved for this thread',
  denied = 'denied',
  abort = 'denied, and the turn stopped',
}

--- A command line as a user types it (`bash -lc SCRIPT` is SCRIPT, as the server shows it).
function M.display_command(argv)
  argv = argv or {}
  if #argv == 3 and (argv[1] == 'bash' or argv[1] == 'sh' or argv[1] == 'zsh')
    and (argv[2] == '-c' or argv[2] == '-lc') then
    return argv[3]
  end
  local words = {}
  for _, arg in ipairs(argv) do
    if arg == '' or arg:find('[%s\'"\\$`]') then
      arg = "'" .. arg:gsub("'", "'\\''") .. "'"
    end
    table.insert(words, arg)
  end
  return table.concat(words, ' ')
end

local function split_lines(text)
  local lines = {}
  for line in ((text or ''):gsub('\r\n', '\n') .. '\n'):gmatch('(.-)\n') do
    table.insert(lines, line)
  end
  if lines[#lines] == '' then
    table.remove(lines)
  end
  return lines
end

local function first_line(text)
  return (vim.trim(text or ''):match('^[^\n]*')) or ''
end

local function clip(text, max)
  if #text <= max then
    return text
  end
  return text:sub(1, max - 3) .. '...'
end

local function diff_counts(diff)
  local added, removed = 0, 0
  for _, line in ipairs(split_lines(diff)) do
    if line:sub(1, 1) == '+' and line:sub(1, 4) ~= '+++ ' then
      added = added + 1
    elseif line:sub(1, 1) == '-' and line:sub(1, 4) ~= '--- ' then
      removed = removed + 1
    end
  end
  return added, removed
end

-- ---------------------------------------------------------------------------
-- The model.

local function find_turn(thread_id, turn_id)
  for _, turn in ipairs(turns) do
    if turn.turn_id == turn_id and turn.thread_id == thread_id then
      return turn
    end
  end
  local turn = { thread_id = thread_id, turn_id = turn_id, title = 'agent', status = 'running', entries = {}, changed_files = {} }
  table.insert(turns, turn)
  while #turns > MAX_TURNS do
    table.remove(turns, 1)
  end
  return turn
end

local function find_item(params, item_id)
  local turn = find_turn(params.threadId, params.turnId)
  for _, entry in ipairs(turn.entries) do
    if entry.kind == 'item' and entry.item.id == item_id then
      return entry
    end
  end
  local entry = { kind = 'item', item = { id = item_id, type = 'unknown' }, done = false, streamed = '', output = '', cut = false }
  table.insert(turn.entries, entry)
  return entry
end

--- Folds one notification into the turns. Returns the turn it is about.
function M.apply(method, params)
  if method == 'agent/turnStarted' then
    local turn = find_turn(params.threadId, params.turnId)
    turn.title = params.title
    return turn
  elseif method == 'agent/itemStarted' or method == 'agent/itemCompleted' then
    local entry = find_item(params, params.item.id)
    entry.item = params.item
    entry.done = entry.done or method == 'agent/itemCompleted'
  elseif method == 'agent/itemDelta' then
    local entry = find_item(params, params.itemId)
    local text = params.delta.text or ''
    if params.delta.kind == 'commandOutput' then
      entry.output = entry.output .. text
      if #entry.output > MAX_OUTPUT_BYTES then
        entry.output = entry.output:sub(-MAX_OUTPUT_BYTES)
        entry.cut = true
      end
    else
      entry.streamed = entry.streamed .. text
    end
  elseif method == 'agent/approvalRequested' then
    local turn = find_turn(params.threadId, params.turnId)
    table.insert(turn.entries, {
      kind = 'approval',
      id = params.id,
      argv = params.argv,
      cwd = params.cwd,
      reason = params.reason ~= vim.NIL and params.reason or nil,
      escalation = params.sandboxEscalation == true,
    })
  elseif method == 'agent/approvalResolved' then
    local turn = find_turn(params.threadId, params.turnId)
    for _, entry in ipairs(turn.entries) do
      if entry.kind == 'approval' and entry.id == params.id and entry.decision == nil then
        entry.decision = params.decision
      end
    end
  elseif method == 'agent/turnDiff' then
    find_turn(params.threadId, params.turnId).diff = params.diff
  elseif method == 'agent/turnCompleted' then
    local turn = find_turn(params.threadId, params.turnId)
    turn.status = params.status
    turn.tokens = type(params.usage) == 'table' and params.usage.total_tokens or nil
    turn.reason = params.reason ~= vim.NIL and params.reason or nil
    turn.error = params.error ~= vim.NIL and params.error or nil
    turn.changed_files = params.changedFiles or {}
  end
end

--- The server stopped: its running turns will never complete.
function M.reset()
  for _, turn in ipairs(turns) do
    if turn.status == 'running' then
      turn.status = 'interrupted'
      turn.reason = 'the server stopped'
    end
  end
  M.schedule_render()
end

--- The turns the view shows: the newest, and any still running, oldest first.
function M.shown_turns(all)
  all = all or turns
  local shown = {}
  for index, turn in ipairs(all) do
    if index == #all or turn.status == 'running' then
      table.insert(shown, turn)
    end
  end
  return shown
end

-- ---------------------------------------------------------------------------
-- Rendering.

--- The lines of the view for `shown` turns, and what `d` opens from each line
--- (a table indexed by line number). `opts`: output_lines, relative (a path as
--- the user reads it).
function M.render(shown, opts)
  local relative = opts.relative or function(path)
    return path
  end
  local lines, line_targets = {}, {}
  local function add(text, target)
    for _, line in ipairs(split_lines(text)) do
      table.insert(lines, line)
      line_targets[#lines] = target
    end
    if text == '' then
      table.insert(lines, '')
    end
  end
  local function quote(text, target)
    for _, line in ipairs(split_lines(text)) do
      add(line == '' and '' or line, target)
    end
  end

  if #shown == 0 then
    add('# Agent')
    add('')
    add('No agent turn yet: run an `Agent: ` code action (:AgentActions).')
    return lines, line_targets
  end
  for turn_index, turn in ipairs(shown) do
    if turn_index > 1 then
      add('')
    end
    local status = turn.status == 'running' and 'running' or nil
    add(string.format('# %s%s', turn.title, status and (' — ' .. status) or ''))
    for _, entry in ipairs(turn.entries) do
      local item = entry.item
      if entry.kind == 'approval' then
        add('')
        local what = entry.escalation and 'run without the sandbox' or 'run'
        local decision = entry.decision and (DECISIONS[entry.decision] or entry.decision)
          or 'waiting (:AgentApprove / :AgentDeny)'
        add(string.format('## Approval %s: %s `%s` — %s', entry.id, what, M.display_command(entry.argv), decision))
        if entry.reason then
          add(entry.reason)
        end
      elseif item.type == 'userMessage' then
        add('')
        add('## Task')
        add(clip(first_line(item.text), 200))
      elseif item.type == 'assistantMessage' or (item.type == 'unknown' and entry.streamed ~= '') then
        local text = entry.done and item.text or entry.streamed
        add('')
        add(entry.done and '## Message' or '## Message (writing…)')
        quote(text)
      elseif item.type == 'reasoning' then
        local text = entry.streamed
        if entry.done and type(item.summary) == 'table' and #item.summary > 0 then
          text = table.concat(item.summary, '\n\n')
        end
        add('')
        add('## Reasoning')
        for _, line in ipairs(split_lines(text)) do
          add(line == '' and '>' or ('> ' .. line))
        end
      elseif item.type == 'commandExecution' or (item.type == 'unknown' and entry.output ~= '') then
        local state = entry.done and item.status or 'inProgress'
        local said
        if state == 'completed' or (state == 'failed' and type(item.exitCode) == 'number') then
          said = 'exit ' .. tostring(item.exitCode)
        elseif state == 'inProgress' then
          said = 'running'
        else
          said = state
        end
        add('')
        add(string.format('## Command `%s` — %s', M.display_command(item.argv), said))
        -- What it printed as it ran; else the output the model got.
        local output = entry.output
        if output == '' and entry.done and type(item.output) == 'string' then
          output = item.output
        end
        local out = split_lines(output)
        if entry.cut and #out > 1 then
          table.remove(out, 1)
        end
        local first = math.max(1, #out - opts.output_lines + 1)
        if #out > 0 then
          add('')
          if first > 1 then
            add(string.format('    … %d earlier lines', first - 1))
          end
          for index = first, #out do
            add('    ' .. out[index])
          end
        end
      elseif item.type == 'fileChange' then
        local changes = item.changes or {}
        local state = item.status == 'applied' and 'applied' or item.status == 'failed' and 'failed' or 'applying'
        if item.status == 'failed' and type(item.error) == 'string' then
          state = 'failed: ' .. first_line(item.error)
        end
        local function describe(change)
          local added, removed = diff_counts(change.diff)
          local kind = ''
          if change.kind.type == 'add' then
            kind = 'new file, '
          elseif change.kind.type == 'delete' then
            kind = 'deleted, '
          elseif type(change.kind.movedFrom) == 'string' then
            kind = 'moved from ' .. relative(change.kind.movedFrom) .. ', '
          end
          return string.format('%s+%d −%d', kind, added, removed)
        end
        add('')
        if #changes == 1 then
          local target = { turn = turn, item = entry, file = 1 }
          add(string.format('## Edit %s (%s) — %s', relative(changes[1].path), describe(changes[1]), state), target)
          add('`d` here: its diff', target)
        else
          add(string.format('## Edit %d files — %s', #changes, state))
          for index, change in ipairs(changes) do
            add(string.format('- %s (%s)', relative(change.path), describe(change)), { turn = turn, item = entry, file = index })
          end
          add('`d` on a file: its diff')
        end
      elseif item.type == 'plan' then
        add('')
        add('## Plan')
        if type(item.explanation) == 'string' then
          add(first_line(item.explanation))
        end
        for _, step in ipairs(item.steps or {}) do
          local mark = step.status == 'completed' and '[x]' or step.status == 'inProgress' and '[-]' or '[ ]'
          add(string.format('- %s %s', mark, step.step))
        end
      elseif item.type == 'toolCall' then
        local ok, arguments = pcall(vim.json.decode, item.arguments or '')
        local what = ''
        if ok and type(arguments) == 'table' then
          what = arguments.path or arguments.pattern or arguments.symbol or arguments.name or ''
        end
        add('')
        add(string.format('## %s %s%s', item.tool or 'tool', type(what) == 'string' and what or '',
          item.isError and ' — error' or ''))
      elseif item.type == 'compaction' then
        add('')
        add('## Earlier history summarized')
      end
    end
    if turn.status ~= 'running' then
      local parts = {}
      if turn.status == 'completed' then
        table.insert(parts, 'Done')
      elseif turn.status == 'interrupted' then
        table.insert(parts, turn.reason and ('Stopped (' .. turn.reason .. ')') or 'Stopped')
      elseif turn.status == 'failed' then
        table.insert(parts, turn.error and ('Failed: ' .. first_line(turn.error)) or 'Failed')
      else
        table.insert(parts, turn.status)
      end
      if #turn.changed_files == 0 then
        table.insert(parts, 'no files changed')
      else
        table.insert(parts, 'changed ' .. table.concat(vim.tbl_map(relative, turn.changed_files), ', '))
      end
      if type(turn.tokens) == 'number' then
        table.insert(parts, string.format('%d tokens', turn.tokens))
      end
      add('')
      add('## ' .. table.concat(parts, ' · '), turn.diff and { turn = turn } or nil)
      if turn.diff then
        add('`d` here or :AgentTurnDiff: the turn diff', { turn = turn })
      end
    end
  end
  return lines, line_targets
end

-- ---------------------------------------------------------------------------
-- The split.

local function relative(path)
  return vim.fn.fnamemodify(path, ':.')
end

local function view_windows()
  if not bufnr or not vim.api.nvim_buf_is_valid(bufnr) then
    return {}
  end
  return vim.tbl_filter(function(win)
    return vim.api.nvim_win_get_buf(win) == bufnr
  end, vim.api.nvim_list_wins())
end

local function redraw()
  render_scheduled = false
  if not bufnr or not vim.api.nvim_buf_is_valid(bufnr) then
    return
  end
  local before = vim.api.nvim_buf_line_count(bufnr)
  local lines, line_targets = M.render(M.shown_turns(), { output_lines = options.output_lines, relative = relative })
  targets = line_targets
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].modified = false
  -- Windows whose cursor was on the last line follow the stream.
  for _, win in ipairs(view_windows()) do
    if vim.api.nvim_win_get_cursor(win)[1] >= before then
      vim.api.nvim_win_set_cursor(win, { #lines, 0 })
    end
  end
end

function M.schedule_render()
  if render_scheduled then
    return
  end
  render_scheduled = true
  vim.defer_fn(redraw, RENDER_INTERVAL_MS)
end

--- A unified diff as a buffer with filetype diff, in a split above the view.
local function show_diff(name, text)
  if vim.api.nvim_get_current_buf() == bufnr then
    vim.cmd('wincmd p')
  end
  -- Above the view when it is the only window left.
  vim.cmd(vim.api.nvim_get_current_buf() == bufnr and 'aboveleft split' or 'split')
  local diff_buf
  for _, each in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_valid(each) and vim.api.nvim_buf_get_name(each) == name then
      diff_buf = each
    end
  end
  if not diff_buf then
    diff_buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(diff_buf, name)
  end
  vim.api.nvim_win_set_buf(0, diff_buf)
  vim.bo[diff_buf].buftype = 'nofile'
  vim.bo[diff_buf].bufhidden = 'wipe'
  vim.bo[diff_buf].swapfile = false
  vim.bo[diff_buf].modifiable = true
  vim.api.nvim_buf_set_lines(diff_buf, 0, -1, false, split_lines(text))
  vim.bo[diff_buf].modifiable = false
  vim.bo[diff_buf].filetype = 'diff'
  return diff_buf
end

--- The diff of `target` ({turn, item, file} or {turn}); without one, the newest
--- turn's (while it runs: its edits so far). Returns the buffer, or nil.
function M.diff(target)
  local turn = target and target.turn
  if target and target.item then
    local change = (target.item.item.changes or {})[target.file]
    if change then
      return show_diff(string.format('agentls://diff/%s/%s', turn.turn_id, relative(change.path)), change.diff)
    end
  end
  if not turn then
    for index = #turns, 1, -1 do
      if turns[index].diff or turns[index].status == 'running' then
        turn = turns[index]
        break
      end
    end
  end
  local text = turn and turn.diff
  if turn and not text then
    local pieces = {}
    for _, entry in ipairs(turn.entries) do
      if entry.kind == 'item' and entry.item.type == 'fileChange' then
        for _, change in ipairs(entry.item.changes or {}) do
          table.insert(pieces, change.diff)
        end
      end
    end
    text = #pieces > 0 and table.concat(pieces, '') or nil
  end
  if not text then
    vim.notify('agentls: no agent change to show yet', vim.log.levels.INFO)
    return nil
  end
  return show_diff(string.format('agentls://diff/%s.diff', turn.turn_id), text)
end

local function ensure_buffer()
  if bufnr and vim.api.nvim_buf_is_valid(bufnr) then
    return bufnr
  end
  bufnr = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(bufnr, BUFFER_NAME)
  vim.bo[bufnr].buftype = 'nofile'
  vim.bo[bufnr].bufhidden = 'hide'
  vim.bo[bufnr].swapfile = false
  vim.bo[bufnr].filetype = 'markdown'
  local function map(lhs, rhs, desc)
    vim.keymap.set('n', lhs, rhs, { buffer = bufnr, silent = true, nowait = true, desc = desc })
  end
  map('d', function()
    M.diff(targets[vim.api.nvim_win_get_cursor(0)[1]])
  end, 'agentls: the diff of the edit under the cursor, else of the turn')
  map('q', '<cmd>close<CR>', 'agentls: close the turn view')
  return bufnr
end

--- Opens the view in a split at the bottom (or, when it is open, goes there if
--- `focus`). Returns the view's buffer.
function M.open(focus)
  local previous = vim.api.nvim_get_current_win()
  ensure_buffer()
  local wins = view_windows()
  local tabpage = vim.api.nvim_get_current_tabpage()
  local win
  for _, each in ipairs(wins) do
    if vim.api.nvim_win_get_tabpage(each) == tabpage then
      win = each
    end
  end
  if not win then
    vim.cmd(string.format('botright %dsplit', options.height))
    win = vim.api.nvim_get_current_win()
    vim.api.nvim_win_set_buf(win, bufnr)
    vim.wo[win].wrap = true
    vim.wo[win].linebreak = true
    vim.wo[win].number = false
    vim.wo[win].relativenumber = false
    vim.wo[win].winfixheight = true
    vim.wo[win].spell = false
  end
  redraw()
  vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(bufnr), 0 })
  if focus then
    vim.api.nvim_set_current_win(win)
  elseif vim.api.nvim_win_is_valid(previous) then
    vim.api.nvim_set_current_win(previous)
  end
  return bufnr
end

--- The handlers of the `agent/*` notifications, for the client's `handlers`.
function M.handlers()
  local handlers = {}
  for _, method in ipairs({
    'agent/turnStarted',
    'agent/itemStarted',
    'agent/itemDelta',
    'agent/itemCompleted',
    'agent/approvalRequested',
    'agent/approvalResolved',
    'agent/turnDiff',
    'agent/turnCompleted',
  }) do
    handlers[method] = function(_, params)
      if type(params) ~= 'table' then
        return
      end
      M.apply(method, params)
      if method == 'agent/turnStarted' and options.auto_open then
        vim.schedule(function()
          M.open(false)
        end)
      else
        M.schedule_render()
      end
    end
  end
  return handlers
end

function M.configure(opts)
  options = vim.tbl_extend('force', M.defaults, opts or {})
end

--- The view's buffer, if it was ever opened.
function M.buffer()
  return bufnr
end

return M
