"""TinyLlm's (and llama2.c's) pretokenized shards, read through numpy.memmap, cut into windows in the same order as
TinyLlm's TokenWindowBatchSource, so a run continued here sees the batches `tinyllm train` would have seen.

A shard is raw little-endian uint16 token ids, no header (`tok4096/data00.bin`, ...). Shards are taken in ordinal
file-name order; shard 0 is the validation split, the rest are training data. A shard of n tokens has
n // seq_len - 1 windows of seq_len + 1 tokens, window ix starting at ix * seq_len (llama2.c drops the last partial
one). The windows of a split are numbered shard by shard. Row i of batch b of a split is position p = b * batch + i
of an endless stream of epochs: epoch p // W, slot p % W of that epoch's permutation, where W is the split's window
count and the permutation is a SplitMix64-driven Fisher-Yates shuffle seeded by (seed, split, epoch), described in
window_permutation below.
"""
import json
import os
import re

import numpy as np

TRAIN, VALIDATION = 0, 1  # the split numbers that seed the permutations (TinyLlm's DataSplit enum)
MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


class DataError(Exception):
    """Shards that cannot be used as asked; the message names the file and the fix."""


def _mix(z):
    """SplitMix64's finalizer, on Python ints or numpy uint64 arrays (which wrap modulo 2^64)."""
    if isinstance(z, np.ndarray):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def window_permutation(count, seed, split, epoch):
    """A permutation of 0..count-1 that depends only on (seed, split, epoch); TinyLlm's WindowPermutation.

    state = mix(seed) ^ mix(split * GOLDEN + 1) ^ mix(epoch * 0xD1B54A32D192ED03 + 2) (all modulo 2^64); then for
    i = count-1 down to 1: state += GOLDEN, r = mix(state), j = (r * (i + 1)) >> 64 (Lemire's unbiased draw), swap
    perm[i] and perm[j].
    """
    state = _mix(seed & MASK64) ^ _mix((split * GOLDEN + 1) & MASK64) ^ _mix((epoch * 0xD1B54A32D192ED03 + 2) & MASK64)
    if count < 2:
        return np.arange(count, dtype=np.int64)
    # the draws do not depend on the swaps: compute them all at once, then swap in a plain loop
    with np.errstate(over="ignore"):
        k = np.arange(1, count, dtype=np.uint64)
        r = _mix(np.uint64(state) + k * np.uint64(GOLDEN))
        n = np.arange(count, 1, -1, dtype=np.uint64)  # i + 1 for i = count-1 .. 1 (below 2^32)
        lo, hi = r & np.uint64(0xFFFFFFFF), r >> np.uint64(32)
        j = (hi * n + ((lo * n) >> np.uint64(32))) >> np.uint64(32)  # high 64 bits of r * n, without overflow
    perm = list(range(count))
    for i, jj in zip(range(count - 1, 0, -1), j.tolist()):
        perm[i], perm[jj] = perm[jj], perm[i]
    return np.asarray(perm, dtype=np.int64)


def shard_folder(data_dir, vocab_size):
    """The folder itself when it holds .bin shards, else its tok{vocab} subfolder, else
    TinyStories_all_data/tok{vocab} (where `tinyllm pretokenize` writes): the same rule as `tinyllm train`."""
    if not os.path.isdir(data_dir):
        raise DataError(f"The data folder '{data_dir}' does not exist (--data-dir).")
    if any(f.endswith(".bin") for f in os.listdir(data_dir)):
        return data_dir
    for nested in (os.path.join(data_dir, f"tok{vocab_size}"), os.path.join(data_dir, "TinyStories_all_data", f"tok{vocab_size}")):
        if os.path.isdir(nested):
            return nested
    raise DataError(f"The data folder '{data_dir}' holds no .bin shards and no tok{vocab_size} folder; "
                    "run `tinyllm pretokenize` first (--data-dir).")


