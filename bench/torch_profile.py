#!/usr/bin/env python3
"""Where the PyTorch peer's iteration spends its time: convolutions against everything else.

Runs the definitions of the peer script (../shared/bench/torch_infogan_cr_step.py, everything before its timing loop),
warms up 3 iterations, then profiles `iterations` iterations with torch.profiler and prints one JSON line: per
iteration, the wall ms, and the self CPU ms of the convolution operators (forward and backward, every transposed
convolution too), of the matrix products, and of all other operators. `deno task bench --only elementwise` shows the
same split for ours; docs/speed.md compares them.

    /usr/bin/python3 bench/torch_profile.py SCRIPT [threads] [iterations]
"""
import json
import sys
import time

script = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
iterations = int(sys.argv[3]) if len(sys.argv) > 3 else 5
source = open(script).read()
cut = source.index("\nfor _ in range(3):")
sys.argv = [script, str(threads), "0"]
scope = {"__name__": "torch_peer"}
exec(compile(source[:cut], script, "exec"), scope)
import torch  # noqa: E402  (after the script set its thread count)
from torch.profiler import ProfilerActivity, profile  # noqa: E402

step = scope["step"]
for _ in range(3):
    step()
t0 = time.perf_counter()
with profile(activities=[ProfilerActivity.CPU]) as prof:
    for _ in range(iterations):
        step()
wall = (time.perf_counter() - t0) * 1000 / iterations


def group(name):
    n = name.lower()
    if "conv" in n:
        return "convolution"
    if n in ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::mv", "aten::dot", "aten::linear"):
        return "matrix product"
    return "other"


ms = {"convolution": 0.0, "matrix product": 0.0, "other": 0.0}
for e in prof.key_averages():
    ms[group(e.key)] += e.self_cpu_time_total / 1000 / iterations
print(json.dumps({
    "torch": torch.__version__,
    "threads": torch.get_num_threads(),
    "iterations": iterations,
    "wall ms per iteration (profiled)": round(wall, 1),
    **{f"{k} self cpu ms": round(v, 1) for k, v in ms.items()},
}))
