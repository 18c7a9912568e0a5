-- Opens a broken policy, waits for bpfbox-lsp's diagnostics, checks their
-- place, asks the server to format, checks the result. Writes "ok" or the
-- failure to $RESULT and quits.
local result = os.getenv('RESULT')
local function finish(message)
  local f = io.open(result, 'w')
  f:write(message)
  f:close()
  vim.cmd('qa!')
end

local ok, err = pcall(function()
  vim.cmd('edit ' .. os.getenv('POLICY'))
  local buf = vim.api.nvim_get_current_buf()
  assert(vim.bo[buf].filetype == 'bpfbox', 'filetype is ' .. vim.bo[buf].filetype)

  local diagnostics = {}
  local got = vim.wait(10000, function()
    diagnostics = vim.diagnostic.get(buf)
    return #diagnostics > 0
  end, 50)
  assert(got, 'no diagnostics within 10 s')
  local flag
  for _, d in ipairs(diagnostics) do
    if d.code == 'E0104' then flag = d end
  end
  assert(flag, 'no E0104 among ' .. vim.inspect(diagnostics))
  -- Line 3 (0-based 2): read("/tmp/é") fs("/etc/hosts", raed); Neovim
  -- reports byte columns, converted from the server's UTF-16 ones.
  local line = vim.api.nvim_buf_get_lines(buf, flag.lnum, flag.lnum + 1, false)[1]
  assert(flag.lnum == 2, 'line ' .. flag.lnum)
  assert(line:sub(flag.col + 1, flag.end_col) == 'raed', 'diagnostic covers "' .. line:sub(flag.col + 1, flag.end_col) .. '"')
  assert(flag.message:find('did you mean `read`', 1, true), flag.message)

  -- Fix the typo, then format through the server.
  vim.api.nvim_buf_set_lines(buf, 2, 3, false, { '   read( "/tmp/é" )   fs(  "/etc/hosts",read )' })
  if vim.lsp.buf.format then
    vim.lsp.buf.format({ timeout_ms = 5000 })
  else
    vim.lsp.buf.formatting_sync(nil, 5000)
  end
  local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
  local want = '#![profile "/usr/bin/env"]\n// a comment stays\nread("/tmp/é")\nfs("/etc/hosts", read)'
  assert(text == want, 'formatted:\n' .. text)
end)

if ok then finish('ok') else finish(tostring(err)) end
