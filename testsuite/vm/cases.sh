#!/bin/sh
# The end-to-end cases, run as init's child inside the VM (busybox sh).
# Every case is a real process, really allowed or denied by the loaded
# policies. Prints PASS/FAIL lines; testsuite/vm/run counts them.

LOAD=/usr/local/bin/bpfbox-load
IMG=/t/images

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# expect NAME WANT COMMAND...: the command's output (stdout and stderr) is WANT.
expect() {
    name=$1 want=$2
    shift 2
    got=$("$@" 2>&1)
    if [ "$got" = "$want" ]; then pass "$name"; else fail "$name" "want [$want], got [$got]"; fi
}

# expect_status NAME STATUS PATTERN COMMAND...: exit status and a line matching PATTERN.
expect_status() {
    name=$1 want=$2 pattern=$3
    shift 3
    got=$("$@" 2>&1)
    status=$?
    if [ "$status" = "$want" ] && printf '%s\n' "$got" | grep -q -- "$pattern"; then
        pass "$name"
    else
        fail "$name" "want status $want and /$pattern/, got $status: [$got]"
    fi
}

# across CHANGE COMMAND...: runs COMMAND, a probe that stops at `waitfor
# /tmp/go`, makes CHANGE (a shell command) while it waits, lets it go on,
# and prints its output: what one process saw before and after a change.
across() {
    change=$1
    shift
    rm -f /tmp/go /tmp/across.out
    # Through a pipe: a confined probe may not write to a file in /tmp.
    ("$@" 2>&1 | cat > /tmp/across.out) &
    probe=$!
    n=0
    while ! grep -q "waiting for" /tmp/across.out 2>/dev/null && [ $n -lt 300 ]; do
        sleep 0.1
        n=$((n + 1))
    done
    sh -c "$change"
    touch /tmp/go
    wait $probe
    grep -v "^probe: waiting for" /tmp/across.out
}

# follow_start OUT ERR [--json]: bpfbox-load --follow in the background,
# given time to attach; follow_stop: after the last events had time to come.
follow_start() {
    out=$1 err=$2
    shift 2
    $LOAD --follow "$@" > "$out" 2> "$err" &
    FOLLOW=$!
    sleep 2
}
follow_stop() {
    sleep 2
    kill -INT $FOLLOW
    wait $FOLLOW 2>/dev/null
}

# no_drops NAME ERR: --follow's stderr tells drops from before it started
# (the audit case) on its first line; a second line is drops while it read.
no_drops() {
    if [ "$(grep -c dropped "$2")" -le 1 ]; then pass "$1"; else fail "$1" "$(cat "$2")"; fi
}

# compiles_clean NAME POLICY IMAGE: bpfboxc compiles POLICY with no error and no warning.
compiles_clean() {
    out=$(bpfboxc "$2" -o "$3" 2>&1)
    case "$out" in
        *warning*|*error*) fail "$1" "$out" ;;
        *) pass "$1" ;;
    esac
}

if [ "$1" = nolsm ]; then
    expect_status "kernel without BPF LSM: refused with the fix" 3 "BPF LSM is not active" $LOAD $IMG/fs.bbx
    expect_status "kernel without BPF LSM: the hint names lsm=" 3 "add bpf to lsm=" $LOAD $IMG/fs.bbx
    [ -e /sys/fs/bpf/bpfbox ] && fail "kernel without BPF LSM: nothing left behind" "/sys/fs/bpf/bpfbox exists" \
        || pass "kernel without BPF LSM: nothing left behind"
    exit 0
fi

# ---- the files the policies talk about -------------------------------------
mkdir -p /srv/t/tree/sub /srv/t/dir /srv/t/dropbox /srv/t/glob /srv/t/other /srv/t/bench
for f in readable writable appendable secret secret2 quiet loud trigger a-only b-only audited kf linkable attr lib.so \
         tree/a tree/forbidden dir/victim dir/keep glob/a.txt glob/b.log; do
    echo "content of $f" > /srv/t/$f
done
mkdir -p /srv/t/mv/in/d /srv/t/mv/in/keep
for f in in/d/f in/keep/f in/linked in/moved in/renamed; do echo x > /srv/t/mv/$f; done
mkdir -p /srv/t/freed && echo x > /srv/t/freed/a
mkfifo /srv/t/fifo-ok /srv/t/fifo
echo "root:x:0:0:root:/root:/bin/sh" > /etc/passwd
echo "root:x:0:" > /etc/group
echo "root:\$6\$hash:19000:0:99999:7:::" > /etc/shadow

# ---- loading ---------------------------------------------------------------
expect_status "a tampered image is refused" 1 "checksum mismatch" sh -c "
    cp $IMG/fs.bbx /tmp/bad.bbx && printf 'X' | dd of=/tmp/bad.bbx bs=1 seek=100 conv=notrunc 2>/dev/null && $LOAD /tmp/bad.bbx"
expect_status "a truncated image is refused" 1 "truncated" sh -c "head -c 90 $IMG/fs.bbx > /tmp/short.bbx && $LOAD /tmp/short.bbx"
expect_status "a policy file is not an image" 1 "not a bpfbox image" $LOAD /t/cases.sh
expect_status "a changed binary is refused" 1 "not the binary the policy was compiled against" $LOAD $IMG/mismatch.bbx
expect_status "not root: refused" 4 "must run as root" /opt/t/free/probe asuser 65534 $LOAD $IMG/fs.bbx
[ -e /sys/fs/bpf/bpfbox ] && fail "refusals leave nothing behind" "/sys/fs/bpf/bpfbox exists" || pass "refusals leave nothing behind"

# Before anything is loaded: the unload cases count programs against it.
PROGRAMS_AT_BOOT=$(grep -c " t bpf_prog_" /proc/kallsyms)

# Another BPF LSM (testsuite/vm/other-lsm.bpf.c), attached before bpfbox's
# programs, so they run after it on the same hooks: it denies chmod, the
# xattr calls and bpf(2) to processes named otherlsm. The probes run on a
# tmpfs (the root file system has no xattrs).
mkdir -p /tmp/xa && mount -t tmpfs none /tmp/xa && : > /tmp/xa/f
OTHER=/opt/t/otherlsm/otherlsm
/usr/local/bin/bpf-attach /t/other-lsm.bpf.o > /tmp/other-lsm.out 2>&1 &
OTHER_LSM=$!
i=0
while ! grep -q attached /tmp/other-lsm.out && [ $i -lt 40 ]; do usleep 250000; i=$((i + 1)); done
grep -q attached /tmp/other-lsm.out && pass "another BPF LSM attached" ||
    fail "another BPF LSM attached" "$(tr "\n" "|" < /tmp/other-lsm.out)"
other_lsm_cases() { # when
    expect "another BPF LSM $1: its denials stand (chmod, setxattr, removexattr, bpf)" "denied denied denied denied" \
        $OTHER chmod /tmp/xa/f , setxattr /tmp/xa/f , removexattr /tmp/xa/f , bpfmap
    expect "another BPF LSM $1: the control, another name, is allowed" "ok ok ok ok" \
        /opt/t/free/probe chmod /tmp/xa/f , setxattr /tmp/xa/f , removexattr /tmp/xa/f , bpfmap
}
other_lsm_cases "alone"

# The first load attaches the programs; --max-procs (a small limit on
# confined processes) lets the fork-limit case reach it.
for image in fs escape taint login login-pie switch task audit kfunc rootesc capok untainted dynamic learn crt nocrt memo scopedeny freed netcache; do
    out=$($LOAD --max-procs 64 $IMG/$image.bbx 2>&1) && pass "load $image" || fail "load $image" "$out"
done
expect_status "loading the same image again is a no-op" 0 "^unchanged /opt/t/fs/probe" $LOAD $IMG/fs.bbx
# What bpfbox refused or lost since it was loaded, --list tells on stderr
# (the control: nothing yet; the forks and scopes cases below).
list_warnings() { $LOAD --list 2>&1 > /tmp/list.out; }
expect "list: nothing refused or lost yet, no warning" "" list_warnings

# State pinned by another version of bpfbox (meta's ABI version, from
# bpf/include/bpfbox.h, one less): refused before anything is opened or
# loaded, with the fix, and left as it was.
ABI=$(cat /t/abi)
links_before=$(ls /sys/fs/bpf/bpfbox/links | wc -l)
expect "another version's state: made" "ok" /opt/t/free/probe setabi $((ABI - 1))
expect_status "another version's state: refused, naming its version" 3 "is of another version (ABI $((ABI - 1)))" $LOAD $IMG/fs.bbx
expect_status "another version's state: the hint says to unload" 3 "bpfbox-load --unload" $LOAD $IMG/fs.bbx
expect "another version's state: nothing attached or removed" "$links_before" sh -c 'ls /sys/fs/bpf/bpfbox/links | wc -l'
expect "another version's state: put back" "ok" /opt/t/free/probe setabi $ABI
expect_status "another version's state: put back, loads again" 0 "^unchanged /opt/t/fs/probe" $LOAD $IMG/fs.bbx

# One loader at a time: a second bpfbox-load waits while another holds the
# lock (here a probe holds it), says so, and goes on when it is free.
rm -f /tmp/go
/opt/t/free/probe flock /sys/fs/bpf , waitfor /tmp/go > /tmp/lock.holder 2>&1 &
holder=$!
n=0
while ! grep -q "waiting for" /tmp/lock.holder && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
$LOAD $IMG/fs.bbx > /tmp/lock.out 2>&1 &
loader=$!
sleep 2
if kill -0 $loader 2>/dev/null && grep -q "waiting for another bpfbox-load" /tmp/lock.out; then
    pass "a second loader waits for the lock"
