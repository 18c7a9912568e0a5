#!/bin/sh
# Overhead of bpfbox, measured side by side in one boot. The VM runs with
# -icount shift=0 and one CPU, so guest time is instruction count: the
# figures are instructions, repeatable across boots, not wall time.
LOAD=/usr/local/bin/bpfbox-load
B=/opt/t/bench
echo 0 > /proc/sys/kernel/randomize_va_space
mkdir -p /srv/t/bench
echo "readable" > /srv/t/readable
for i in $(seq 1 9997); do : > /srv/t/bench/f$i; done

# Let the boot's own work finish first (6.12 keeps the one CPU busy for a
# while after init starts, which would count against the baselines); an
# idle guest's sleep costs no instructions.
sleep 15

N_OPEN=20000
N_PROBED=50000
N_SERVE=2000
N_PIPE=20000
N_SPAWN=300
N_FETCH=1000

# nginx: Debian's, a master and a worker serving one page over loopback
# (testsuite/vm/nginx.conf); the client fetches it N_FETCH times, a new
# connection each. Confined, it runs the profile bpfbox-learn learned for it
# in the VM suite (policies/nginx-bench.policy), loaded before it starts.
NG="/usr/sbin/nginx -c /etc/nginx.conf"
mkdir -p /var/www/html /var/log/nginx /run/nginx /var/lib/nginx
echo "root:x:0:0:root:/root:/bin/sh" > /etc/passwd
echo "root:x:0:" > /etc/group
echo "<h1>hello from nginx</h1>" > /var/www/html/index.html
until_true() { # a test, up to 10 seconds
    i=0
    while ! eval "$1" && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
}
nginx_start() { $NG && until_true '[ -s /run/nginx/nginx.pid ]'; }
nginx_stop() { $NG -s stop; until_true '[ ! -e /run/nginx/nginx.pid ]'; }
nginx_measure() { # the median run's instructions, nginx started and stopped around it
    nginx_start
    measure $B/bench fetch $N_FETCH 8080
    nginx_stop
}

# median of three runs of: bench WORKLOAD ARGS (as BINARY)
measure() {
    bin=$1
    shift
    for run in 1 2 3; do $bin "$@" | cut -d' ' -f2; done | sort -n | sed -n 2p
}

report() { # label workload value base
    awk -v l="$1" -v w="$2" -v v="$3" -v b="$4" 'BEGIN { printf "RESULT %-9s %-32s %12d instructions  %+6.1f%%\n", w, l, v, (v - b) * 100.0 / b }'
}

# the arguments of each workload
args_of() {
    case $1 in
        openread) echo "$N_OPEN /srv/t/readable" ;;
        probed) echo "$N_PROBED" ;;
        serve) echo "$N_SERVE" ;;
        pipe) echo "$N_PIPE" ;;
        spawn) echo "$N_SPAWN" ;;
        fetch) echo "$N_FETCH 8080" ;;
    esac
}

# bpfbox.only=WORKLOAD on the kernel command line: that workload only.
ONLY=$(sed -n 's/.*bpfbox.only=\([a-z]*\).*/\1/p' /proc/cmdline)
WORKLOADS=${ONLY:-openread probed serve pipe spawn nginx}
# The workloads of bench itself; nginx is measured on its own.
BENCH_WORKLOADS=$(echo $WORKLOADS | tr ' ' '\n' | grep -v '^nginx$')
NGINX=$(echo $WORKLOADS | tr ' ' '\n' | grep '^nginx$')

for w in $BENCH_WORKLOADS; do
    eval "base_$w=\$(measure $B/bench $w $(args_of $w))"
