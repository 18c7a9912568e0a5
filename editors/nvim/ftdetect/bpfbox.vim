" bpfbox policies
autocmd BufRead,BufNewFile *.policy setfiletype bpfbox