else
    fail "a second loader waits for the lock" "$(cat /tmp/lock.holder /tmp/lock.out)"
fi
touch /tmp/go
wait $holder
wait $loader
status=$?
if [ $status = 0 ] && grep -q "^unchanged /opt/t/fs/probe" /tmp/lock.out; then
    pass "the waiting loader goes on once the lock is free"
else
    fail "the waiting loader goes on once the lock is free" "status $status: $(cat /tmp/lock.out)"
fi

# Created after loading: covered by the "**" rule, which walks parents.
echo later > /srv/t/tree/sub/created-later

# ---- fs --------------------------------------------------------------------
P=/opt/t/fs/probe
expect "fs: read allowed / not listed" "ok denied" $P read /srv/t/readable , read /srv/t/secret
expect "fs: write allowed / read-only file" "ok denied" $P write /srv/t/writable , write /srv/t/readable
# A named pipe on disk is a file, mediated as one; a pipe or socket made by
# pipe(2) or socket(2) is not (every probe here writes to a pipe). The
# writer opens it once the reader has (a FIFO's open waits for the other
# end), after a second.
(sleep 1; echo x > /srv/t/fifo-ok) &
expect "fs: a named pipe read allowed / not listed" "ok denied" $P read /srv/t/fifo-ok , read /srv/t/fifo
expect "fs: append allowed / write without O_APPEND" "ok denied" $P append /srv/t/appendable , write /srv/t/appendable
expect "fs: ** subtree, also a file created later" "ok ok" $P read /srv/t/tree/a , read /srv/t/tree/sub/created-later
expect "fs: #[deny] wins inside an allowed subtree" "denied" $P read /srv/t/tree/forbidden
expect "fs: getattr allowed / not" "ok ok denied" $P stat /srv/t/tree/a , stat /srv/t/attr , stat /srv/t/secret
expect "fs: setattr allowed / not" "ok denied" $P chmod /srv/t/attr , chmod /srv/t/readable
expect "fs: mkdir needs write on the directory" "ok denied" $P mkdir /srv/t/dir/new , mkdir /srv/t/other/new
expect "fs: a new file also needs write on itself" "denied" $P create /srv/t/dir/newfile
[ -e /srv/t/dir/newfile ] && fail "fs: a denied open(O_CREAT) leaves no file behind" "/srv/t/dir/newfile exists" \
    || pass "fs: a denied open(O_CREAT) leaves no file behind"
expect "fs: creating is decided with the open's access (append allowed; write, read not)" "ok denied denied" \
    $P create-append /srv/t/dropbox/log , create /srv/t/dropbox/w , create-read /srv/t/dropbox/r
out=$(ls /srv/t/dropbox | tr '\n' ' ')
[ "$out" = "log " ] && pass "fs: only the allowed creation left a file" || fail "fs: only the allowed creation left a file" "[$out]"
expect "fs: unlink needs rm on the file" "ok denied" $P unlink /srv/t/dir/victim , unlink /srv/t/dir/keep
expect "fs: hard link needs link on the file" "ok denied" $P link /srv/t/linkable /srv/t/dir/hl , link /srv/t/secret /srv/t/dir/hl2
expect "fs: mmap PROT_EXEC needs exec" "ok denied" $P mmapx /srv/t/lib.so , mmapx /srv/t/readable
expect "fs: ioctl allowed / not" "ok denied" $P ioctl /srv/t/readable , ioctl /srv/t/tree/a
expect "fs: exec allowed" "
ok" $P exec /opt/t/fs/helper
expect "fs: exec not allowed" "denied" $P exec /bin/busybox true
expect "fs: * pattern" "ok denied" $P read /srv/t/glob/a.txt , read /srv/t/glob/b.log
expect "fs: an unconfined process is not affected" "ok ok" /opt/t/free/probe read /srv/t/secret , write /srv/t/readable
# bpfbox's programs run after the other LSM's: its denials stand, for
# processes bpfbox does not confine too (spec.md, "What enforcement does").
# The kernel's trampoline stops at the first BPF LSM program that denies.
other_lsm_cases "before bpfbox"
kill $OTHER_LSM; wait $OTHER_LSM 2>/dev/null

expect "fs: a dynamic program needs no rule for its loader (ld.so's own mprotect)" "ok denied" \
    /opt/t/dyn/probe read /srv/t/readable , read /srv/t/secret
expect "include: #![include c_runtime] gives a dynamic program its loader and libraries" "ok denied" \
    /opt/t/crt/probe read /srv/t/readable , read /srv/t/secret
expect_status "include: the control without it cannot load its C library" 127 "error while loading shared libraries" \
    /opt/t/nocrt/probe read /srv/t/readable

# ---- escapes ---------------------------------------------------------------
P=/opt/t/esc/probe
ln /srv/t/secret /srv/t/tree/hardlink
ln -s /srv/t/secret /srv/t/tree/symlink
expect "escape: a hard link of a denied file" "denied" $P read /srv/t/tree/hardlink
expect "escape: a symlink to it" "denied" $P read /srv/t/tree/symlink
expect "escape: reopening through /proc/self/fd" "denied" $P reopen /srv/t/secret
expect "escape: O_PATH + openat" "denied" $P openat /srv/t secret
expect "escape: linking it into an allowed tree" "denied" $P link /srv/t/secret /srv/t/tree/mine
mv /srv/t/secret /srv/t/tree/renamed
expect "escape: renamed into an allowed tree" "denied" $P read /srv/t/tree/renamed
mv /srv/t/tree/renamed /srv/t/secret
expect "escape: mmap PROT_EXEC of a readable file" "denied" $P mmapx /srv/t/readable
expect "escape: exec of a denied file" "denied" $P exec /srv/t/denied-exe check
expect "escape: (control) the interpreter runs it when unconfined" "check_password: ok
ok" /opt/t/free/probe exec /lib64/ld-linux-x86-64.so.2 /srv/t/denied-exe check
out=$($P exec /lib64/ld-linux-x86-64.so.2 /srv/t/denied-exe check 2>&1)
case "$out" in
    *failed:*) pass "escape: exec through the interpreter (its mmap PROT_EXEC is denied)" ;;
    *) fail "escape: exec through the interpreter" "it ran: [$out]" ;;
esac

# ---- a confined root process: no escape, and bpfbox cannot be switched off ---
# Each technique runs in the confined copy (rootesc.policy), which must be
# denied, and in an identical unprofiled copy, whose result is the control:
# a technique that fails without the policy proves nothing.
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /srv/t/esc-dir /tmp/bpf-a /tmp/bpf-b /tmp/bpf-c /tmp/bpf-d /tmp/tree-a /tmp/tree-b /tmp/mnt-a /tmp/newroot
mount -t bpf bpf /tmp/bpf-a
mount -t bpf bpf /tmp/bpf-b
mount -t bpf bpf /tmp/bpf-c
mount -t bpf bpf /tmp/bpf-d
for tree in /tmp/tree-a /tmp/tree-b; do
    mount -t tmpfs tmpfs $tree && mkdir -p $tree/bpf && mount -t bpf bpf $tree/bpf
done
echo fake > /tmp/fake-shadow
cp /etc/shadow /tmp/shadow-copy
/opt/t/task/other sleep 300 &
VICTIM=$!
sleep 1
E=/opt/t/root/escape
F=/opt/t/root-free/escape
# escape NAME CONTROL ARGS...: ARGS denied to the confined copy, CONTROL for the unprofiled one.
escape() {
    name=$1 control=$2
    shift 2
    escape_as "$name" "$control" "$*" "$*"
}
# escape_as NAME CONTROL CONFINED_ARGS CONTROL_ARGS: where the two must differ.
escape_as() {
    escape_refused "$1" denied "$2" "$3" "$4"
}
# escape_refused NAME REFUSAL CONTROL CONFINED_ARGS CONTROL_ARGS: the confined
# copy sees REFUSAL (the kernel may word a denial its own way).
escape_refused() {
    # shellcheck disable=SC2086
    got=$($E $4 2>&1) ctl=$($F $5 2>&1)
    if [ "$got" = "$2" ] && [ "$ctl" = "$3" ]; then
        pass "root escape denied: $1 (confined: $got, control: $ctl)"
    else
        fail "root escape denied: $1" "confined [$got], control [$ctl] (want $2, $3)"
    fi
}
escape "bpf(2): a map by id (BPF_MAP_GET_FD_BY_ID)" ok bpf-id
escape "bpf(2): bpfbox's pinned procs map (BPF_OBJ_GET)" ok bpf-pin /sys/fs/bpf/bpfbox/maps/procs
escape "bpf(2): creating a map" ok bpf-create
escape_as "umount of a BPF file system" ok "umount /tmp/bpf-a" "umount /tmp/bpf-b"
escape_as "umount of /sys/fs/bpf itself" ok "umount /sys/fs/bpf" "umount /tmp/bpf-a"
escape_as "read-only remount of a BPF file system" ok "remount-ro /tmp/bpf-c" "remount-ro /tmp/bpf-d"
escape_as "lazy umount of a tree with a BPF file system below" ok "umount-lazy /tmp/tree-a" "umount-lazy /tmp/tree-b"
escape_as "bind mount over /etc/shadow" ok "bind /tmp/fake-shadow /etc/shadow" "bind /tmp/fake-shadow /tmp/shadow-copy"
umount /tmp/shadow-copy 2>/dev/null
escape_as "tmpfs over /etc" ok "tmpfs /etc" "tmpfs /tmp/mnt-a"
umount /tmp/mnt-a 2>/dev/null
escape_as "open_tree + move_mount over /etc/shadow" ok "move-mount /tmp/fake-shadow /etc/shadow" "move-mount /tmp/fake-shadow /tmp/shadow-copy"
umount /tmp/shadow-copy 2>/dev/null
escape "pivot_root in a new mount namespace" ok pivot /tmp/newroot
escape "tracefs: kprobe_events for writing" ok open-write /sys/kernel/tracing/kprobe_events
escape "debugfs: reading" ok open-read /sys/kernel/debug
escape "securityfs: reading" ok open-read /sys/kernel/security/lsm
escape "SysV shared memory" ok shm
escape "SysV message queue" ok msg
escape "SysV semaphore" ok sem
# keyctl read reports a key the process may not see as absent (ENOKEY).
KEY=$($F key-add)
escape_refused "reading a key in root's user key ring" error:ENOKEY ok "key-read ${KEY#ok:}" "key-read ${KEY#ok:}"
escape "perf_event_open" ok perf
escape "init_module (the control reaches the loader)" error:ENOEXEC module
escape "ioperm" ok ioperm
escape "settimeofday" ok settime
escape "reboot(2) (Ctrl-Alt-Del off)" ok reboot-cad
escape "sethostname" ok hostname
escape "syslog(2)" ok syslog
escape "network ioctl SIOCSIFFLAGS" ok ifflags
escape "mknod of /dev/mem's device in an allowed directory" ok mknod /srv/t/esc-dir/mem
escape "prlimit of another process" ok prlimit $VICTIM
escape "setpriority of another process" ok nice $VICTIM
escape "F_SETOWN to another process (SIGIO around task_kill)" ok setown $VICTIM
escape "FIOSETOWN through the 32-bit ioctl entry (int \$0x80)" ok setown32 $VICTIM
escape "fanotify_init" ok fanotify
escape "inotify watch on a denied file" ok inotify /etc/shadow
escape "memfd + execveat" ok memfd-exec
escape "memfd mapped PROT_EXEC" ok memfd-mmapx
escape "bind to port 80 without cap(net_bind_service)" ok bind-port 80
escape "setuid without cap(setuid)" ok setuid 65534
expect "root escape: the policy is still in force afterwards" "ok denied denied" \
    $E open-read /srv/t/readable , open-read /etc/shadow , open-read /srv/t/secret
