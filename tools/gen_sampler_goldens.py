#!/usr/bin/python3
"""Generates tests/golden/sampler_modes.json: PyTorch golden cases of every sampler mode.

One case per mode ("bilinear", "nearest", "bicubic") x padding ("zeros", "border", "reflection")
x align_corners (true, false) x transform ("affine" [M,6], "projective" [M,9]): 36 cases, each a
tiny image (at most 6x7), its output, and the gradients of sum(upstream * output) with respect to
the image and theta, all computed in float64 by PyTorch 1.13's F.grid_sample.

Affine cases sample through F.affine_grid. Projective cases have no PyTorch op, so their grid is
the direct formula, written here with autograd-tracked torch ops: the affine_grid base coordinates
(x, y, 1) mapped by the 3x3 theta and divided by the third homogeneous coordinate,
x' = (a x + b y + c) / (g x + h y + i).

Image and theta values are float32 numbers (printed so they parse back to the same float32), so
the float32 kernels see exactly the inputs the float64 reference used. Theta is re-drawn until no
unnormalised sampling coordinate lies within 1e-3 pixels of a multiple of 0.5: there the samplers
are discontinuous (nearest rounds at half-integers; bilinear's gradient jumps at integers; border
and reflection kink at the edges), and float32 and float64 could honestly land on different sides.

Run: /usr/bin/python3 tools/gen_sampler_goldens.py   (deterministic; rewrites the JSON)
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "sampler_modes.json")
MARGIN = 1e-3


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def base_grid(h, w, align):
    """affine_grid's base coordinates: x along the width, y along the height."""
    def axis(n):
        if align:
            return np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)
        return (2.0 * np.arange(n) + 1.0) / n - 1.0
    ys, xs = np.meshgrid(axis(h), axis(w), indexing="ij")
    return torch.tensor(xs), torch.tensor(ys)


def projective_grid(theta9, h, w, align):
    xs, ys = base_grid(h, w, align)
    t = theta9.reshape(-1, 3, 3)
    def row(r):
        return (t[:, r, 0, None, None] * xs + t[:, r, 1, None, None] * ys + t[:, r, 2, None, None])
    den = row(2)
    return torch.stack([row(0) / den, row(1) / den], dim=-1)


def unnormalize(g, size, align):
    return (g + 1) / 2 * (size - 1) if align else ((g + 1) * size - 1) / 2


def safe(grid, height, width, align):
    gx = unnormalize(grid[..., 0].detach().numpy(), width, align)
    gy = unnormalize(grid[..., 1].detach().numpy(), height, align)
    for p in (gx, gy):
        d = np.abs(p * 2 - np.round(p * 2)) / 2
        if not np.all(np.isfinite(p)) or d.min() < MARGIN:
            return False
    return True


def random_theta(rng, m, projective):
    rows = []
    for _ in range(m):
        s = rng.uniform(0.7, 1.4, 2) * rng.choice([-1, 1], 2, p=[0.2, 0.8])
        d = rng.uniform(-0.4, 0.4, 2)
        t = rng.uniform(-0.6, 0.6, 2)
        a = [s[0], d[0], t[0], d[1], s[1], t[1]]
        if projective:
            a += [*rng.uniform(-0.35, 0.35, 2), rng.uniform(0.85, 1.15)]
        rows.append(a)
    return f32(rows)


def case(rng, mode, padding, align, projective):
    n = int(rng.integers(1, 3))
    k = int(rng.integers(1, 3))
    shape = [n, int(rng.integers(4, 7)), int(rng.integers(4, 8)), int(rng.integers(1, 3))]
    out_size = [int(rng.integers(3, 6)), int(rng.integers(3, 6))]
    m = n * k
    image = f32(rng.uniform(-1, 1, shape))
    upstream = rng.uniform(-1, 1, [m, *out_size, shape[3]])
    for _ in range(1000):
        theta_np = random_theta(rng, m, projective)
        theta = torch.tensor(theta_np, requires_grad=True)
        if projective:
            grid = projective_grid(theta, *out_size, align)
        else:
            grid = F.affine_grid(theta.reshape(m, 2, 3), [m, shape[3], *out_size], align_corners=align)
        if safe(grid, shape[1], shape[2], align):
            break
    else:
        raise RuntimeError("no safe theta found")
    img = torch.tensor(image, requires_grad=True)
    # k glimpses per image: row r samples image r // k (autograd sums the repeated image's gradient).
    nchw = img.permute(0, 3, 1, 2).repeat_interleave(k, dim=0)
    out = F.grid_sample(nchw, grid, mode=mode, padding_mode=padding, align_corners=align)
    out = out.permute(0, 2, 3, 1)
    up = torch.tensor(upstream)
    (out * up).sum().backward()

    def flat(a):
        return [float("%.12g" % v) for v in np.asarray(a, dtype=np.float64).ravel()]

    return {
        "mode": mode,
        "padding_mode": padding,
        "align_corners": align,
        "transform": "projective" if projective else "affine",
        "image_shape": shape,
        "output_size": out_size,
        "theta_shape": [m, 9 if projective else 6],
        # float32 inputs, printed to round-trip.
        "image": [float("%.9g" % v) for v in image.ravel()],
        "theta": [float("%.9g" % v) for v in theta_np.ravel()],
        "upstream": flat(upstream),
        "output": flat(out.detach().numpy()),
        "grad_image": flat(img.grad.numpy()),
        "grad_theta": flat(theta.grad.numpy()),
    }


def main():
    rng = np.random.default_rng(20261206)
    cases = []
    for mode in MODES:
        for padding in PADDINGS:
            for align in (True, False):
                for projective in (False, True):
                    cases.append(case(rng, mode, padding, align, projective))
    doc = {
        "source": "PyTorch %s F.grid_sample (affine: F.affine_grid; projective: the direct formula), "
        "float64; tools/gen_sampler_goldens.py" % torch.__version__,
        "layout": "image/output/upstream/grad_image NHWC row-major flattened; theta [M,6] (affine) or "
        "[M,9] (projective, row-major 3x3) flattened; row m samples image floor(m / (M / N)); "
        "grad_* are gradients of sum(upstream * output)",
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %d cases, %d bytes" % (len(cases), os.path.getsize(OUT)))


if __name__ == "__main__":
    main()