done
# The floor of a #[func] scope: a uprobe and a uretprobe on the same
# function running empty BPF programs (testsuite/vm/bare-probes.bpf.c,
# attached by runtime/examples/attach.rs), before bpfbox is loaded.
# The probed calls pay the probes' traps; spawn pays for the kernel writing
# the breakpoint into each new process's copy of the binary.
# (BENCH_WORKLOADS is one per line: echo joins them with spaces.)
case " $(echo $BENCH_WORKLOADS) " in *" probed "*|*" spawn "*)
    /usr/local/bin/bpf-attach /t/bare-probes.bpf.o $B/bench probed > /tmp/bare-probes.out &
    bare_pid=$!
    until_true 'grep -q attached /tmp/bare-probes.out'
    for w in probed spawn; do
        case " $(echo $BENCH_WORKLOADS) " in *" $w "*) eval "bare_$w=\$(measure $B/bench $w $(args_of $w))" ;; esac
    done
    kill $bare_pid
    wait $bare_pid 2>/dev/null
    ;;
esac
[ -n "$NGINX" ] && base_nginx=$(nginx_measure)

first=$($B/bench time $LOAD -q /t/images/bench-10.bbx | tail -1 | cut -d' ' -f2)
tenk=$($B/bench time $LOAD -q /t/images/bench-10k.bbx | tail -1 | cut -d' ' -f2)
again=$($B/bench time $LOAD -q /t/images/bench-10k.bbx | tail -1 | cut -d' ' -f2)
changed=$($B/bench time $LOAD -q /t/images/bench-10k-changed.bbx | tail -1 | cut -d' ' -f2)
dry=$($B/bench time $LOAD -q --dry-run /t/images/bench-10k.bbx | tail -1 | cut -d' ' -f2)
startup=$($B/bench time $LOAD --version | tail -1 | cut -d' ' -f2)
echo "RESULT load    first load (programs + 10 rules)   $first instructions"
echo "RESULT load    a 10,000-rule image                $tenk instructions"
echo "RESULT load    the same image again (no-op)       $again instructions"
echo "RESULT load    a changed 10,000-rule image (reload) $changed instructions"
echo "RESULT load    of which reading, checking, resolving the image (--dry-run)  $dry instructions"
echo "RESULT load    of which starting the process (--version)  $startup instructions"
$LOAD -q /t/images/bench-plain.bbx

for w in $BENCH_WORKLOADS; do
    args=$(args_of $w)
    eval "base=\$base_$w"
    report "without bpfbox" $w "$base" "$base"
    report "loaded, no rule for it" $w "$(measure $B/bench $w $args)" "$base"
    $B/bench-10 sleep 100000 &
    sleeper=$!
    report "no rule for it, others confined" $w "$(measure $B/bench $w $args)" "$base"
    kill $sleeper
    report "10-rule profile" $w "$(measure $B/bench-10 $w $args)" "$base"
    report "10 rules, no #[func] scope" $w "$(measure $B/bench-plain $w $args)" "$base"
    report "10,000-rule profile" $w "$(measure $B/bench-10k $w $args)" "$base"
    eval "bare=\$bare_$w"
    [ -n "$bare" ] && report "bare uprobe + uretprobe" $w "$bare" "$base"
    if [ "$w" = probed ]; then
        scoped=$(measure $B/bench-10 $w $args)
        awk -v b="$base" -v bare="$bare_probed" -v s="$scoped" -v n="$N_PROBED" 'BEGIN {
            printf "RESULT probed    per call: bare probes %d, a #[func] scope %d instructions (%.2fx)\n",
                (bare - b) / n, (s - b) / n, (s - b) / (bare - b) }'
    fi
done

if [ -n "$NGINX" ]; then
    report "without bpfbox, $N_FETCH requests" nginx "$base_nginx" "$base_nginx"
    report "loaded, no rule for it" nginx "$(nginx_measure)" "$base_nginx"
    $LOAD -q /t/images/nginx-bench.bbx
    report "its learned profile (29 rules)" nginx "$(nginx_measure)" "$base_nginx"
fi

