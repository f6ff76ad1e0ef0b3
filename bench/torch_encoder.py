"""PyTorch peer of bench/inference.ts: encoded images per second of the InfoGAN-CR dSprites encoder.

The network is the toolkit's D/Q trunk plus Q head at inference (lib/models/infogan_cr.ts): four 4x4 stride-2
convolutions with padding 1 (TensorFlow SAME for even sizes; 1 -> 32 -> 32 -> 64 -> 64 channels, 64 -> 4 px), LeakyReLU
0.2 after each, flatten, FC 1024 -> 128, LeakyReLU, Q's FC 128 -> 128, LeakyReLU, FC 128 -> 5. Spectral normalisation is
folded into the weights at inference, so plain layers do the same arithmetic. Random weights: the timing does not depend
on their values.

glibc's allocator is told to keep freed memory (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD): by default it returns each large
activation buffer to the system after the call and faults fresh pages in on the next, which on a shared virtual machine
made the batch-256 forward pass up to 15x slower than its arithmetic. onnxruntime (its arena) and the wasm heap keep
their memory, so this compares like with like, at PyTorch's best.

usage: /usr/bin/python3 bench/torch_encoder.py THREADS BATCH [BATCH ...]
prints one line per batch: "torch VERSION threads T batch B images/s R images/cpu-s C"
"""
import ctypes
import sys
import time

import torch
from torch import nn


def encoder() -> nn.Module:
    act = lambda: nn.LeakyReLU(0.2)
    layers = []
    channels = [1, 32, 32, 64, 64]
    for cin, cout in zip(channels, channels[1:]):
        layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), act()]
    layers += [nn.Flatten(), nn.Linear(64 * 4 * 4, 128), act(), nn.Linear(128, 128), act(), nn.Linear(128, 5)]
    return nn.Sequential(*layers).eval()


def rate(model: nn.Module, batch: int, blocks: int = 5, block_seconds: float = 0.3) -> tuple[float, float]:
    """Images per second by the wall clock and per CPU-second of this process: the best of `blocks` timed blocks of
    whole forward passes (same rule as bench/inference.ts)."""
    x = torch.rand(batch, 1, 64, 64)
    with torch.no_grad():
        for _ in range(2):
            model(x)
        t0 = time.perf_counter()
        model(x)
        once = time.perf_counter() - t0
        calls = max(1, int(block_seconds / max(once, 1e-6)))
        wall = cpu = float("inf")
        for _ in range(blocks):
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(calls):
                model(x)
            wall = min(wall, (time.perf_counter() - t0) / calls)
            cpu = min(cpu, (time.process_time() - c0) / calls)
    return batch / wall, batch / cpu


def keep_freed_memory() -> None:
    """mallopt(M_MMAP_THRESHOLD = -3, 1 GiB) and mallopt(M_TRIM_THRESHOLD = -1, 1 GiB) (glibc only; ignored elsewhere)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(-3, 1 << 30)
    libc.mallopt(-1, 1 << 30)


def main() -> None:
    keep_freed_memory()
    threads = int(sys.argv[1])
    batches = [int(b) for b in sys.argv[2:]] or [64, 256]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = encoder()
    for b in batches:
        wall, cpu = rate(model, b)
        print(f"torch {torch.__version__} threads {threads} batch {b} images/s {wall:.1f} images/cpu-s {cpu:.1f}", flush=True)


if __name__ == "__main__":
    main()
