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
N_SPAWN=300

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
        spawn) echo "$N_SPAWN" ;;
    esac
}

# bpfbox.only=WORKLOAD on the kernel command line: that workload only.
ONLY=$(sed -n 's/.*bpfbox.only=\([a-z]*\).*/\1/p' /proc/cmdline)
WORKLOADS=${ONLY:-openread probed serve spawn}

for w in $WORKLOADS; do
    eval "base_$w=\$(measure $B/bench $w $(args_of $w))"
done

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

for w in $WORKLOADS; do
    args=$(args_of $w)
    eval "base=\$base_$w"
    report "without bpfbox" $w "$base" "$base"
    report "loaded, no rule for it" $w "$(measure $B/bench $w $args)" "$base"
    $B/bench-10 sleep 100000 &
    sleeper=$!
    report "no rule for it, others confined" $w "$(measure $B/bench $w $args)" "$base"
    kill $sleeper
    report "10-rule profile" $w "$(measure $B/bench-10 $w $args)" "$base"
    report "10,000-rule profile" $w "$(measure $B/bench-10k $w $args)" "$base"
done

# Unloading everything, with three profiles in force, at the end: it
# detaches every program.
unload=$($B/bench time $LOAD -q --unload | tail -1 | cut -d' ' -f2)
$LOAD -q /t/images/bench-10.bbx
echo "RESULT load    --unload of everything             $unload instructions"

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
    for w in $WORKLOADS; do
        hook_costs confined $B/bench-10 $w
        hook_costs passive $B/bench $w
    done
fi
