#!/usr/bin/env bash
# hyphae vs PyTorch: training steps/s on the reference workloads (2 threads).
#
# Usage: engine/benches/compare.sh [ROUNDS] [WORKLOAD ...]
#   ROUNDS     alternating rounds (hyphae, then PyTorch, per workload per round); default 3
#   WORKLOAD   any of xor mlp cnn branchy lstm charlm transformer (default: all of them)
# Env: TORCH_PYTHON (default /tmp/torchref/bin/python), THREADS (default 2),
#      TORCH_REF (default /work/shared/bench/torch_reference.py, or ../shared/bench/...).
# Prints a table: workload, hyphae steps/s (median of rounds), PyTorch steps/s (median),
# ratio hyphae/PyTorch; then the ECS schedule's per-step overhead (µs) for a 10-layer
# width-8 MLP at batch 1 (graphs/bench/overhead.ron), and the peak RSS of the cnn bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
shift || true
WORKLOADS=("$@")
[ ${#WORKLOADS[@]} -eq 0 ] && WORKLOADS=(xor mlp cnn branchy lstm charlm transformer)
THREADS=${THREADS:-2}
export THREADS
TORCH_PYTHON=${TORCH_PYTHON:-/tmp/torchref/bin/python}
TORCH_REF=${TORCH_REF:-/work/shared/bench/torch_reference.py}
[ -f "$TORCH_REF" ] || TORCH_REF=../shared/bench/torch_reference.py

cargo build --release -q -p hyphae
BIN=target/release/hyphae

have_torch=0
if [ -f "$TORCH_REF" ] && "$TORCH_PYTHON" -c 'import torch' 2>/dev/null; then
    have_torch=1
else
    echo "(no PyTorch: $TORCH_PYTHON cannot import torch, or $TORCH_REF is missing)" >&2
fi

steps_for() {
    case $1 in
        xor) echo 20000 ;; mlp) echo 300 ;; cnn) echo 60 ;; branchy) echo 60 ;; lstm) echo 60 ;; charlm) echo 20 ;; transformer) echo 30 ;;
        *) echo 100 ;;
    esac
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq 1 "$ROUNDS"); do
    for w in "${WORKLOADS[@]}"; do
        out=$("$BIN" bench "graphs/bench/$w.ron" --steps "$(steps_for "$w")" --threads "$THREADS")
        echo "$out" | sed -E 's/.* ([0-9.]+) steps\/s.*/\1/' >>"$tmp/h_$w"
        echo "round $r hyphae  $out" >&2
        if [ $have_torch = 1 ]; then
            t=$("$TORCH_PYTHON" "$TORCH_REF" "$w")
            echo "$t" | awk '{print $2}' >>"$tmp/t_$w"
            echo "round $r pytorch $t" >&2
        fi
    done
done

printf '\n%-9s %16s %16s %8s\n' workload "hyphae steps/s" "PyTorch steps/s" ratio
for w in "${WORKLOADS[@]}"; do
    h=$(median <"$tmp/h_$w")
    if [ $have_torch = 1 ]; then
        t=$(median <"$tmp/t_$w")
        ratio=$(awk -v h="$h" -v t="$t" 'BEGIN {printf "%.2f", h / t}')
    else
        t=n/a ratio=n/a
    fi
    printf '%-9s %16s %16s %8s\n' "$w" "$h" "$t" "$ratio"
done

# Per-step overhead of the ECS schedule: a 10-layer width-8 MLP at batch 1 does ~1.5k
# FLOPs per step, so its step time is almost all schedule, system and allocation cost.
if [ -f graphs/bench/overhead.ron ]; then
    for ex in "" --single-threaded-executor --multi-threaded-executor; do
        o=$("$BIN" bench graphs/bench/overhead.ron --steps 20000 --threads "$THREADS" $ex 2>/dev/null) || continue
        us=$(echo "$o" | sed -E 's/.*median ([0-9.]+) ms\/step.*/\1/' | awk '{printf "%.1f", $1 * 1000}')
        printf 'overhead (10x Linear 8 + ReLU, batch 1%s): %s µs/step\n' "${ex:+, $ex}" "$us"
    done
fi

# Peak resident memory of the cnn bench.
if [ -x /usr/bin/time ]; then
    rss=$(/usr/bin/time -v "$BIN" bench graphs/bench/cnn.ron --steps 30 --threads "$THREADS" 2>&1 >/dev/null |
        awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}')
    echo "peak RSS, hyphae bench graphs/bench/cnn.ron: $((rss / 1024)) MB"
fi