expect "cap and sys rules grant: port 80, setuid, SysV shm" "ok ok ok" \
    /opt/t/capok/escape bind-port 80 , setuid 65534 , shm
expect "self-protection holds before the taint: bpf(2), umount, remount, unlinking a pin (a program's, a shared function's), init_module, ioperm (lockdown) (the secret is still readable: untainted)" \
    "denied denied denied denied denied denied denied denied ok" \
    /opt/t/untainted/escape bpf-id , bpf-create , umount /tmp/bpf-c , remount-ro /tmp/bpf-c , unlink /sys/fs/bpf/bpfbox/links/file_open , \
    unlink /sys/fs/bpf/bpfbox/links/file_open:file_decision , module , ioperm , open-read /srv/t/secret
out=$($E forks 100)
case "$out" in
    refused:[0-9]*:EAGAIN) pass "fork at the limit of tracked processes fails with EAGAIN ($out of 100); control: $($F forks 100)" ;;
    *) fail "fork at the limit of tracked processes" "got [$out]" ;;
esac
expect "after the children exit, their room is free again" "ok:5" $E forks 5
expect_status "list: the forks refused at the limit are told, with the fix" 0 \
    "^warning: since bpfbox was loaded, [0-9]* forks* of .*confined process.* refused (EAGAIN).*load again with a larger --max-procs" list_warnings
# A fork that fails after bpfbox claimed room for the child (here at the
# pids cgroup's limit, which the kernel checks after the LSM hooks) gives
# the room back: 100 processes, each refused one fork, then 5 forks, of 64
# rooms. (One process refused many times would hold one claim at most.)
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
echo +pids > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p /sys/fs/cgroup/failfork
echo 1 > /sys/fs/cgroup/failfork/pids.max
refused_forks() { # N processes alone in that cgroup, each refused a fork
    n=0
    for i in $(seq "$1"); do
        out=$(sh -c "echo \$\$ > /sys/fs/cgroup/failfork/cgroup.procs && exec $E failforks 1" 2>&1)
        [ "$out" = "failed:1:EAGAIN" ] && n=$((n + 1))
    done
    echo "refused:$n $($E forks 5)"
}
expect "a fork refused after the claim (a pids cgroup's limit) gives its room back: 100 processes refused one each, then 5 forks" \
    "refused:100 ok:5" refused_forks 100
kill $VICTIM 2>/dev/null

# ---- taint -----------------------------------------------------------------
expect "taint: anything before the taint, only the allowed after" "ok ok denied ok" \
    /opt/t/taint/probe read /srv/t/secret , read /srv/t/trigger , read /srv/t/secret , read /srv/t/readable
expect "taint: a child inherits the taint" "ok ok denied" \
    /opt/t/taint/probe read /srv/t/trigger , fork read /srv/t/readable , fork read /srv/t/secret
expect "taint: a new process starts untainted" "ok" /opt/t/taint/probe read /srv/t/secret
# What a tainted process remembered about a file answers the profile's other
# tainted processes, never an untainted one: its open of the trigger, which
# the profile allows too, still taints it.
expect "taint: a file remembered by a tainted process still taints the next, untainted one" "ok ok
ok denied" taskset -c 0 sh -c "/opt/t/taint/probe read /srv/t/trigger , read /srv/t/trigger; \
    /opt/t/taint/probe read /srv/t/trigger , read /srv/t/secret"
# (the parent's "ok", the exec'd child's line, then the parent's exec "ok")
expect "taint: exec of its own binary keeps the taint" "okdenied
 ok" /opt/t/taint/probe read /srv/t/trigger , exec /opt/t/taint/probe read /srv/t/secret

# Cases about what a CPU remembers (the per-CPU recent entries in front of
# file_memo) run their probes on CPU 0, so that a second read finds the
# entry the first left there, the first place a decision is looked for.
ONE_CPU="taskset -c 0"

# ---- #[func] scopes --------------------------------------------------------
L=/opt/t/login/login
expect "func: inside check_password" "check_password: ok" $L check
expect "func: outside any scoped function" "main: denied (Operation not permitted)" $L outside
expect "func: nested scoped functions" "verify_hash: ok
check_password: ok" $L nested
expect "func: recursion keeps the scope until the outermost return" "recurse(0): ok
recurse(1): ok
recurse(2): ok
recurse(3): ok
main after recurse: denied (Operation not permitted)" $L recurse 3
expect "func: a new thread starts outside the scope" "thread: denied (Operation not permitted)" $L thread
expect "func: a child forked inside the scope inherits it" "child in check_password: ok
check_password: ok" $L forkinside
expect "func: append only inside add_user" "add_user: ok" $L add bpfbox
expect "func: PIE build" "check_password: ok" /opt/t/login-pie/login check
expect "func: PIE build, outside" "main: denied (Operation not permitted)" /opt/t/login-pie/login outside
expect "func: outside, inside, outside again in one process" "main before: denied (Operation not permitted)
check_password: ok
main after: denied (Operation not permitted)" $L around
expect "func: a scope's #[deny] wins over what was allowed (and remembered) outside it" "main before: ok
check_password: denied (Operation not permitted)
main after: ok" $ONE_CPU /opt/t/scopedeny/login around
expect "func: a socket only inside the scope: denied before and after it (one CPU)" "main before: denied (Operation not permitted)
open_session: ok
main after: denied (Operation not permitted)" $ONE_CPU $L netaround
expect "func: a scope's #[deny] of a socket wins over the allow remembered outside it (one CPU)" "main before: ok
open_session: denied (Operation not permitted)
main after: ok" $ONE_CPU /opt/t/scopedeny/login netaround
expect "func: eight different scoped functions active at once: recorded, the innermost allowed" "level8: ok
main after: ok" /opt/t/scopedeny/login deep 8
expect "func: a ninth, which cannot be recorded, with a #[deny]: denied inside it, allowed after it returns" "level9: denied (Operation not permitted)
main after: ok" /opt/t/scopedeny/login deep 9
expect_status "list: the scope that could not be recorded is told, with the fix" 0 \
    "^warning: since bpfbox was loaded, [0-9]* #\[func\] scopes* could not be recorded (more than 8 active in one thread.*nest fewer scoped functions" list_warnings

# ---- #[kfunc] scopes ---------------------------------------------------------
expect "kfunc: open inside do_filp_open, read(2) outside it" "ok denied" /opt/t/kf/probe openonly /srv/t/kf , readfd /srv/t/kf

# ---- processes: children, threads, exec --------------------------------------
A=/opt/t/sw/a
expect "process: children and threads inherit the profile" "ok denied ok denied" \
    $A fork read /srv/t/a-only , fork read /srv/t/secret , thread read /srv/t/a-only , thread read /srv/t/secret
expect "process: exec of a profiled binary switches profile" "ok
ok" $A exec /opt/t/sw/b read /srv/t/b-only
expect "process: the old profile is gone after the switch" "denied
ok" $A exec /opt/t/sw/b read /srv/t/a-only
expect "process: exec of an unprofiled binary keeps the profile (denies)" "denied
ok" $A exec /opt/t/sw/plain read /srv/t/secret
expect "process: exec of an unprofiled binary keeps the profile (allows)" "ok
ok" $A exec /opt/t/sw/plain read /srv/t/a-only

expect "process: rules remembered before an exec in place do not outlive it" "ok denied" \
    $ONE_CPU $A read /srv/t/a-only , execin /opt/t/sw/b read /srv/t/a-only
