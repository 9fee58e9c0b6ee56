"""Issue-16 acceptance check of graphs/dcgan.ron: of 1,000 generated digits, how many a
classifier trained by `hyphae train graphs/mnist_cnn.ron` gives a top-class probability
>= 0.9 (target: >= 80%), and each class's share of the samples (target: every class >= 4%,
no mode collapse).

Usage: python engine/benches/dcgan_acceptance.py HYPHAE DCGAN_WEIGHTS CNN_WEIGHTS [SEED] [GRAPH]
       [TEMPERATURE]

TEMPERATURE (default 1, the distribution the generator was trained on) is passed to
`hyphae sample --temperature`: below 1 it trades variety for likelier digits (BigGAN's
truncation); the acceptance figure is the one at 1.

It runs `hyphae sample` for 1,000 samples of node `fake` (a PNG grid, 8-bit pixels), cuts
the grid into digits, standardises them as `mnist:` does ((x - 0.1307) / 0.3081), writes
them as a safetensors batch, runs `hyphae predict graphs/mnist_cnn.ron` on it and reads
the ten logits per sample from its output.
"""

import json
import math
import re
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

N, COLS, SIDE, PAD = 1000, 40, 28, 2


def write_safetensors(path, name, array):
    data = array.astype("<f4").tobytes()
    header = json.dumps(
        {name: {"dtype": "F32", "shape": list(array.shape), "data_offsets": [0, len(data)]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + data)


def main():
    hyphae, dcgan_w, cnn_w = sys.argv[1:4]
    seed = sys.argv[4] if len(sys.argv) > 4 else "0"
    graph = sys.argv[5] if len(sys.argv) > 5 else "graphs/dcgan.ron"
    temperature = sys.argv[6] if len(sys.argv) > 6 else "1"
    tmp = tempfile.mkdtemp()
    grid = f"{tmp}/samples.png"
    subprocess.run(
        [hyphae, "sample", graph, "--weights", dcgan_w, "--node", "fake", "--allow-extra-weights",
         "--n", str(N), "--columns", str(COLS), "--seed", seed, "--temperature", temperature, "--out", grid],
        check=True,
    )
    img = np.asarray(Image.open(grid).convert("L"), dtype=np.float32) / 255.0
    tiles = []
    for i in range(N):
        y0, x0 = PAD + (i // COLS) * (SIDE + PAD), PAD + (i % COLS) * (SIDE + PAD)
        tiles.append(img[y0 : y0 + SIDE, x0 : x0 + SIDE])
    x = (np.stack(tiles)[:, None] - 0.1307) / 0.3081
    batch = f"{tmp}/batch.safetensors"
    write_safetensors(batch, "image", x)
    out = subprocess.run(
        [hyphae, "predict", "graphs/mnist_cnn.ron", "--weights", cnn_w, "--input", batch],
        check=True, capture_output=True, text=True,
    ).stdout
    confident, counts = 0, [0] * 10
    for line in out.splitlines():
        m = re.match(r"sample \d+: .*\[(.*)\]", line)
        if not m:
            continue
        logits = [float(v) for v in m.group(1).split(",")]
        top = max(logits)
        p = 1.0 / sum(math.exp(v - top) for v in logits)
        confident += p >= 0.9
        counts[logits.index(top)] += 1
    total = sum(counts)
    print(f"{total} samples; top-class probability >= 0.9: {confident / total:.1%}")
    print("class shares: " + ", ".join(f"{k}: {c / total:.1%}" for k, c in enumerate(counts)))


if __name__ == "__main__":
    main()
