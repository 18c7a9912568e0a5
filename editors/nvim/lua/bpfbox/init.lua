-- bpfbox-lsp for Neovim: require('bpfbox').setup({ cmd = { 'bpfbox-lsp' } })
-- Optional: paths = { root = '/srv/images/web', check = true } checks the
-- paths a policy names under the target's root, as bpfboxc --root does
-- (check = false: not at all, as --no-path-check).
--
-- Uses vim.lsp.config/vim.lsp.enable on Neovim 0.11 and later,
-- vim.lsp.start on 0.8-0.10, and vim.lsp.start_client with
-- buf_attach_client on 0.7 (Debian 12 ships 0.7.2).
local M = {}

local function root_dir(path)
  local found = vim.fn.finddir('.git', vim.fn.fnamemodify(path, ':p:h') .. ';')
  if found ~= '' then
    return vim.fn.fnamemodify(found, ':p:h:h')
  end
  return vim.fn.fnamemodify(path, ':p:h')
end

function M.setup(opts)
  opts = opts or {}
  local cmd = opts.cmd or { 'bpfbox-lsp' }
  local name = 'bpfbox'
  local init_options = opts.paths and { paths = opts.paths } or nil

  if vim.lsp.config and vim.lsp.enable then
    vim.lsp.config(name, {
      cmd = cmd,
      filetypes = { 'bpfbox' },
      root_markers = { '.git' },
      on_attach = opts.on_attach,
      init_options = init_options,
    })
    vim.lsp.enable(name)
    return
  end

  local group = vim.api.nvim_create_augroup('bpfbox-lsp', { clear = true })
  if vim.lsp.start then
    vim.api.nvim_create_autocmd('FileType', {
      group = group,
      pattern = 'bpfbox',
      callback = function(args)
        vim.lsp.start({
          name = name,
          cmd = cmd,
          root_dir = root_dir(vim.api.nvim_buf_get_name(args.buf)),
          on_attach = opts.on_attach,
          init_options = init_options,
        })
      end,
    })
    return
  end

  -- Neovim 0.7: one client per root directory, attached by hand.
  local clients = {}
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = 'bpfbox',
    callback = function(args)
      local root = root_dir(vim.api.nvim_buf_get_name(args.buf))
      local id = clients[root]
      if not id or vim.lsp.get_client_by_id(id) == nil then
        id = vim.lsp.start_client({
          name = name,
          cmd = cmd,
          root_dir = root,
          on_attach = opts.on_attach,
          init_options = init_options,
        })
        clients[root] = id
      end
      if id then
        vim.lsp.buf_attach_client(args.buf, id)
      end
    end,
  })
end

return M
