"""The tutorial's pretokenize (llama2.c tinystories.py), for the benchmark: one process per shard, a pool of
--workers processes. Each story: strip, encode with BOS and no EOS, concatenate, numpy uint16 tofile."""
import argparse, glob, json, os
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import numpy as np
import sentencepiece as spm


def process_shard(shard, model, out_dir):
    sp = spm.SentencePieceProcessor(model_file=model)
    with open(shard, "r") as f:
        data = json.load(f)
    all_tokens = []
    for example in data:
        text = example["story"].strip()
        all_tokens.extend([sp.bos_id()] + sp.encode(text))
    name = os.path.basename(shard).replace(".json", ".bin")
    np.array(all_tokens, dtype=np.uint16).tofile(os.path.join(out_dir, name))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--dataset-dir", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    shards = sorted(glob.glob(os.path.join(a.dataset_dir, "*.json")))
    with ProcessPoolExecutor(max_workers=a.workers) as ex:
        list(ex.map(partial(process_shard, model=a.model, out_dir=a.out_dir), shards))