# Unloading everything, with three profiles in force, at the end: it
# detaches every program.
unload=$($B/bench time $LOAD -q --unload | tail -1 | cut -d' ' -f2)
# --unload returns once nothing is in force and every pin is gone; the
# programs are detached in the background (a child of bpfbox-load drops
# the links), until the last of them is gone (bpfbox's are the only LSM
# programs here; polled every 0.1 s, so up to 0.1 billion late):
detached=$($B/bench time /bin/sh -c 'while bpftool prog show | grep -q ": lsm "; do sleep 0.1; done' | tail -1 | cut -d' ' -f2)
echo "RESULT load    --unload of everything             $unload instructions"
echo "RESULT load    then until the kernel has detached every program  $detached instructions"
# A first load again, saying where its time goes (a guest millisecond is a
# million instructions).
$LOAD --verbose /t/images/bench-10.bbx > /tmp/first-load.log 2>&1
sed -n 's/^bpfbox-load: \(.* programs: .*\)/RESULT load    a first load: \1/p' /tmp/first-load.log
awk '/^verification time/ { us += $3 } /^processed .* insns/ { insns += $2; n++ }
    END { printf "RESULT load    of which the verifier: %d programs, %d instructions walked, %d ms\n", n, insns, us / 1000 }' /tmp/first-load.log

# Where a confined open-read-close's cost goes: each program's instructions
# per run (the kernel's BPF statistics; the clock counts instructions),
# without the trampoline that calls it.
hook_costs() { # label binary workload
    echo 1 > /proc/sys/kernel/bpf_stats_enabled
    bpftool prog show > /tmp/stats-before
    $2 $3 $(args_of $3) >/dev/null
    bpftool prog show > /tmp/stats-after
    echo 0 > /proc/sys/kernel/bpf_stats_enabled
    cat /tmp/stats-before /tmp/stats-after | awk -v label="$1" -v w="$3" '
        / name / {
            for (i = 1; i <= NF; i++) {
                if ($i == "name") name = $(i + 1)
                if ($i == "run_time_ns") t = $(i + 1)
                if ($i == "run_cnt") c = $(i + 1)
            }
            if (name in time0) { dt = t - time0[name]; dc = c - cnt0[name]
                if (dc > 0) printf "RESULT hook     %-9s %-9s %-24s %8d runs %8d instructions per run\n", w, label, name, dc, dt / dc }
            else { time0[name] = t; cnt0[name] = c }
            t = 0; c = 0
        }'
}
if command -v bpftool >/dev/null; then
    for w in $BENCH_WORKLOADS; do
        hook_costs confined $B/bench-10 $w
        hook_costs passive $B/bench $w
    done
    if [ -n "$NGINX" ]; then
        # Each hook's cost in nginx (and the client) per fetch workload.
        nginx_start
        hook_costs passive $B/bench fetch
        nginx_stop
        $LOAD -q /t/images/nginx-bench.bbx
        nginx_start
        hook_costs confined $B/bench fetch
        nginx_stop
        $LOAD -q --unload /usr/sbin/nginx
    fi
fi

# The floor of the passive rows: an empty BPF program (return 0) on each
# LSM hook and tracepoint bpfbox attaches to, and no bpfbox
# (runtime/examples/attach.rs --empty-hooks reads them from bpfbox's own
# object): what the kernel's calling of BPF programs at those places
# costs, with no work in them. Last, with bpfbox unloaded and detached:
# attaching and detaching trampolines leaves the kernel work that would
# count against what follows (a first load measured after it took 0.12
# billion instructions more on 6.1).
$LOAD -q --unload
while bpftool prog show | grep -q ": lsm "; do sleep 0.1; done
sleep 10 # what the kernel frees after a detach, done (idle costs nothing)
: > /tmp/empty-hooks.out
/usr/local/bin/bpf-attach --empty-hooks > /tmp/empty-hooks.out 2>&1 &
empty_pid=$!
until_true 'grep -q attached /tmp/empty-hooks.out'
echo "RESULT floor   $(cat /tmp/empty-hooks.out) (empty, on bpfbox's hooks)"
for w in $BENCH_WORKLOADS; do
    eval "base=\$base_$w"
    report "empty programs on its hooks" $w "$(measure $B/bench $w $(args_of $w))" "$base"
done
[ -n "$NGINX" ] && report "empty programs on its hooks" nginx "$(nginx_measure)" "$base_nginx"
kill $empty_pid
wait $empty_pid 2>/dev/null
