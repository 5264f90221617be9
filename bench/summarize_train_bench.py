#!/usr/bin/python3
"""Markdown table from bench/train-bench.sh output: per configuration and variant, the best round's tokens/s
(batch * seq_len / median step time: the median filters out stalls from other load), the best tokens per CPU-second
(process CPU time over the measured steps: what the work costs, whatever else runs on the machine) and the peak RSS
of the best round."""
import json
import sys

TOKENS = {"seed": 8 * 256, "small": 8 * 512}
best = {}
lines = [line for path in sys.argv[1:] for line in open(path)]
for line in lines:
    if not line.startswith("{"):
        continue
    row = json.loads(line)
    r = row["result"]
    variant = "PyTorch 1.13 fp32" if r["impl"] == "pytorch" else f"TinyLlm {r['dtype']}"
    tps = TOKENS[row["config"]] / (r["step_ms_median"] / 1000)
    cpu = r.get("tokens_per_cpu_s", float("nan"))
    key = (row["config"], variant)
    old = best.get(key, (0.0, float("nan"), float("nan")))
    best_cpu = max((c for c in (cpu, old[2]) if c == c), default=float("nan"))  # NaN: not measured
    best[key] = (max(tps, old[0]), r["peak_rss_mb"] if tps > old[0] else old[1], best_cpu)
print("| config | variant | tokens/s (wall) | vs PyTorch | tokens per CPU-s | vs PyTorch | peak RSS (MB) |")
print("|---|---|---:|---:|---:|---:|---:|")
for config in ("seed", "small"):
    ref = best.get((config, "PyTorch 1.13 fp32"), (float("nan"), 0, float("nan")))
    for variant in ("PyTorch 1.13 fp32", "TinyLlm float32", "TinyLlm bfloat16"):
        if (config, variant) in best:
            tps, rss, cpu = best[(config, variant)]
            print(f"| {config} | {variant} | {tps:,.0f} | {tps / ref[0]:.2f}x | {cpu:,.0f} | {cpu / ref[2]:.2f}x | {rss:,.0f} |")
