#!/usr/bin/env bash
# Batch-1 greedy decoding, 256 new tokens, of one random model in each weight format, side by side in one run:
#   TinyLlm's engine on fp32 weights        vs  llama2.c run.c  on the same llama2.c v0 file
#   TinyLlm's engine on Q8_0 weights        vs  llama2.c runq.c on the same llama2.c v2 file (read as it is)
#   TinyLlm's engine on bf16 weights (the v0 file rounded to bf16 on load)
# run.c and runq.c are yours to build (this repository does not ship llama2.c code):
#   gcc -Ofast -fopenmp -march=native run.c -lm -o run; the same for runq.c
# and are named by RUNC and RUNQ (either may be left out). Every implementation uses $(nproc) threads (THREADS to
# change). The measurements run in ROUNDS (default 3) interleaved rounds; take the best of the rounds, which filters
# out other load on a shared machine. In a round the engine decodes REPEATS (default 10) times in one process and
# reports its best run (warm: .NET's tiered JIT has compiled the hot code fully, as in an app that keeps serving)
# and its first (cold, as a one-off `tinyllm generate` sees); run.c's figure is its own "achieved tok/s". Peak resident memory comes from
# /usr/bin/time when it is installed. One JSON line per measurement.
# Usage: [RUNC=...] [RUNQ=...] bench/generate-formats-bench.sh [tinyllm bench generate shape flags]
#   seed config:      (no flags)  288/8/8/4, vocab 4096, seq 256
#   stories15M shape: --dim 288 --n-layers 6 --n-heads 6 --n-kv-heads 6 --vocab-size 32000
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/TinyLlm.Cli -c Release -v q -nologo >/dev/null
tinyllm=src/TinyLlm.Cli/bin/Release/net10.0/tinyllm
threads=${THREADS:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u '+%F %H:%M') UTC, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg), flags: $*"

"$tinyllm" bench generate --repeats 1 --tokens 1 --model-out "$work/model.bin" "$@" >/dev/null
# run.c stops when it samples BOS (id 1), which greedy decoding of a random model may do at once: zero BOS's
# embedding row (its logit is then 0, below the largest of the others) so that every run decodes all 256 positions.
python3 - "$work/model.bin" <<'EOF'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    dim = struct.unpack('7i', f.read(28))[0]
    f.seek(28 + 4 * dim)
    f.write(bytes(4 * dim))
EOF
"$tinyllm" export --checkpoint "$work/model.bin" --format llama2c-q8 --out "$work/model-q8.bin" >/dev/null 2>&1
# run.c/runq.c need a tokenizer.bin of the model's vocabulary size; the text does not matter for speed, so the
# pieces are placeholders (byte pieces <0xNN> at ids 3..258, as in our tokenizers, then " t<id>").
python3 - "$work/model.bin" "$work/tok.bin" <<'EOF'
import struct, sys
vocab = abs(struct.unpack('7i', open(sys.argv[1], 'rb').read(28))[5])
pieces = [b'<unk>', b'<s>', b'</s>'] + [b'<0x%02X>' % i for i in range(256)]
pieces += [b' t%d' % i for i in range(len(pieces), vocab)]
with open(sys.argv[2], 'wb') as f:
    f.write(struct.pack('i', max(len(p) for p in pieces)))
    for p in pieces[:vocab]:
        f.write(struct.pack('fi', 0.0, len(p)) + p)
EOF

# "peak_rss_mb" of a command from /usr/bin/time (null without it); its stderr goes to $work/err
peak() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$work/rss" "$@" 2>"$work/err" >/dev/null
    awk '{printf "%.1f", $1 / 1024}' "$work/rss"
  else
    "$@" 2>"$work/err" >/dev/null
    printf null
  fi
}

llama2c() { # name binary model
  [ -n "$2" ] || return 0
  rss=$(OMP_NUM_THREADS=$threads peak "$2" "$3" -z "$work/tok.bin" -n 256 -t 0)
  rate=$(sed -n 's/achieved tok\/s: //p' "$work/err")
  echo "{\"round\": $round, \"result\": {\"impl\": \"llama2.c $1 (-Ofast -fopenmp -march=native)\", \"tokens\": 256, \"tokens_per_s\": ${rate:-0}, \"threads\": $threads, \"peak_rss_mb\": $rss}}"
}

ours() { # model [--weights x]
  echo "{\"round\": $round, \"result\": $(DOTNET_PROCESSOR_COUNT=$threads "$tinyllm" bench generate --mode cached --repeats "${REPEATS:-10}" --tokens 256 --checkpoint "$@")}"
}

for round in $(seq "${ROUNDS:-3}"); do
  ours "$work/model.bin" --weights f32
  llama2c run.c "${RUNC:-}" "$work/model.bin"
  ours "$work/model-q8.bin"
  llama2c runq.c "${RUNQ:-}" "$work/model-q8.bin"
  ours "$work/model.bin" --weights bf16
done | tee "$work/rounds.jsonl"
# the best round of each implementation: a markdown table row each (tokens/s; the engine's first run in its
# process, before the JIT has finished compiling the hot code; peak RSS MB)
python3 - "$work/rounds.jsonl" <<'EOF'
import json, sys
best = {}
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    key = r["impl"] + (", " + r["weights"] if "weights" in r else "")
    if key not in best or r["tokens_per_s"] > best[key]["tokens_per_s"]:
        best[key] = r
for key, r in best.items():
    rss = r.get("peak_rss_mb")
    cold = r.get("first_run_tokens_per_s")
    print(f"| {key} | {r['tokens_per_s']:.0f} | {'n/a' if cold is None else round(cold)} | {'n/a' if rss is None else round(rss)} |")
EOF
