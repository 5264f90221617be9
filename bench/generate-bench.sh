#!/usr/bin/env bash
# Batch-1 greedy decoding of a random seed-config model (288/8/8/4, vocab 4096, 256 positions) on this machine,
# side by side in one run: TinyLlm's .NET engine with its KV cache, our TorchSharp model with its KV cache (the CUDA
# backend, here on the CPU), the tutorial's cacheless loop on our TorchSharp
# model, and the PyTorch reference's cacheless loop (llama2.c model.py's generate), same weights. One JSON line each.
# With RUNC=/path/to/run (llama2.c's run.c built by you: gcc -Ofast -fopenmp -march=native run.c -lm -o run; this
# repository does not ship it) it also runs run.c on the same weights with OMP_NUM_THREADS=$(nproc). The engine and
# run.c are measured in 3 interleaved rounds (take the best of each), which filters out other load on the machine.
# Usage: [RUNC=...] bench/generate-bench.sh [extra tinyllm bench generate flags, e.g. --dim 288 --n-layers 6 --n-heads 6 --n-kv-heads 6]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/TinyLlm.Cli -c Release -v q -nologo >/dev/null
tinyllm=src/TinyLlm.Cli/bin/Release/net10.0/tinyllm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "# $(date -u +%F) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$tinyllm" bench generate --repeats 1 --model-out "$work/model.bin" "$@" >/dev/null
if [ -n "${RUNC:-}" ]; then
  # run.c needs a tokenizer.bin of the model's vocabulary size: train one on synthetic stories and export it.
  vocab=$(python3 -c "import struct;print(abs(struct.unpack('7i', open('$work/model.bin','rb').read(28))[5]))")
  "$tinyllm" synth --out "$work/stories" --stories 3000 >/dev/null
  "$tinyllm" train-tokenizer --dataset-dir "$work/stories" --vocab-size "$vocab" --out "$work/tok.model" >/dev/null
  "$tinyllm" export --tokenizer-model-path "$work/tok.model" --tokenizer-bin "$work/tok.bin" >/dev/null
fi
for round in 1 2 3; do
  echo "{\"round\": $round, \"result\": $("$tinyllm" bench generate --mode cached --repeats 3 "$@")}"
  if [ -n "${RUNC:-}" ]; then
    rate=$(OMP_NUM_THREADS=$(nproc) "$RUNC" "$work/model.bin" -z "$work/tok.bin" -n 256 -t 0 2>&1 >/dev/null | sed -n 's/achieved tok\/s: //p')
    echo "{\"round\": $round, \"result\": {\"impl\": \"llama2.c run.c (-Ofast -fopenmp -march=native), cached\", \"tokens\": 256, \"tokens_per_s\": ${rate:-0}, \"threads\": $(nproc)}}"
  fi
done
"$tinyllm" bench generate --mode cached --backend torch --repeats 3 "$@"
"$tinyllm" bench generate --mode uncached --repeats 1 "$@"
/usr/bin/python3 bench/reference/generate_reference.py --model "$work/model.bin" --repeats 1 --threads "$(nproc)"
