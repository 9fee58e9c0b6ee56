"""PyTorch's examples/vae trained the way `hyphae train graphs/vae.ron` trains it, for the
issue-16 acceptance check (hyphae's validation loss per sample within 5% of this one).

Same data and split as hyphae's `mnist:DIR:normalize=false`: with only the t10k files in
DIR, hyphae cuts them in file order, the first 8,000 digits for training and the last
2,000 for validation, pixels / 255 in [0, 1]. Same net (784-400-20 ×2, reparameterise,
20-400-784, Sigmoid), loss (BCE sum + KL sum), Adam(lr 1e-3), batch 128, 10 epochs,
shuffled each epoch, last partial batch kept. Validation as in the example's `test()`:
the reparameterised sample is drawn in eval mode too; the figure is the summed loss over
the 2,000 digits divided by 2,000.

Usage: /tmp/torchref/bin/python engine/benches/vae_reference.py [MNIST_DIR] [SEED]
"""

import gzip
import struct
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def read_idx(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        ndims = f.read(4)[3]
        dims = struct.unpack(">" + "I" * ndims, f.read(4 * ndims))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h1 = F.relu(self.fc1(x.view(-1, 784)))
        mu, logvar = self.fc21(h1), self.fc22(h1)
        z = mu + torch.randn_like(logvar) * torch.exp(0.5 * logvar)
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z)))), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/mnist"
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    torch.manual_seed(seed)
    images = read_idx(f"{root}/t10k-images-idx3-ubyte.gz")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).view(-1, 1, 28, 28)
    cut = len(x) * 4 // 5
    train, valid = x[:cut], x[cut:]
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch in range(1, 11):
        model.train()
        total = 0.0
        for idx in torch.randperm(len(train)).split(128):
            data = train[idx]
            opt.zero_grad()
            recon, mu, logvar = model(data)
            loss = loss_function(recon, data, mu, logvar)
            loss.backward()
            total += loss.item()
            opt.step()
        model.eval()
        with torch.no_grad():
            vtotal = 0.0
            for data in valid.split(128):
                recon, mu, logvar = model(data)
                vtotal += loss_function(recon, data, mu, logvar).item()
        print(
            f"epoch {epoch}: train loss/sample {total / len(train):.4f}  "
            f"valid loss/sample {vtotal / len(valid):.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
