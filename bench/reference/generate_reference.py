#!/usr/bin/python3
"""Batch-1 greedy decoding speed of the PyTorch reference (Debian python3-torch), for docs/benchmarks.md.

Loads a llama2.c v0 file (e.g. written by `tinyllm bench generate --model-out`) into bench/reference's model and
decodes N positions from BOS the way llama2.c's model.py generate() does: no KV cache, the whole sequence through
the model at every step. Prints one JSON line.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_reference import read_v0  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True)
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = read_v0(a.model)
    model.eval()
    best = float("inf")
    ids = []
    with torch.no_grad():
        for _ in range(max(1, a.repeats)):
            idx = torch.tensor([[1]], dtype=torch.long)
            start = time.perf_counter()
            while idx.shape[1] <= a.tokens:
                logits = model(idx)
                nxt = logits[:, -1, :].argmax(dim=-1, keepdim=True)
                idx = torch.cat((idx, nxt), dim=1)
            best = min(best, time.perf_counter() - start)
            ids = idx[0, 1:].tolist()
    print(json.dumps({
        "impl": "pytorch-reference-uncached", "tokens": a.tokens, "tokens_per_s": a.tokens / best,
        "threads": torch.get_num_threads(), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "last_tokens": ids[-8:],
    }))


if __name__ == "__main__":
    main()
