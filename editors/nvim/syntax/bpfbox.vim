" Syntax highlighting for bpfbox policies (spec.md). The language server
" adds semantic tokens on top where the editor supports them.
if exists('b:current_syntax')
  finish
endif

syntax keyword bpfboxRule fs proc signal ptrace net cap sys read write append exec setattr getattr ioctl rm link connect
syntax keyword bpfboxFlag any sigchld sigkill sigstop sigmisc sigcheck attach bind accept listen send recv create shutdown sysvipc keys sigio memfd_exec
syntax keyword bpfboxSelf self
syntax match bpfboxAttribute /#!\?\[\s*\h\w*/ contains=bpfboxAttributeName
syntax match bpfboxAttributeName /\h\w*/ contained
syntax match bpfboxAttributeEnd /\]/
syntax region bpfboxString start=/"/ skip=/\\./ end=/"\|$/ oneline
syntax region bpfboxString start=/'/ skip=/\\./ end=/'\|$/ oneline
syntax match bpfboxOperator /|/
syntax match bpfboxLineComment "//.*$" contains=@Spell
syntax region bpfboxBlockComment start="/\*" end="\*/" contains=@Spell

highlight default link bpfboxRule Function
highlight default link bpfboxFlag Constant
highlight default link bpfboxSelf Keyword
highlight default link bpfboxAttribute PreProc
highlight default link bpfboxAttributeName PreProc
highlight default link bpfboxAttributeEnd PreProc
highlight default link bpfboxString String
highlight default link bpfboxOperator Operator
highlight default link bpfboxLineComment Comment
highlight default link bpfboxBlockComment Comment

let b:current_syntax = 'bpfbox'
