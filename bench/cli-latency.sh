#!/usr/bin/env bash
# What a one-off story costs from the command line: wall time and peak memory of a whole `tinyllm generate` process
# for 1 and for 256 new tokens, beside llama2.c's run.c on the same weights, in interleaved rounds. The seed model's
# shape (288/8/8/4, vocab 4096, seq 256) with random weights, greedy, from BOS (empty prompt), all cores.
#   tinyllm (published)   `dotnet publish -c Release -r <rid>`: what an installed tool runs (ReadyToRun, see
#                         src/TinyLlm.Cli/TinyLlm.Cli.csproj)
#   tinyllm (build)       the `dotnet build -c Release` output that `dotnet run` starts: JIT only
#   run.c                 llama2.c's run.c, yours to build and name by RUNC (this repository ships no llama2.c code):
#                         gcc -Ofast -fopenmp -march=native run.c -lm -o run
# Each measurement is its own process, timed from outside (fork to exit); peak RSS from /usr/bin/time. One JSON line
# per measurement, then a summary table (median of the rounds). Usage: [RUNC=...] bench/cli-latency.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-7}
rid=$(dotnet --info | sed -n 's/^ *RID: *//p' | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet build src/TinyLlm.Cli -c Release -v q -nologo >/dev/null
dotnet publish src/TinyLlm.Cli -c Release -r "$rid" --self-contained false -o "$work/published" -v q -nologo >/dev/null
built=src/TinyLlm.Cli/bin/Release/net10.0/tinyllm
published=$work/published/tinyllm
echo "# $(date -u '+%F %H:%M') UTC, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"

# The model, and a tokenizer of its vocabulary trained on synthetic stories (the text does not matter for speed).
"$built" bench generate --repeats 1 --tokens 1 --model-out "$work/model.bin" >/dev/null
"$built" synth --out "$work/stories" --stories 3000 >/dev/null
"$built" train-tokenizer --dataset-dir "$work/stories" --vocab-size 4096 --out "$work/tok.model" >/dev/null
"$built" export --tokenizer-model-path "$work/tok.model" --tokenizer-bin "$work/tok.bin" >/dev/null
# Greedy decoding of random weights may pick BOS (where run.c stops) or EOS (where tinyllm stops) at once: zero
# their rows of the tied embedding (their logits are then 0, below the largest of the others) so that every run
# decodes all its tokens.
python3 - "$work/model.bin" <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    dim = struct.unpack('7i', f.read(28))[0]
    f.seek(28 + 4 * dim)
    f.write(bytes(2 * 4 * dim))
PY

# wall seconds (fork to exit) and peak RSS MB of a command; its output is discarded
measure() {
  local start end
  start=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/err"
  end=$(date +%s%N)
  awk -v s="$start" -v e="$end" -v r="$(tail -1 "$work/rss")" 'BEGIN { printf "\"wall_s\": %.4f, \"peak_rss_mb\": %.1f", (e - s) / 1e9, r / 1024 }'
}
row() { echo "{\"round\": $round, \"impl\": \"$1\", \"new_tokens\": $2, $3}"; }

for round in $(seq "$rounds"); do
  for n in 1 256; do
    row "tinyllm (published)" $n "$(measure "$published" generate --checkpoint "$work/model.bin" --tokenizer "$work/tok.model" --prompt "" --temperature 0 --max-new-tokens $n)"
    row "tinyllm (build)" $n "$(measure "$built" generate --checkpoint "$work/model.bin" --tokenizer "$work/tok.model" --prompt "" --temperature 0 --max-new-tokens $n)"
    # run.c's -n counts positions, the prompt's BOS included
    if [ -n "${RUNC:-}" ]; then row "llama2.c run.c" $n "$(OMP_NUM_THREADS=$(nproc) measure "$RUNC" "$work/model.bin" -z "$work/tok.bin" -n $((n + 1)) -t 0)"; fi
  done
done | tee "$work/rounds.jsonl"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$work/rounds.jsonl" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    runs.setdefault((r["impl"], r["new_tokens"]), []).append(r)
print("| implementation | new tokens | wall s (median) | range | peak RSS MB (median) | vs run.c |")
print("|---|---:|---:|---|---:|---:|")
for (impl, n), rs in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    wall = statistics.median(r["wall_s"] for r in rs)
    ref = runs.get(("llama2.c run.c", n))
    ratio = f"{wall / statistics.median(r['wall_s'] for r in ref):.2f}x" if ref else "n/a"
    print(f"| {impl} | {n} | {wall:.3f} | {min(r['wall_s'] for r in rs):.3f} to {max(r['wall_s'] for r in rs):.3f} | {statistics.median(r['peak_rss_mb'] for r in rs):.0f} | {ratio} |")
PY
