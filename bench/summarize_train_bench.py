#!/usr/bin/python3
"""Markdown table from bench/train-bench.sh output: per configuration and variant, the best round's tokens/s
(batch * seq_len / median step time: the median filters out stalls from other load), and that run's peak RSS."""
import json
import sys

TOKENS = {"seed": 8 * 256, "small": 8 * 512}
best = {}
for line in open(sys.argv[1]):
    if not line.startswith("{"):
        continue
    row = json.loads(line)
    r = row["result"]
    variant = "PyTorch 1.13 fp32" if r["impl"] == "pytorch" else f"TinyLlm {r['dtype']}"
    tps = TOKENS[row["config"]] / (r["step_ms_median"] / 1000)
    key = (row["config"], variant)
    if key not in best or tps > best[key][0]:
        best[key] = (tps, r["peak_rss_mb"], row["round"])
print("| config | variant | tokens/s | vs PyTorch | peak RSS (MB) |")
print("|---|---|---:|---:|---:|")
for config in ("seed", "small"):
    ref = best.get((config, "PyTorch 1.13 fp32"), (float("nan"),))[0]
    for variant in ("PyTorch 1.13 fp32", "TinyLlm float32", "TinyLlm bfloat16"):
        if (config, variant) in best:
            tps, rss, _ = best[(config, variant)]
            print(f"| {config} | {variant} | {tps:,.0f} | {tps / ref:.2f}x | {rss:,.0f} |")
