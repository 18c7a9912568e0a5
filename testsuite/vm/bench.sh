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

N_OPEN=20000
N_PROBED=50000
N_SERVE=2000

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
    esac
}

for w in openread probed serve; do
    eval "base_$w=\$(measure $B/bench $w $(args_of $w))"
done

first=$($B/bench time $LOAD -q /t/images/bench-10.bbx | tail -1 | cut -d' ' -f2)
tenk=$($B/bench time $LOAD -q /t/images/bench-10k.bbx | tail -1 | cut -d' ' -f2)
again=$($B/bench time $LOAD -q /t/images/bench-10k.bbx | tail -1 | cut -d' ' -f2)
dry=$($B/bench time $LOAD -q --dry-run /t/images/bench-10k.bbx | tail -1 | cut -d' ' -f2)
startup=$($B/bench time $LOAD --version | tail -1 | cut -d' ' -f2)
echo "RESULT load    first load (programs + 10 rules)   $first instructions"
echo "RESULT load    a 10,000-rule image                $tenk instructions"
echo "RESULT load    the same image again (no-op)       $again instructions"
echo "RESULT load    of which reading, checking, resolving the image (--dry-run)  $dry instructions"
echo "RESULT load    of which starting the process (--version)  $startup instructions"

for w in openread probed serve; do
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
