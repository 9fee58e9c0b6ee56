#!/usr/bin/env bash
# Data-loader throughput, hyphae vs torchvision: images/s of `hyphae bench-data` on an
# `images:` folder against torchvision's ImageFolder + DataLoader, same images, same
# transforms, same batch size and workers.
#
# Usage: engine/benches/images.sh [ROUNDS]
#   ROUNDS   alternating rounds (hyphae, then torchvision, per transform set); default 3
# Env: TORCH_PYTHON (default /tmp/torchref/bin/python, needs torch, torchvision, pillow),
#      MNIST (default /work/shared/data/mnist, or ../shared/data/mnist), WORKERS (default 2),
#      BATCH (default 64), KEEP=1 keeps the PNG folder.
#
# Writes the 10,000 digits of the MNIST test split as PNGs (DIR/<digit>/<index>.png, with
# Pillow), then per round and per transform set times passes over the folder on each side
# (torchvision: the second epoch with persistent workers, so worker start-up is not
# counted; hyphae: the median of two epochs, its threads start with each):
#   plain:    decode, ToTensor, Normalize((0.1307,), (0.3081,))
#   augment:  RandomCrop(28, padding=4), RandomHorizontalFlip, then as plain
# hyphae runs with cache=0 (torchvision keeps nothing between epochs either) and walks its
# training split (80% of the folder); both report images per second. A last hyphae line
# shows the decoded-image cache's effect (default cache: epochs after the first decode
# nothing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
WORKERS=${WORKERS:-2}
BATCH=${BATCH:-64}
TORCH_PYTHON=${TORCH_PYTHON:-/tmp/torchref/bin/python}
MNIST=${MNIST:-/work/shared/data/mnist}
[ -d "$MNIST" ] || MNIST=../shared/data/mnist

if ! "$TORCH_PYTHON" -c 'import PIL, numpy' 2>/dev/null; then
    echo "need Pillow and numpy in $TORCH_PYTHON to write the PNGs" >&2
    exit 1
fi
have_tv=1
"$TORCH_PYTHON" -c 'import torch, torchvision' 2>/dev/null || {
    have_tv=0
    echo "(no torchvision in $TORCH_PYTHON: hyphae figures only)" >&2
}

cargo build --release -q -p hyphae
BIN=target/release/hyphae
DIR=$(mktemp -d /tmp/hyphae-images-bench.XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$DIR"' EXIT

"$TORCH_PYTHON" - "$MNIST" "$DIR" <<'EOF'
import gzip, os, sys
import numpy as np
from PIL import Image
src, out = sys.argv[1], sys.argv[2]
with gzip.open(os.path.join(src, "t10k-images-idx3-ubyte.gz")) as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
with gzip.open(os.path.join(src, "t10k-labels-idx1-ubyte.gz")) as f:
    labels = np.frombuffer(f.read(), np.uint8, offset=8)
for c in range(10):
    os.makedirs(os.path.join(out, str(c)), exist_ok=True)
for i, (img, c) in enumerate(zip(images, labels)):
    Image.fromarray(img, "L").save(os.path.join(out, str(c), f"{i:05}.png"))
print(f"wrote {len(images)} PNGs to {out}", file=sys.stderr)
EOF

AUGMENT="(crop_padding: 4, hflip: true)"
hyphae_rate() { # $1: plain|augment, $2: cache option
    local extra=()
    [ "$1" = augment ] && extra=(--augment "$AUGMENT")
    "$BIN" bench-data "images:$DIR:mean=0.1307,std=0.3081,workers=$WORKERS,$2" \
        --batch-size "$BATCH" --epochs "${3:-1}" "${extra[@]}" | awk '/^median:/ {print $2}'
}
torch_rate() { # $1: plain|augment
    "$TORCH_PYTHON" - "$DIR" "$1" "$WORKERS" "$BATCH" <<'EOF'
import sys, time, torch
from PIL import Image
from torchvision import datasets, transforms as T
root, kind, workers, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(1)
steps = [T.RandomCrop(28, padding=4), T.RandomHorizontalFlip()] if kind == "augment" else []
tf = T.Compose(steps + [T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])
gray = lambda p: Image.open(p).convert("L")  # one channel, as hyphae decodes them
ds = datasets.ImageFolder(root, transform=tf, loader=gray)
dl = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=workers,
                                 persistent_workers=workers > 0)
for epoch in range(2):  # the first starts the workers; the second is timed
    start, seen = time.perf_counter(), 0
    for x, y in dl:
        seen += x.shape[0]
print(seen / (time.perf_counter() - start))
EOF
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

printf "%-8s %14s %18s %7s\n" transforms "hyphae img/s" "torchvision img/s" ratio
for kind in plain augment; do
    h=() t=()
    for _ in $(seq "$ROUNDS"); do
        h+=("$(hyphae_rate "$kind" cache=0 2)")
        [ $have_tv = 1 ] && t+=("$(torch_rate "$kind")")
    done
    hm=$(printf "%s\n" "${h[@]}" | median)
    if [ $have_tv = 1 ]; then
        tm=$(printf "%s\n" "${t[@]}" | median)
        printf "%-8s %14.0f %18.0f %7.2f\n" "$kind" "$hm" "$tm" "$(awk -v a="$hm" -v b="$tm" 'BEGIN {print a / b}')"
    else
        printf "%-8s %14.0f %18s %7s\n" "$kind" "$hm" - -
    fi
done
printf "hyphae, default cache, median of 3 epochs (the first decodes, the rest hit the cache): %.0f img/s\n" \
    "$(hyphae_rate plain "cache=256" 3)"