expect "process: ... the control: the exec'd program's own rules" "ok ok" \
    $ONE_CPU $A read /srv/t/a-only , execin /opt/t/sw/b read /srv/t/b-only
# One CPU, two processes one after the other: what the first was allowed
# and left in the CPU's recent entry is not the second's.
expect "process: a file read by one profile's process, then by another's on the same CPU: denied to the second" \
    "ok ok
denied" sh -c "$ONE_CPU $A read /srv/t/a-only , read /srv/t/a-only; $ONE_CPU /opt/t/sw/b read /srv/t/a-only"

# A freed task's memory goes to the next task forked on the same CPU (the
# slab's freelist): what the CPU remembered for the dead task is not its
# successor's (task_free starts a new recent_epoch). Between the first
# process's reads and the child's, only shell builtins run: no exec, no
# exit, no rename, which would start a new epoch too.
expect "process: a task freed and its memory given to a forked child of another profile: the child is denied" \
    "ok ok
ok denied" $ONE_CPU sh -c 'rm -f /tmp/freed; /opt/t/sw/b waitfor /tmp/freed , fork read /srv/t/a-only 2>/dev/null &
        sleep 1; '"$A"' read /srv/t/a-only , read /srv/t/a-only
        i=0; while [ $i -lt 2000 ]; do i=$((i + 1)); done; : > /tmp/freed; wait'

# ---- rules remembered on files (recent, file_memo) ---------------------------
# One process reads, the test changes what the decision depends on, the same
# process reads again: it sees the change, never what was remembered, on
# one CPU (ONE_CPU). The change's own commands (their exec and exit, a
# rename, a link) start a new recent_epoch, so these cases test the memo's
# tag behind the CPU's entry; the entry's own are tested above (exec in
# place, a task freed, a scope's #[deny]).
M="$ONE_CPU /opt/t/memo/probe"
expect "memo: the control: nothing changed, the open file and the path still read" "ok ok ok ok ok ok" \
    across true $M hold /srv/t/mv/in/keep/f , readheld , read /srv/t/mv/in/keep/f , waitfor /tmp/go , readheld , read /srv/t/mv/in/keep/f
expect "memo: a directory renamed out of the ** rule: the open file and the new path are denied" "ok ok ok ok denied denied" \
    across "mv /srv/t/mv/in/d /srv/t/mv/out" \
    $M hold /srv/t/mv/in/d/f , readheld , read /srv/t/mv/in/d/f , waitfor /tmp/go , readheld , read /srv/t/mv/out/f
expect "memo: a hard link made outside the rule after a read: denied through it" "ok ok denied ok" \
    across "ln /srv/t/mv/in/linked /srv/t/mv/twin" \
    $M read /srv/t/mv/in/linked , waitfor /tmp/go , read /srv/t/mv/twin , read /srv/t/mv/in/linked
# link() then unlink(): one name again, in another place, with no rename.
expect "memo: a file moved by link() and unlink() out of the ** rule: denied under its new name" "ok ok ok denied" \
    across "ln /srv/t/mv/in/moved /srv/t/mv/moved && rm /srv/t/mv/in/moved" \
    $M read /srv/t/mv/in/moved , read /srv/t/mv/in/moved , waitfor /tmp/go , read /srv/t/mv/moved
expect "memo: a file renamed out of the ** rule: denied under its new name" "ok ok ok denied" \
    across "mv /srv/t/mv/in/renamed /srv/t/mv/renamed" \
    $M read /srv/t/mv/in/renamed , read /srv/t/mv/in/renamed , waitfor /tmp/go , read /srv/t/mv/renamed

# An inode freed and its memory given to the next file's inode: what the
# CPU remembered for the first is not the second's. A file the profile
# lets the probe read is made afresh on CPU 0 (its inode from that CPU's
# slab, the profile reloaded to name it); the probe holds it, the test
# unlinks it (a new epoch), the probe reads it again (remembered on CPU 0
# in the new epoch), closes it (the inode is freed, after an RCU grace
# period, back to CPU 0's slab, whose next inode takes its memory), makes
# a directory (which its profile lets it create, and no more) and opens
# it: denied. Between that read and the open no task exits, execs or
# renames (the sleeps let the test's own exits pass first). With an
# entry told by the inode's address alone, the open matched it and was
# allowed: the entry's inode number and file system are what tell.
$ONE_CPU sh -c 'rm -rf /srv/t/freed/a /srv/t/freed/b; echo x > /srv/t/freed/a'
$LOAD -q $IMG/freed.bbx
expect "memo: an unlinked file's inode freed, a new directory made: it is not opened on the file's rules" \
    "ok ok ok ok ok ok ok denied" \
    across "rm /srv/t/freed/a" \
    $ONE_CPU /opt/t/freed/probe hold /srv/t/freed/a , waitfor /tmp/go , sleep 1 , readheld , closeheld , sleep 1 , \
    mkdir /srv/t/freed/b , openonly /srv/t/freed/b

# ---- signals, ptrace, /proc, sockets -----------------------------------------
/opt/t/task/target sleep 300 &
TARGET=$!
/opt/t/task/other sleep 300 &
OTHER=$!
sleep 1
P=/opt/t/task/probe
expect "signal: sigcheck to a listed executable / another" "ok denied" $P kill $TARGET 0 , kill $OTHER 0
expect "signal: sigmisc not granted" "denied" $P kill $TARGET 15
expect "ptrace: attach to a listed executable / another" "ok denied" $P ptrace $TARGET , ptrace $OTHER
expect "proc: /proc/PID of a listed executable / another / self" "ok denied ok" \
    $P read /proc/$TARGET/status , read /proc/$OTHER/status , read /proc/self/status
expect "net: families" "ok ok denied denied" $P socket unix , socket inet , socket inet6 , socket netlink
expect "net: connect allowed (and refused: nobody listens)" "error:ECONNREFUSED" $P connect 9
expect "net: connect not allowed" "denied" /opt/t/task2/probe connect 9
# What CPU 0 remembers of a socket decision answers the thread's next one,
# and not the program it execs into, which another profile confines.
expect "net: a socket allowed twice, and to the program exec'd in place under the same profile (control)" "ok ok ok" \
    $ONE_CPU /opt/t/netc/probe socket inet , socket inet , execin /opt/t/netc/probe socket inet
expect "net: a socket allowed twice, then denied to the program exec'd in place under another profile" "ok ok denied" \
    $ONE_CPU /opt/t/netc/probe socket inet , socket inet , execin /opt/t/netc2/probe socket inet
expect "signal: sigkill granted" "ok" $P kill $TARGET 9
kill $OTHER 2>/dev/null

# ---- audit events ------------------------------------------------------------
follow_start /tmp/events.json /tmp/follow.err
expect "audit: #[audit] allows, the rest is denied" "ok denied denied" /opt/t/audit/probe read /srv/t/audited , read /srv/t/secret , read /srv/t/secret2
expect "complain: would-be denials are allowed" "ok" /opt/t/complain/probe read /srv/t/secret
# Output to a file the profile does not allow (its stdout, opened by the
# shell) is refused: the event names the file by its full path, across the
# tmpfs mounted on /tmp.
/opt/t/audit/probe read /srv/t/audited > /tmp/not-allowed.out
follow_stop
line=$(grep '"decision":"audit"' /tmp/events.json | grep '"path":"/srv/t/audited"' | head -1)
ok=1
for field in '"time":"20' '"pid":' '"tid":' '"ppid":' '"exe":"/opt/t/audit/probe"' '"argv0":"/opt/t/audit/probe"' '"comm":"probe"' '"profile":"/opt/t/audit/probe"' '"op":"open"' '"kind":"file"' '"access":\["read"\]' '"scope":null' '"ino":'; do
    printf '%s' "$line" | grep -q "$field" || { ok=0; fail "audit: event field $field" "in [$line]"; }
done
[ $ok = 1 ] && pass "audit: the event is JSON with time, pid, tid, ppid, exe, argv0, comm, profile, op, kind, access, scope, object"
grep '"decision":"deny"' /tmp/events.json | grep -q '"path":"/srv/t/secret"' && pass "audit: denials are logged" \
    || fail "audit: denials are logged" "$(cat /tmp/events.json /tmp/follow.err)"
# The rule that decided, as the policy file and line; none for what no rule allows.
grep '"path":"/srv/t/audited"' /tmp/events.json | grep -q '"rule":{"file":"[^"]*/audit.policy","line":2}' \
    && pass "events: an audit event cites its rule's file and line" \
    || fail "events: an audit event cites its rule's file and line" "$(grep audited /tmp/events.json)"
grep '"path":"/srv/t/secret2"' /tmp/events.json | grep -q '"rule":{"file":"[^"]*/audit.policy","line":4}' \
    && pass "events: a #[deny] denial cites the #[deny] rule" \
    || fail "events: a #[deny] denial cites the #[deny] rule" "$(grep secret2 /tmp/events.json)"
grep '"decision":"deny"' /tmp/events.json | grep '"path":"/srv/t/secret"' | grep -q '"rule":null' \
    && pass "events: a denial of what no rule allows cites no rule" \
    || fail "events: a denial of what no rule allows cites no rule" "$(grep '/srv/t/secret"' /tmp/events.json)"
grep '"decision":"complain"' /tmp/events.json | grep -q '"profile":"/opt/t/complain/probe"' && pass "complain: logged as complain" \
    || fail "complain: logged as complain" "$(cat /tmp/events.json)"
grep '"decision":"taint"' /tmp/events.json > /dev/null; true
grep '"op":"permission"' /tmp/events.json | grep '"decision":"deny"' | grep -q '"path":"/tmp/not-allowed.out"' \
    && pass "audit: a refused write to an inherited stdout names the file's path" \
    || fail "audit: a refused write to an inherited stdout names the file's path" "$(grep permission /tmp/events.json)"

