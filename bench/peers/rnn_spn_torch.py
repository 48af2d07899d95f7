#!/usr/bin/env python3
"""PyTorch peer of @rnnspn/core's training step, for side-by-side throughput numbers.

The same three architectures as src/models (the paper's RNN-SPN, CNN-SPN and CNN), the same optimiser step
(RMSprop lr 5e-4, rho 0.9, eps 1e-6; each gradient element clipped to +-1, then the global norm to <= 5),
batch 100, random inputs of the real shapes. Prints one JSON line per measurement:
  {"model": "rnn-spn", "ds": 3, "batch": 100, "threads": 2, "samples_per_s": ..., "step_ms": [...]}

Run with Debian's python3-torch: /usr/bin/python3 bench/peers/rnn_spn_torch.py --model rnn-spn --ds 3
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CANVAS = 100


def conv_stack(widths, in_ch, first_pool):
    """conv 3x3 valid + ReLU layers with 2x2 max-pools between them (and one in front if first_pool)."""
    layers = [nn.MaxPool2d(2)] if first_pool else []
    for i, w in enumerate(widths):
        if i > 0:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.Conv2d(in_ch, w, 3), nn.ReLU()]
        in_ch = w
    return nn.Sequential(*layers, nn.Flatten())


def flat_size(stack, size):
    with torch.no_grad():
        return stack(torch.zeros(1, 1, size, size)).shape[1]


def identity_head(in_features):
    head = nn.Linear(in_features, 6)
    nn.init.zeros_(head.weight)
    with torch.no_grad():
        head.bias.copy_(torch.tensor([1.0, 0, 0, 0, 1.0, 0]))
    return head


def glorot(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.abs().sum() > 0:
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


class RnnSpn(nn.Module):
    def __init__(self, ds, steps=3):
        super().__init__()
        self.steps, self.out = steps, CANVAS // ds
        self.loc = conv_stack([20, 20, 20], 1, first_pool=True)
        self.gru = nn.GRU(flat_size(self.loc, CANVAS), 256, batch_first=True)
        self.theta = identity_head(256)
        self.cls = conv_stack([32, 32, 32], 1, first_pool=False)
        self.fc = nn.Sequential(nn.Linear(flat_size(self.cls, self.out), 400), nn.ReLU(), nn.Linear(400, 10))
        glorot(self.loc), glorot(self.cls), glorot(self.fc)

    def forward(self, x):
        b = x.shape[0]
        feats = self.loc(x).unsqueeze(1).expand(b, self.steps, -1)
        h, _ = self.gru(feats.contiguous())
        theta = self.theta(h).reshape(b * self.steps, 2, 3)
        grid = F.affine_grid(theta, (b * self.steps, 1, self.out, self.out), align_corners=True)
        # grid_sample needs one image per grid: torch has to tile the image k times (we do not).
        tiled = x.unsqueeze(1).expand(b, self.steps, 1, CANVAS, CANVAS).reshape(b * self.steps, 1, CANVAS, CANVAS)
        glimpses = F.grid_sample(tiled, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return self.fc(self.cls(glimpses)).reshape(b, self.steps, 10)


class SpnBaseline(nn.Module):
    def __init__(self, ds, digits=3):
        super().__init__()
        self.out = CANVAS // ds
        self.loc = conv_stack([20, 20, 20], 1, first_pool=True)
        self.loc_fc = nn.Sequential(nn.Linear(flat_size(self.loc, CANVAS), 200), nn.ReLU(), identity_head(200))
        self.cls = conv_stack([96, 96, 96], 1, first_pool=False)
        self.fc = nn.Sequential(nn.Linear(flat_size(self.cls, self.out), 400), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(400, 10) for _ in range(digits))
        glorot(self.loc), glorot(self.loc_fc[0]), glorot(self.cls), glorot(self.fc), glorot(self.heads)

    def forward(self, x):
        b = x.shape[0]
        theta = self.loc_fc(self.loc(x)).reshape(b, 2, 3)
        grid = F.affine_grid(theta, (b, 1, self.out, self.out), align_corners=True)
        h = self.fc(self.cls(F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)))
        return torch.stack([head(h) for head in self.heads], dim=1)


class CnnBaseline(nn.Module):
    def __init__(self, digits=3):
        super().__init__()
        self.cls = conv_stack([96, 96, 96], 1, first_pool=False)
        self.fc = nn.Sequential(nn.Linear(flat_size(self.cls, CANVAS), 400), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(400, 10) for _ in range(digits))
        glorot(self.cls), glorot(self.fc), glorot(self.heads)

    def forward(self, x):
        h = self.fc(self.cls(x))
        return torch.stack([head(h) for head in self.heads], dim=1)


def build(model, ds):
    if model == "rnn-spn":
        return RnnSpn(ds)
    if model == "spn":
        return SpnBaseline(ds)
    if model == "cnn":
        return CnnBaseline()
    raise SystemExit(f"--model must be rnn-spn, spn or cnn; got {model!r}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="rnn-spn")
    p.add_argument("--ds", type=int, default=3)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=10, help="timed steps")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1, help="print one JSON line per round of --steps steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="torch device: cpu (default) or cuda (bench/gpu_check.sh)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    net = build(a.model, a.ds).to(a.device)
    opt = torch.optim.RMSprop(net.parameters(), lr=5e-4, alpha=0.9, eps=1e-6)
    x = torch.rand(a.batch, 1, CANVAS, CANVAS).to(a.device)
    y = torch.randint(0, 10, (a.batch, 3)).to(a.device)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = net(x)
        loss = F.cross_entropy(logits.reshape(-1, 10), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_value_(net.parameters(), 1.0)
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        opt.step()
        return loss.item()  # read the loss back, as ours does

    for _ in range(a.warmup):
        step()
    for _ in range(a.rounds):
        times = []
        for _ in range(a.steps):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        print(json.dumps({
            "model": a.model, "ds": a.ds, "batch": a.batch, "threads": a.threads, "device": a.device,
            "params": sum(p.numel() for p in net.parameters()),
            "samples_per_s": a.batch / med, "step_ms": [round(t * 1000, 2) for t in times],
        }), flush=True)


if __name__ == "__main__":
    main()