class TokenWindows:
    """The windows of one shard folder, split into training (every shard but the first) and validation (shard 0)."""

    def __init__(self, folder, seq_len, seed, vocab_size):
        self.folder, self.seq_len, self.seed = folder, seq_len, seed
        paths = sorted((os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".bin")), key=lambda p: os.path.basename(p).encode())
        if not paths:
            raise DataError(f"Shard folder '{folder}' holds no .bin shards; run `tinyllm pretokenize` first.")
        self._check_vocabulary(paths, vocab_size)
        self.shards = []
        for p in paths:
            size = os.path.getsize(p)
            if size % 2:
                raise DataError(f"Shard '{p}' is {size:,} bytes long, an odd length: a shard is uint16 tokens, so it is truncated or not a shard.")
            if size // 2 // seq_len - 1 < 1:
                raise DataError(f"Shard '{p}' holds {size // 2:,} tokens, too few for a window of max_seq_len {seq_len} "
                                f"(a shard needs at least {2 * seq_len:,} tokens); use a smaller max_seq_len or larger shards.")
            self.shards.append(np.memmap(p, dtype=np.dtype("<u2"), mode="r"))
        if len(self.shards) < 2:
            raise DataError(f"Shard folder '{folder}' holds one shard; shard 0 is the validation split, so training needs at least two.")
        self.paths = paths
        max_id = max(int(s.max()) for s in self.shards)
        if max_id >= vocab_size:
            raise DataError(f"The shards in '{folder}' hold token id {max_id}, which does not fit the model's vocab_size {vocab_size}: "
                            "they were made with another tokenizer than the model's (or set --vocab-size to the tokenizer's).")
        self._splits = {VALIDATION: [0], TRAIN: list(range(1, len(self.shards)))}
        self._first = {s: np.cumsum([0] + [self._windows_in(k) for k in ks]) for s, ks in self._splits.items()}
        self._perm_cache = {}

    def _windows_in(self, shard):
        return len(self.shards[shard]) // self.seq_len - 1

    @staticmethod
    def _check_vocabulary(paths, vocab_size):
        folder = os.path.dirname(paths[0])
        manifest = os.path.join(folder, "manifest.json")
        if os.path.exists(manifest):
            with open(manifest, encoding="utf-8") as f:
                recorded = json.load(f).get("vocabSize")
            if recorded and recorded != vocab_size:
                raise DataError(f"The shards in '{folder}' were made with a tokenizer of {recorded} pieces (manifest '{manifest}'), "
                                f"but the model's vocab_size is {vocab_size}: pretokenize with the model's tokenizer.")
        named = re.fullmatch(r"tok(\d+)", os.path.basename(os.path.normpath(folder)))
        if named and int(named.group(1)) != vocab_size:
            raise DataError(f"The shard folder '{folder}' is named for a vocabulary of {named.group(1)}, "
                            f"but the model's vocab_size is {vocab_size}: use the tok{vocab_size} shards.")

    def window_count(self, split):
        return int(self._first[split][-1])

    def window_at(self, split, position):
        """Which window of the split row `position` of the endless batch stream reads."""
        count = self.window_count(split)
        epoch, slot = divmod(position, count)
        key = (split, epoch)
        if key not in self._perm_cache:
            if len(self._perm_cache) >= 4:  # a batch may straddle two epochs; train and validation interleave
                self._perm_cache.pop(next(iter(self._perm_cache)))
            self._perm_cache[key] = window_permutation(count, self.seed, split, epoch)
        return int(self._perm_cache[key][slot])

    def window(self, split, index):
        """The seq_len + 1 tokens of window `index` of the split (shard by shard, windows in stream order)."""
        first = self._first[split]
        k = int(np.searchsorted(first, index, side="right")) - 1
        start = (index - int(first[k])) * self.seq_len
        return self.shards[self._splits[split][k]][start:start + self.seq_len + 1]

    def batch(self, split, batch_index, batch_size, rows):
        """Rows `rows` (a range within 0..batch_size-1) of batch `batch_index`: int64 inputs and targets."""
        windows = np.stack([self.window(split, self.window_at(split, batch_index * batch_size + i)) for i in rows]).astype(np.int64)
        return windows[:, :-1], windows[:, 1:]