# No reader: 8,000 denials overflow the ring buffer (about 4,500 events);
# the next --follow says how many were lost, on stderr, before anything else.
expect "audit: 8,000 denials with nobody reading" "denied:8000" /opt/t/fs/probe loop 8000 /srv/t/secret
follow_start /tmp/events2.json /tmp/follow2.err
follow_stop
grep -q "events were dropped because the ring buffer was full" /tmp/follow2.err \
    && pass "audit: dropped events are reported ($(head -c 40 /tmp/follow2.err)...), then $(wc -l < /tmp/events2.json) kept" \
    || fail "audit: dropped events are reported" "stderr [$(cat /tmp/follow2.err)]"

# ---- unix sockets by path; quiet denials ---------------------------------------
# Servers, unconfined, bound before the policy is loaded (a rule names the
# socket's file as it is then) and after (covered by a ** rule).
mkdir -p /run/t/sock /run/t/dsock
/opt/t/free/probe unixlisten /run/t/sock/allowed , unixlisten /run/t/sock/other , unixlisten /run/t/sock/noise , \
    unixdgram /run/t/dsock/d1 , unixdgram /run/t/sock/dother , unixlisten @bpfbox-abstract , sleep 300 > /dev/null &
UNIX_SERVER=$!
sleep 1
out=$($LOAD $IMG/unix.bbx 2>&1) && pass "load unix" || fail "load unix" "$out"
/opt/t/free/probe unixdgram /run/t/dsock/d2 , sleep 300 > /dev/null &
UNIX_LATER=$!
sleep 1
follow_start /tmp/unix.json /tmp/unix.err --json
P=/opt/t/unix/probe
expect "unix: a stream connect to the socket a rule names / to another" "ok denied" \
    $P unixconnect /run/t/sock/allowed , unixconnect /run/t/sock/other
expect "unix: datagrams to sockets under a ** rule, one bound after loading / to another" "ok ok denied" \
    $P unixsend /run/t/dsock/d1 , unixsend /run/t/dsock/d2 , unixsend /run/t/sock/dother
expect "unix: an abstract socket is named by no path (the family rule has no connect)" "denied" $P unixconnect @bpfbox-abstract
expect "unix: the same, unconfined" "ok ok ok" /opt/t/free/probe unixconnect /run/t/sock/other , unixsend /run/t/sock/dother , unixconnect @bpfbox-abstract
expect "unix: no socket at the path: the connect fails as it would, no decision" "error:ENOENT" $P unixconnect /run/t/sock/none
expect "quiet: #[quiet] denies" "denied denied denied" $P unixconnect /run/t/sock/noise , read /srv/t/quiet , read /srv/t/loud
follow_stop
grep '"decision":"deny"' /tmp/unix.json | grep '"op":"unix_connect"' | grep '"kind":"file"' | grep '"access":\["connect"\]' \
    | grep -q '"path":"/run/t/sock/other"' \
    && pass "unix: the denied connect is an event naming the socket's path" \
    || fail "unix: the denied connect is an event naming the socket's path" "$(cat /tmp/unix.json /tmp/unix.err)"
grep '"op":"unix_send"' /tmp/unix.json | grep -q '"path":"/run/t/sock/dother"' \
    && pass "unix: the denied datagram is an event naming the socket's path" \
    || fail "unix: the denied datagram is an event naming the socket's path" "$(cat /tmp/unix.json)"
grep -q '"/run/t/sock/noise"\|"/srv/t/quiet"' /tmp/unix.json \
    && fail "quiet: #[quiet] denials make no event" "$(grep 'noise\|quiet' /tmp/unix.json)" \
    || pass "quiet: #[quiet] denials make no event"
grep -q '"path":"/srv/t/loud"' /tmp/unix.json && pass "quiet: a loud #[deny] on the same access is logged" \
    || fail "quiet: a loud #[deny] on the same access is logged" "$(cat /tmp/unix.json)"
# Where in its program the process was: the probe's own functions, from
# return addresses on its stack (it has no frame pointers).
# Stale return addresses left in its frames may show too (printf, called
# before): learning keeps only what all of a rule's events share.
grep '"path":"/run/t/sock/other"' /tmp/unix.json | grep -q '"functions":\["run_one",[^]]*"main"' \
    && pass "events: the functions the process was in, innermost first" \
    || fail "events: the functions the process was in, innermost first" "$(grep '/run/t/sock/other' /tmp/unix.json)"
kill $UNIX_SERVER $UNIX_LATER 2>/dev/null

# ---- learning ----------------------------------------------------------------
# Record one complain-mode run of a workload, learn a policy from its events,
# load it in enforce mode, replay the workload: no denial; then attacks the
# workload never made are denied.
mkdir -p /srv/t/learn/out
echo input > /srv/t/learn/in.txt
echo kept > /srv/t/learn/out/keep
sleep 1000 &
PEER=$!
L=/opt/t/learn/probe
workload() { # a run number: names that differ between runs
    $L read /srv/t/learn/in.txt , stat /srv/t/learn/in.txt , readfd /srv/t/learn/in.txt \
        , create /srv/t/learn/out/job-$1.tmp , unlink /srv/t/learn/out/job-$1.tmp \
        , mkdir /srv/t/learn/out/d$1 , rename /srv/t/learn/out/d$1 /srv/t/learn/out/done$1 \
        , chmod /srv/t/learn/out/keep , kill $PEER 0 \
        , exec /opt/t/learn/helper stat /srv/t/learn/in.txt
}
follow_start /tmp/learn-run.json /tmp/learn-follow.err --json
recorded=$(workload 1 2>&1)
follow_stop
case "$recorded" in
    *denied*|*error*|*failed*) fail "learn: the complain-mode run succeeds" "[$recorded]" ;;
    *) pass "learn: the complain-mode run succeeds ($(grep -c '"decision":"complain"' /tmp/learn-run.json) events)" ;;
esac
no_drops "learn: no event dropped while recording" /tmp/learn-follow.err
grep '"op":"create"' /tmp/learn-run.json | grep -q '"entry":"/srv/t/learn/out/job-1.tmp"' \
    && pass "events: a directory's write names the entry, by its full path" \
    || fail "events: a directory's write names the entry, by its full path" "$(grep '"op":"create"' /tmp/learn-run.json)"
grep '"op":"setattr"' /tmp/learn-run.json | grep -q '"path":"/srv/t/learn/out/keep"' \
    && pass "events: setattr names the file by its full path" \
    || fail "events: setattr names the file by its full path" "$(grep '"op":"setattr"' /tmp/learn-run.json)"
grep '"op":"signal"' /tmp/learn-run.json | grep -q '"exe":"/bin/busybox"' \
    && pass "events: a signal names the target's executable" \
    || fail "events: a signal names the target's executable" "$(grep '"op":"signal"' /tmp/learn-run.json)"
if bpfbox-learn /tmp/learn-run.json -o /tmp/learned.policy 2>/tmp/learn.err; then
    pass "learn: bpfbox-learn writes a policy ($(grep -c '(' /tmp/learned.policy) rules; $(head -1 /tmp/learn.err))"
else
    fail "learn: bpfbox-learn writes a policy" "$(cat /tmp/learn.err)"
fi
sed 's/^/    learned: /' /tmp/learned.policy /tmp/learn.err
grep -q '^fs("/srv/t/learn/out/\*\*", ' /tmp/learned.policy && grep -q 'widened: fs("/srv/t/learn/out/\*\*"): observed' /tmp/learn.err \
    && pass "learn: files the program creates become one ** rule, reported" \
    || fail "learn: files the program creates become one ** rule, reported" "$(cat /tmp/learned.policy /tmp/learn.err)"
bpfbox-learn /tmp/learn-run.json 2>/dev/null | cmp -s - /tmp/learned.policy \
    && pass "learn: the same events give the same policy, byte for byte" \
    || fail "learn: the same events give the same policy, byte for byte" "differs"
compiles_clean "learn: the learned policy compiles with no error and no warning" /tmp/learned.policy /tmp/learned.bbx
expect_status "learn: the learned policy replaces the complain-mode one" 0 "^replaced /opt/t/learn/probe" $LOAD /tmp/learned.bbx
follow_start /tmp/learn-replay.json /tmp/learn-replay.err --json
for run in 2 3 4; do
    expect "learn: replay $((run - 1)) of the workload, enforced, does the same" "$recorded" workload $run
done
follow_stop
grep -q '"decision":"deny"' /tmp/learn-replay.json \
    && fail "learn: no denial in the replays" "$(grep '"decision":"deny"' /tmp/learn-replay.json | head -3)" \
    || pass "learn: no denial in the replays"
expect "learn: what the workload never did is denied (secret, write a binary, shell, connect, ptrace)" \
    "denied denied denied denied" $L read /srv/t/secret , write /opt/t/fs/helper , connect 9 , ptrace $PEER
expect "learn: ... nor exec of a shell" "denied" $L exec /bin/sh -c true
bpfbox-learn --against /tmp/learned.policy /tmp/learn-run.json > /tmp/learn-new.txt 2>/dev/null
[ -s /tmp/learn-new.txt ] && fail "learn: --against the learned policy finds nothing new" "$(cat /tmp/learn-new.txt)" \
    || pass "learn: --against the learned policy finds nothing new"
$LOAD --unload /opt/t/learn/probe > /dev/null 2>&1
kill $PEER 2>/dev/null

