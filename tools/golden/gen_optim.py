#!/usr/bin/python3
"""PyTorch golden fixture for package optim: torch.optim.SGD on fixed gradients.

Run by hand with Debian's PyTorch; CI only reads the committed file:

    /usr/bin/python3 tools/golden/gen_optim.py

It rewrites optim/testdata/sgd.safetensors. The gradients are given, not
computed, so the fixture pins down the update rule alone (first step,
dampening, Nesterov, coupled weight decay, parameters without a gradient,
parameter groups, the rate changed between steps) independently of any
model. The file format and the float32-vs-float64 check are gen_nn.py's.

Tensors (F32): init.<i> (parameter i before the first step), grad.<k>.<i>
(its gradient at step k; absent when PyTorch's grad is None, so the step
skips it), <case>.step<k>.<i> (parameter i after step k) and <case>.buf.<i>
(momentum buffer after the last step, where one exists). Metadata "cases"
lists each case's name, groups (options and parameter numbers) and "lrs",
the rate set on every group before each step (null: the groups keep their
own rates).
"""

import os
import sys
from collections import OrderedDict

import torch

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
import gen_nn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "optim", "testdata")

SHAPES = [(3, 4), (5,), (2, 3)]
STEPS = 5
LRS = [0.1, 0.07, 0.05, 0.03, 0.01]
# Parameter 1 has no gradient on step 0, so its buffer starts on step 1.
NO_GRAD = {(0, 1)}


def group(params, lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    return dict(params=params, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                nesterov=nesterov)


ALL = [0, 1, 2]
CASES = [
    dict(name="plain", lrs=LRS, groups=[group(ALL)]),
    dict(name="weight_decay", lrs=LRS, groups=[group(ALL, weight_decay=0.1)]),
    dict(name="momentum", lrs=LRS, groups=[group(ALL, momentum=0.9, weight_decay=5e-3)]),
    dict(name="dampening", lrs=LRS, groups=[group(ALL, momentum=0.9, dampening=0.5, weight_decay=1e-2)]),
    dict(name="nesterov", lrs=LRS, groups=[group(ALL, momentum=0.9, weight_decay=5e-3, nesterov=True)]),
    dict(name="groups", lrs=None, groups=[group([0, 1], momentum=0.9, weight_decay=5e-3),
                                          group([2], lr=0.05, momentum=0.5, dampening=0.2)]),
]


def inputs():
    gen = torch.Generator().manual_seed(7)
    out = OrderedDict((f"init.{i}", torch.randn(*s, generator=gen)) for i, s in enumerate(SHAPES))
    for k in range(STEPS):
        for i, s in enumerate(SHAPES):
            g = torch.randn(*s, generator=gen)
            if (k, i) not in NO_GRAD:
                out[f"grad.{k}.{i}"] = g
    return out


def run(case, given, dtype):
    params = [given[f"init.{i}"].to(dtype, copy=True).requires_grad_() for i in range(len(SHAPES))]
    groups = [dict(g, params=[params[i] for i in g["params"]]) for g in case["groups"]]
    opt = torch.optim.SGD(groups, lr=0.1)
    out = OrderedDict()
    for k in range(STEPS):
        if case["lrs"] is not None:
            for g in opt.param_groups:
                g["lr"] = case["lrs"][k]
        for i, p in enumerate(params):
            g = given.get(f"grad.{k}.{i}")
            p.grad = None if g is None else g.to(dtype)
        opt.step()
        out.update((f"{case['name']}.step{k}.{i}", p.detach().clone()) for i, p in enumerate(params))
    for i, p in enumerate(params):
        buf = opt.state[p].get("momentum_buffer")
        if buf is not None:
            out[f"{case['name']}.buf.{i}"] = buf.clone()
    return out


def main():
    torch.set_num_threads(1)
    given = inputs()

    def compute(dtype):
        out = OrderedDict()
        for case in CASES:
            out.update(run(case, given, dtype))
        return out

    tensors = OrderedDict(given)
    tensors.update(gen_nn.twice("sgd", compute))
    os.makedirs(OUT, exist_ok=True)
    gen_nn.OUT = OUT  # gen_nn.save writes, and checks, <OUT>/<name>.safetensors
    path = gen_nn.save("sgd", tensors, cases=CASES, shapes=SHAPES, steps=STEPS,
                       procedure="per step: lr set on every group (unless lrs is null), p.grad set to "
                                 "grad.<k>.<i> or None, torch.optim.SGD.step()")
    print(f"{os.path.getsize(path):9d}  {os.path.relpath(path, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
