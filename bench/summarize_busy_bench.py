#!/usr/bin/python3
"""Markdown table from bench/train-busy-bench.sh output: per configuration, variant and number of busy programs, the
median over rounds of tokens/s (batch * seq_len / median step time), that as a share of the same variant's quiet
figure, and against the PyTorch reference in the same setting."""
import json
import statistics
import sys

TOKENS = {"seed": 8 * 256, "small": 8 * 512}
ORDER = ["all", "all-active", "half", "pytorch"]
runs = {}
for path in sys.argv[1:]:
    for line in open(path):
        if not line.startswith("{"):
            continue
        row = json.loads(line)
        r = row["result"]
        key = (row["config"], row["variant"], row["busy"])
        runs.setdefault(key, []).append(TOKENS[row["config"]] / (r["step_ms_median"] / 1000))

median = {k: statistics.median(v) for k, v in runs.items()}
nan = float("nan")
print("| config | variant | busy programs | tokens/s (median of rounds) | share of its quiet speed | vs PyTorch, same setting |")
print("|---|---|---:|---:|---:|---:|")
for config in ("seed", "small"):
    variants = sorted({k[1] for k in median if k[0] == config}, key=lambda v: ORDER.index(v) if v in ORDER else len(ORDER))
    for variant in variants:
        for busy in sorted({k[2] for k in median if k[0] == config}):
            if (config, variant, busy) not in median:
                continue
            tps = median[(config, variant, busy)]
            quiet = median.get((config, variant, 0), nan)
            ref = median.get((config, "pytorch", busy), nan)
            share = f"{tps / quiet:.0%}" if quiet == quiet else "n/a"
            vs = f"{tps / ref:.2f}x" if ref == ref else "n/a"
            print(f"| {config} | {variant} | {busy} | {tps:,.0f} ({len(runs[(config, variant, busy)])} rounds) | {share} | {vs} |")