# ---- learning a real program: Debian's nginx ----------------------------------
# Its package's binary, master and worker, started, serving, reloaded and
# stopped by its own commands. The profile was loaded in complain mode
# above; first a control without it.
mkdir -p /var/www/html /var/log/nginx /run/nginx /var/lib/nginx
echo "<h1>hello from nginx</h1>" > /var/www/html/index.html
NG="/usr/sbin/nginx -c /etc/nginx.conf"
wait_for() { # a test, up to 10 seconds
    i=0
    while ! eval "$1" && [ $i -lt 20 ]; do usleep 500000; i=$((i + 1)); done
}
nginx_workload() {
    problems=""
    $NG -t -q 2>/dev/null || problems="$problems config-test-failed"
    $NG 2>/dev/null || problems="$problems start-failed"
    wait_for '[ -s /run/nginx/nginx.pid ]'
    pages=0
    for n in 1 2 3 4 5 6 7 8 9 10; do
        wget -q -O - http://127.0.0.1:8080/index.html 2>/dev/null | grep -q "hello from nginx" && pages=$((pages + 1))
    done
    $NG -s reload 2>/dev/null || problems="$problems reload-failed"
    usleep 500000
    for n in 1 2 3 4 5; do
        wget -q -O - http://127.0.0.1:8080/index.html 2>/dev/null | grep -q "hello from nginx" && pages=$((pages + 1))
    done
    $NG -s stop 2>/dev/null || problems="$problems stop-failed"
    wait_for '[ ! -e /run/nginx/nginx.pid ]'
    [ -e /run/nginx/nginx.pid ] && problems="$problems still-running"
    echo "$pages pages$problems"
}
$NG 2>&1 | sed 's/^/    nginx said: /'
wait_for '[ -s /run/nginx/nginx.pid ]'
wget -q -O - "http://127.0.0.1:8080/files../etc/shadow" 2>/dev/null | grep -q "^root:" \
    && pass "nginx: control: unconfined, the off-by-slash alias serves /etc/shadow" \
    || fail "nginx: control: unconfined, the off-by-slash alias serves /etc/shadow" "no shadow"
wget -q -O - "http://127.0.0.1:8080/files../etc/nginx/tls/server.key" 2>/dev/null | grep -q "PRIVATE KEY" \
    && pass "nginx: control: unconfined, it serves the TLS key too" \
    || fail "nginx: control: unconfined, it serves the TLS key too" "no key"
