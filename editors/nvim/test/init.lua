-- Headless Neovim with the configuration from editors/nvim, for the
-- real-client test (editors/nvim/test/run).
local here = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h')
local plugin = vim.fn.fnamemodify(here, ':h')
vim.opt.runtimepath:prepend(plugin)
vim.cmd('filetype plugin on')
vim.cmd('syntax on')
vim.cmd('runtime ftdetect/bpfbox.vim')
require('bpfbox').setup({ cmd = { os.getenv('BPFBOX_LSP') } })