$NG -s stop 2>/dev/null
wait_for '[ ! -e /run/nginx/nginx.pid ]'
rm -rf /var/log/nginx/* /var/lib/nginx/*
$LOAD -q $IMG/nginx-learn.bbx
follow_start /tmp/nginx-run.json /tmp/nginx-follow.err --json
expect "nginx: a complain-mode run: start, 15 pages, reload, stop" "15 pages" nginx_workload
follow_stop
no_drops "nginx: no event dropped while recording ($(wc -l < /tmp/nginx-run.json) events)" /tmp/nginx-follow.err
bpfbox-learn /tmp/nginx-run.json -o /tmp/nginx.policy 2>/tmp/nginx-learn.err \
    && pass "nginx: bpfbox-learn writes a policy ($(grep -c '(' /tmp/nginx.policy) rules)" \
    || fail "nginx: bpfbox-learn writes a policy" "$(cat /tmp/nginx-learn.err)"
sed 's/^/    nginx learned: /' /tmp/nginx.policy /tmp/nginx-learn.err
# The learning section's attacks were logged with nobody reading, then its
# profile was unloaded and nginx's took the slot: those events stay theirs.
grep '"path":"/srv/t/secret"' /tmp/nginx-run.json | grep -q '"profile":null' && ! grep -q /srv/t/secret /tmp/nginx.policy \
    && pass "events: an event read after its profile was unloaded is not given to the next profile in its slot" \
    || fail "events: an event read after its profile was unloaded is not given to the next profile in its slot" "$(grep /srv/t/secret /tmp/nginx-run.json /tmp/nginx.policy)"
# The key was read only inside ngx_ssl_certificate (found from return
# addresses on nginx's stack, named by its .dynsym): learning scopes it.
sed -n '/#\[func ngx_ssl_certificate\]/,/^}/p' /tmp/nginx.policy | grep -q '"/etc/nginx/tls/server.key"' \
    && pass "nginx: the TLS key is learned inside #[func ngx_ssl_certificate]" \
    || fail "nginx: the TLS key is learned inside #[func ngx_ssl_certificate]" "$(cat /tmp/nginx.policy)"
compiles_clean "nginx: the learned policy compiles with no error and no warning" /tmp/nginx.policy /tmp/nginx.bbx
expect_status "nginx: the learned policy replaces complain mode" 0 "^replaced /usr/sbin/nginx" $LOAD /tmp/nginx.bbx
follow_start /tmp/nginx-replay.json /tmp/nginx-replay.err --json
for run in 1 2 3; do
    expect "nginx: replay $run, enforced: start, 15 pages, reload, stop" "15 pages" nginx_workload
done
$NG 2>/dev/null
wait_for '[ -s /run/nginx/nginx.pid ]'
wget -q -O - "http://127.0.0.1:8080/files../etc/shadow" 2>/dev/null | grep -q "^root:" \
    && fail "nginx: enforced, the off-by-slash alias cannot serve /etc/shadow" "served" \
    || pass "nginx: enforced, the off-by-slash alias cannot serve /etc/shadow"
wget -q -O - "http://127.0.0.1:8080/files../etc/nginx/tls/server.key" 2>/dev/null | grep -q "PRIVATE KEY" \
    && fail "nginx: enforced, nor the TLS key (readable only inside ngx_ssl_certificate)" "served" \
    || pass "nginx: enforced, nor the TLS key (readable only inside ngx_ssl_certificate)"
$NG -s stop 2>/dev/null
wait_for '[ ! -e /run/nginx/nginx.pid ]'
follow_stop
denials=$(grep '"decision":"deny"' /tmp/nginx-replay.json)
[ "$(printf '%s\n' "$denials" | grep -c .)" = 2 ] && printf '%s' "$denials" | grep -q '"path":"/etc/shadow"' \
    && printf '%s' "$denials" | grep -q '"path":"/etc/nginx/tls/server.key"' \
    && pass "nginx: the only denials in three replays and the attacks are /etc/shadow and the key" \
    || fail "nginx: the only denials in three replays and the attacks are /etc/shadow and the key" "$(printf '%s\n' "$denials" | head -5)"
no_drops "nginx: no event dropped in the replays" /tmp/nginx-replay.err
$LOAD -q --unload /usr/sbin/nginx

# ---- reload ------------------------------------------------------------------
P=/opt/t/reload/probe
expect_status "reload: first load" 0 "^loaded /opt/t/reload/probe" $LOAD $IMG/reload-v1.bbx
expect_status "reload: same image again" 0 "^unchanged /opt/t/reload/probe" $LOAD $IMG/reload-v1.bbx
expect "reload: v1 does not allow b-only" "denied" $P read /srv/t/b-only
# The workload reads an allowed file in a loop until told to stop; the
# confined process writes to a pipe (its stdout), cat to the file.
rm -f /tmp/stop
($P loopuntil /srv/t/readable /tmp/stop | cat > /tmp/workload.out) &
WORKLOAD=$!
mode=$(cat /sys/kernel/debug/sched/preempt 2>&1)
case "$mode" in
    *"(full)"*) pass "reload: the guest kernel is fully preemptible ($mode)" ;;
    *) fail "reload: the guest kernel is fully preemptible" "sched/preempt says [$mode]" ;;
esac
# A busy guest (the kernel is booted with preempt=full): the workload's
# decisions get preempted mid-way, and the old rules must outlive them.
(while [ ! -e /tmp/stop ]; do :; done) &
HOG=$!
sleep 1
replaced=0
for i in 1 2 3 4 5 6 7 8 9 10; do
    $LOAD -q $IMG/reload-v2.bbx && $LOAD -q $IMG/reload-v1.bbx && replaced=$((replaced + 2))
done
touch /tmp/stop
wait $WORKLOAD
wait $HOG
result=$(cat /tmp/workload.out)
case "$result" in
    ok:*) pass "reload: $replaced atomic replacements under load, ${result#ok:} reads, none denied" ;;
    *) fail "reload: $replaced atomic replacements under load" "the workload saw [$result]" ;;
esac
expect_status "reload: a changed profile is replaced" 0 "^replaced /opt/t/reload/probe" $LOAD $IMG/reload-v2.bbx
expect "reload: the new rules are in force" "ok ok" $P read /srv/t/b-only , read /srv/t/readable
expect "reload: a process that read a file under the old rules is denied it under the new (open file, path)" \
    "ok ok ok ok denied denied" \
    across "$LOAD -q $IMG/reload-v1.bbx" \
    $ONE_CPU $P hold /srv/t/b-only , readheld , read /srv/t/b-only , waitfor /tmp/go , readheld , read /srv/t/b-only
$LOAD -q $IMG/reload-v1.bbx
# A socket decision remembered on CPU 0 answers the thread's next socket
# under the same rules only.
expect "reload: a socket allowed twice on one CPU, and again with no reload (control)" "ok ok ok ok" \
    across ":" $ONE_CPU $P socket inet , socket inet , waitfor /tmp/go , socket inet
expect "reload: a socket allowed twice on one CPU under the old rules is denied under the new" "ok ok ok denied" \
    across "$LOAD -q $IMG/reload-v2.bbx" $ONE_CPU $P socket inet , socket inet , waitfor /tmp/go , socket inet
# What one process remembered under a profile answers the profile's next
# process, under the same rules only.
expect "reload: a file remembered by one process answers the next one (control)" "ok
ok" sh -c "$ONE_CPU $P read /srv/t/b-only; $ONE_CPU $P read /srv/t/b-only"
expect "reload: a file remembered by one process under the old rules: the next one is denied it under the new" "ok
denied" sh -c "$ONE_CPU $P read /srv/t/b-only; $LOAD -q $IMG/reload-v1.bbx; $ONE_CPU $P read /srv/t/b-only"
$LOAD -q $IMG/reload-v2.bbx
# A switch that fails half-way (exe_profiles filled up by hand) is undone:
# the reload probe, switched first, goes back to v2; the new profile is not
# in force; the error names the map.
/opt/t/root-free/escape fill /sys/fs/bpf/bpfbox/maps/exe_profiles > /dev/null
expect_status "a full map fails the switch with the cause, exit 3" 3 "cannot switch to the new rules: map exe_profiles, /opt/t/zfull/probe" \
    $LOAD $IMG/full.bbx
expect "after the failed switch: the replaced profile is back at v2" "ok denied" \
    $P read /srv/t/b-only , read /srv/t/secret
expect "after the failed switch: the new profile's process is free" "ok" /opt/t/zfull/probe read /srv/t/secret
/opt/t/root-free/escape unfill /sys/fs/bpf/bpfbox/maps/exe_profiles > /dev/null
expect_status "with room again, the same image loads" 0 "^loaded /opt/t/zfull/probe" $LOAD $IMG/full.bbx
expect "... and is in force" "denied denied" /opt/t/zfull/probe read /srv/t/secret , read /srv/t/b-only
$LOAD -q --unload /opt/t/zfull/probe
$LOAD -q $IMG/reload-v2.bbx
# Termination signals wait for a change to be done: loaders killed at
# moments spread over a 10,000-rule reload leave no rule entries behind
# (killed while writing, they would leave the new version's entries, which
# nothing points at, until the next load).
RULES=/sys/fs/bpf/bpfbox/maps/rules
(cd /srv/t/bench && seq 1 9997 | sed 's/^/f/' | xargs touch)
$LOAD -q $IMG/bench-10k.bbx
before=$(/opt/t/root-free/escape count $RULES)
killed=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do
    if [ $((i % 2)) = 1 ]; then image=bench-10k-changed; else image=bench-10k; fi
    $LOAD -q $IMG/$image.bbx > /dev/null 2>&1 &
    loader=$!
    usleep $((i * 70000))
    kill -TERM $loader 2>/dev/null && killed=$((killed + 1))
    wait $loader
done
$LOAD -q $IMG/bench-10k.bbx
after=$(/opt/t/root-free/escape count $RULES)
if [ "$before" = "$after" ] && [ "$killed" -gt 0 ]; then
    pass "loaders killed during a reload ($killed of 14) leave no rule entries behind ($after)"
else
    fail "loaders killed during a reload leave no rule entries behind" "$killed killed; the rules map had $before entries, now $after"
fi
# The keys each version wrote are recorded beside the maps (versions/, see
# runtime/src/kernel/written.rs), so that a version is deleted without
# reading the maps: one record per version in force, none left of those
# replaced or unloaded.
records_match() {
    want=$($LOAD --list | awk 'NR > 1 { print $3 }' | sort -n | tr '\n' ' ')
    got=$(ls /sys/fs/bpf/bpfbox/versions 2>/dev/null | sort -n | tr '\n' ' ')
    if [ -n "$want" ] && [ "$want" = "$got" ]; then pass "$1"; else fail "$1" "versions in force [$want], records [$got]"; fi
}
records_match "after those reloads, one key record per version in force, none of those replaced"
# SIGKILL does not wait: a loader killed while writing a version, or while
# switching to it, leaves entries and a record that nothing points at. The
# next loads delete them (by the record) and never reuse the version.
for i in 1 2 3 4 5 6 7 8; do
    if [ $((i % 2)) = 1 ]; then image=bench-10k-changed; else image=bench-10k; fi
    $LOAD -q $IMG/$image.bbx > /dev/null 2>&1 &
    loader=$!
    usleep $((i * 60000))
    kill -KILL $loader 2>/dev/null
    wait $loader 2>/dev/null
done
for image in bench-10k-changed bench-10k bench-10k-changed bench-10k; do $LOAD -q $IMG/$image.bbx; done
after=$(/opt/t/root-free/escape count $RULES)
[ "$before" = "$after" ] && pass "loaders killed with SIGKILL: the next loads delete what they left ($after entries)" ||
    fail "loaders killed with SIGKILL: the next loads delete what they left" "the rules map had $before entries, now $after"
records_match "... and their records"
# The loader lists a directory whose many files a profile names, instead
# of a stat per name (runtime/src/resolve.rs): each rule still names its
# file, and a file mounted over a name is the one named (a directory with
# a mount point in it is not listed).
expect_status "10,000 files of one directory named: one of them is readable" 0 "^openread " \
    /opt/t/bench/bench-10k openread 1 /srv/t/bench/f5000
expect_status "... a file of that directory the profile does not name is denied" 1 "Operation not permitted" \
    /opt/t/bench/bench-10k openread 1 /srv/t/bench/f9997
expect_status "... which is readable without the profile" 0 "^openread " \
    /opt/t/bench/bench openread 1 /srv/t/bench/f9997
echo over > /srv/t/over-f4000
mount -o bind /srv/t/over-f4000 /srv/t/bench/f4000
$LOAD -q $IMG/bench-10k.bbx
expect_status "... a file mounted over a named file is the one its rule allows" 0 "^openread " \
    /opt/t/bench/bench-10k openread 1 /srv/t/bench/f4000
umount /srv/t/bench/f4000
expect_status "... and the file it hid is not (the rule was bound to the mounted one)" 1 "Operation not permitted" \
    /opt/t/bench/bench-10k openread 1 /srv/t/bench/f4000
rm -f /srv/t/over-f4000
$LOAD -q --unload /opt/t/bench/bench-10k
records_match "an unloaded profile's key record goes with it"
rm -f /srv/t/bench/f*
expect_status "list: profiles in force" 0 "/opt/t/reload/probe *enforce" $LOAD --list
expect_status "unload: one profile" 0 "^unloaded /opt/t/reload/probe" $LOAD --unload /opt/t/reload/probe
expect "unload: its processes are free" "ok" $P read /srv/t/secret
expect "unload: the others stay" "denied" /opt/t/fs/probe read /srv/t/secret

# ---- fleets: images through an OCI registry, directories, --prune, --watch ---
# two CMD1 CMD2: both commands' outputs on one line.
two() { echo "$(sh -c "$1" 2>&1) $(sh -c "$2" 2>&1)"; }
# Debian's docker-registry on the VM's loopback; bpfbox-push publishes,
# bpfbox-load pulls by digest and loads.
mkdir -p /tmp/registry /etc/bpfbox
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: /tmp/registry\nhttp:\n  addr: 127.0.0.1:5000\n' > /etc/registry.yml
docker-registry serve /etc/registry.yml > /tmp/registry.log 2>&1 &
REGISTRY=$!
n=0
while ! wget -q -O /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null && [ $n -lt 100 ]; do sleep 0.2; n=$((n + 1)); done
A=/opt/t/fleeta/probe B=/opt/t/fleetb/probe
expect "fleet: without its profile, the probe reads the secret (control)" "ok ok" $A read /srv/t/secret , read /srv/t/readable
REF_A=$(bpfbox-push -q $IMG/fleet-a.bbx oci://127.0.0.1:5000/policies/fleet-a:v1 2>/tmp/push.err)
case "$REF_A" in
    oci://127.0.0.1:5000/policies/fleet-a@sha256:*) pass "fleet: bpfbox-push prints the digest reference" ;;
    *) fail "fleet: bpfbox-push prints the digest reference" "[$REF_A] $(cat /tmp/push.err) $(cat /tmp/registry.log)" ;;
esac
expect_status "fleet: a tag is refused without --allow-tag, nothing loaded" 2 "names a tag" $LOAD oci://127.0.0.1:5000/policies/fleet-a:v1
expect "fleet: ... the probe is still free" "ok" $A read /srv/t/secret
expect_status "fleet: bpfbox-load pulls by digest and loads" 0 "^loaded /opt/t/fleeta/probe" $LOAD "$REF_A"
expect "fleet: the pulled profile is in force" "denied ok" $A read /srv/t/secret , read /srv/t/readable
# A directory: an image file and a list of references, loaded together; one
# bad reference in the list and nothing of the directory is loaded.
cp $IMG/fleet-b.bbx /etc/bpfbox/fleet-b.bbx
printf '# this node\n%s\n%s\n' "$REF_A" "oci://127.0.0.1:5000/policies/fleet-a@sha256:0000000000000000000000000000000000000000000000000000000000000000" > /etc/bpfbox/fleet.oci
expect_status "fleet: an unknown digest in the list stops the load, exit 1" 1 "is not in the registry" $LOAD --prune /etc/bpfbox
expect "fleet: ... nothing of the directory was loaded, nothing pruned" "ok denied" two "$B read /srv/t/secret" "/opt/t/fs/probe read /srv/t/secret"
printf '%s\n' "$REF_A" > /etc/bpfbox/fleet.oci
expect_status "fleet: --prune loads the directory" 0 "^loaded /opt/t/fleetb/probe" $LOAD --prune /etc/bpfbox
expect "fleet: both images in force" "denied denied" two "$A read /srv/t/secret" "$B read /srv/t/secret"
expect "fleet: --prune unloaded the profiles the directory does not hold" "ok" /opt/t/fs/probe read /srv/t/secret
expect_status "fleet: --list shows exactly the directory's profiles" 0 "^2$" sh -c "$LOAD --list --json | grep -o '\"profile\"' | wc -l"
# --watch: the directory changes (an image taken out), the loader follows.
$LOAD --watch 1 --prune -q /etc/bpfbox > /tmp/watch.out 2>&1 &
WATCH=$!
sleep 2
rm /etc/bpfbox/fleet-b.bbx
n=0
while [ "$($B read /srv/t/secret 2>&1)" != ok ] && [ $n -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
expect "fleet: --watch unloads the image taken out of the directory" "ok denied" two "$B read /srv/t/secret" "$A read /srv/t/secret"
kill $WATCH; wait $WATCH 2>/dev/null
expect "fleet: the loader gone, the profile stays in force" "denied" $A read /srv/t/secret
# --mount-ns: a loader in a mount namespace of its own (as in a container),
# where the profiled program is hidden, resolves paths in init's.
expect_status "fleet: in another mount namespace, the program is not found" 1 "/opt/t/fleetb/probe cannot be found" \
    unshare -m sh -c "mount -t tmpfs none /opt/t/fleetb && exec $LOAD $IMG/fleet-b.bbx"
expect_status "fleet: --mount-ns /proc/1/ns/mnt resolves it in init's (after a pull: one thread again)" 0 "^loaded /opt/t/fleetb/probe" \
    unshare -m sh -c "mount -t tmpfs none /opt/t/fleetb && exec $LOAD --mount-ns /proc/1/ns/mnt $REF_A $IMG/fleet-b.bbx"
expect "fleet: ... and it is in force" "denied" $B read /srv/t/secret
$LOAD -q --unload $B
kill $REGISTRY; wait $REGISTRY 2>/dev/null
expect_status "fleet: the registry down, exit 5" 5 "cannot reach the registry 127.0.0.1:5000" $LOAD "$REF_A"
expect "fleet: ... what is in force stays" "denied ok" two "$A read /srv/t/secret" "$B read /srv/t/secret"
# A process that must be confined but whose state cannot be stored (no
# memory for its procs entry) is lost: it does not run on unconfined, but
# is killed at the first operation bpfbox decides for it, and so is a
# child it forks. Its entry deleted by hand stands for the insert that failed; the
# control runs the same without.
lost_run() { # CHANGE OPS...: the probe's output and exit status, CHANGE made
    # (with $LOST_PID its pid) while it waits
    change=$1
    shift
    rm -f /tmp/go /tmp/lost.out /tmp/lost.pid
    ( $A waitfor /tmp/go , "$@" & echo $! > /tmp/lost.pid; wait $!; echo "status:$?" ) 2>&1 | cat > /tmp/lost.out &
    runner=$!
    n=0
    while ! grep -q "waiting for" /tmp/lost.out 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
    LOST_PID=$(cat /tmp/lost.pid)
    eval "$change"
    touch /tmp/go
    wait $runner
    # (and without the shell's word for a job killed by a signal)
    grep -v -e "^probe: waiting for" -e "^Killed" /tmp/lost.out | tr '\n' ' '
}
FORGET='/opt/t/root-free/escape forget /sys/fs/bpf/bpfbox/maps/procs $LOST_PID > /tmp/forget.out'
got=$(lost_run true read /srv/t/readable)
[ "$got" = "ok ok status:0 " ] && pass "lost: the control reads what its profile allows" || fail "lost: the control reads" "[$got]"
got=$(lost_run "$FORGET" read /srv/t/readable)
[ "$got" = "status:137 " ] && [ "$(cat /tmp/forget.out)" = "ok" ] &&
    pass "lost: without its state, a confined process is killed at its next operation" ||
    fail "lost: without its state, a confined process is killed at its next operation" "[$got], forget [$(cat /tmp/forget.out)]"
LOST_PID=$(cat /tmp/lost.pid)
# Its bit went with it: a process given its pid later (the next fork
# after ns_last_pid is set) is not lost.
got=$(sh -c "echo $((LOST_PID - 1)) > /proc/sys/kernel/ns_last_pid; /opt/t/free/probe read /srv/t/secret & echo pid:\$!; wait" |
    sort | tr '\n' ' ')
[ "$got" = "ok pid:$LOST_PID " ] && pass "lost: its pid, given to an unconfined process after it exited, is not denied" ||
    fail "lost: its pid, given to an unconfined process after it exited, is not denied" "[$got], the lost pid $LOST_PID"
# A lost process's child is lost too: it does not create what an
# unconfined process could (the control), nor, killed, what the profile
# would deny it. Killed, it says nothing through the pipe the parent reads
# it from; the parent, which then only writes to its own pipe (not
# decided), says "ok" for its wait and exits.
rm -f /tmp/lost-child
expect "lost: an unconfined process creates the file (control)" "ok" /opt/t/free/probe create /tmp/lost-child
rm -f /tmp/lost-child
got=$(lost_run "$FORGET" fork create /tmp/lost-child)
[ ! -e /tmp/lost-child ] && [ "$got" = "ok  status:0 " ] && pass "lost: ... its child is killed too, the file not created" ||
    fail "lost: ... its child is killed too" "[$got], $(ls /tmp/lost-child 2>&1)"

# The shared functions (bpf/include/shared.h) are linked into each program
# in place of a stub; a program whose link is gone runs the stub, which
# fails closed, and the next load says so rather than go on.
/opt/t/free/probe unixlisten @bpfbox-stub , sleep 120 > /dev/null &
STUB_SERVER=$!
sleep 1
expect "shared functions: the profile allows what it names (control)" "ok ok ok ok" \
    $A read /srv/t/readable , ioctl /srv/t/readable , socket inet , unixconnect @bpfbox-stub
# rule_masks: the rules of one object in the thread's scopes, which the
# unix peer, signal, ptrace and file hooks ask for.
rm /sys/fs/bpf/bpfbox/links/unix_stream_connect:rule_masks
expect "shared functions: without rule_masks' link, unix_stream_connect denies a connect the profile allows; file_open still allows" \
    "denied ok" $A unixconnect @bpfbox-stub , read /srv/t/readable
kill $STUB_SERVER; wait $STUB_SERVER 2>/dev/null
rm /sys/fs/bpf/bpfbox/links/file_ioctl:file_decision
expect "shared functions: without file_decision's link, file_ioctl denies even what the profile allows; file_open still allows" "ok denied" \
    $A read /srv/t/readable , ioctl /srv/t/readable
rm /sys/fs/bpf/bpfbox/links/socket_create:current_decision
expect "shared functions: without current_decision's link, socket_create denies even what the profile allows; file_open still allows" "denied ok" \
    $A socket inet , read /srv/t/readable
rm /sys/fs/bpf/bpfbox/links/file_open:file_decision
# What the profile's processes remembered (the control's read) is the
# rules' answer, not the stub's, and still answers.
expect "shared functions: without file_open's file_decision link, a read the profile allows is denied (the one remembered is not)" \
    "denied ok" $A read /srv/t/a-only , read /srv/t/readable
expect "shared functions: ... a process without a profile is not affected" "ok" /opt/t/fs/probe read /srv/t/secret
expect_status "shared functions: the next load refuses, exit 3, and says how to repair" 3 "bpfbox-load --unload., then load again" \
    $LOAD $IMG/fleet-b.bbx
expect "shared functions: ... and loaded nothing" "ok" $B read /srv/t/secret
# ... also when a program's own link is gone too, and the load would attach
# that program again: it checks the programs already attached first.
rm /sys/fs/bpf/bpfbox/links/inode_getxattr
expect_status "shared functions: with a program's link gone too, the load refuses the same way" 3 "the first: /sys/fs/bpf/bpfbox/links/file_" \
    $LOAD $IMG/fleet-b.bbx
[ -e /sys/fs/bpf/bpfbox/links/inode_getxattr ] && fail "shared functions: ... and attached nothing" "inode_getxattr is attached again" ||
    pass "shared functions: ... and attached nothing"
# BPF programs in the kernel (bpf_prog_<tag>_<name> in /proc/kallsyms):
# bpfbox's, since the other LSM above has gone, and those there at boot.
attached() { grep -c " t bpf_prog_" /proc/kallsyms; }
[ "$(attached)" -gt "$PROGRAMS_AT_BOOT" ] && pass "unload: bpfbox's programs are attached before" ||
    fail "unload: bpfbox's programs are attached before" "$(attached) programs, $PROGRAMS_AT_BOOT at boot"
expect_status "unload: everything" 0 "unloaded everything" $LOAD --unload
# From 6.5 the kernel detaches the programs after --unload has returned (a
# tenth of a second each): what it has not reached yet finds no profile.
expect "unload: nothing is confined at once" "ok" /opt/t/fs/probe read /srv/t/secret
[ -e /sys/fs/bpf/bpfbox ] && fail "unload: nothing left behind" "$(ls -R /sys/fs/bpf/bpfbox)" || pass "unload: nothing left behind"
# (Each look at /proc/kallsyms costs about a second here.) The first look
# waits until the detaching is about done (some 67 programs, a tenth of a
# second each): 6.12 once died of an int3 in bpf_lsm_file_permission under
# the grep of a look, reading while the kernel patched that hook's call
# site (a race in the kernel's text patching, "Oops: int3"), and 6.1 has
# hung here rarely. Nothing runs while it sleeps.
sleep 10
looks=0
while [ "$(attached)" -gt "$PROGRAMS_AT_BOOT" ] && [ $looks -lt 30 ]; do sleep 0.5; looks=$((looks + 1)); done
[ "$(attached)" = "$PROGRAMS_AT_BOOT" ] && pass "unload: the kernel detaches every program" ||
    fail "unload: the kernel detaches every program" "$(attached) programs after 30 looks, $PROGRAMS_AT_BOOT at boot"
