#!/usr/bin/env python3
"""Train a TinyLlm model beyond one machine: llama2.c's train.py on PyTorch's DistributedDataParallel.

Reads the shards `tinyllm pretokenize` writes, starts from scratch, from a model `tinyllm export` wrote (llama2.c v0
file or Hugging Face folder) or from its own checkpoint, and writes model.bin (llama2.c v0) and hf/ (Hugging Face)
that `tinyllm generate` and LoadLlama read. Options have the names and defaults of `tinyllm train`.

  python3 train.py --data-dir data/tok4096 --out-dir out                  # one process
  torchrun --nproc_per_node 8 train.py --data-dir data --batch-size 256   # one machine, 8 GPUs (or CPU processes)

--batch-size is the global micro-batch, as in `tinyllm train`: each of the N processes takes batch_size / N of its
rows, so the tokens per iteration, the data order and the losses do not depend on N. Under torchrun's restarts
(--max-restarts) a restarted run resumes from out_dir/ckpt.pt. docs/scale-out.md has the whole story.
"""
import argparse
import contextlib
import csv
import io
import json
import math
import os
import sys
import time

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from formats import ModelFileError, read_model, write_hf, write_llama2c
from model import HAS_SDPA, ModelArgs, Transformer
from shards import TRAIN, VALIDATION, DataError, TokenWindows, shard_folder

CHECKPOINT = "ckpt.pt"
EXPORT = "model.bin"
HF_EXPORT = "hf"
METRICS = "metrics.csv"
METRICS_HEADER = ["kind", "iter", "tokens", "lr", "loss", "train_loss", "val_loss", "step_ms", "tokens_per_s", "mfu"]
MODEL_SHAPE = ("dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "multiple_of", "max_seq_len")
PROMISED_FLOPS = 312e12  # llama2.c's MFU yardstick: an A100's bf16 peak


class ConfigError(Exception):
    """An option out of range or in conflict with the model being continued; the message names it."""


# ---------------------------------------------------------------------------------------------------- options

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)

    def flag(name, default, kind, help):
        # both spellings of `tinyllm train`: --batch-size and the tutorial's --batch_size
        names = ["--" + name, "--" + name.replace("-", "_")] if "-" in name else ["--" + name]
        if kind is bool:
            p.add_argument(*names, type=_bool, nargs="?", const=True, default=default, help=help)
        else:
            p.add_argument(*names, type=kind, default=default, help=help)

    p.add_argument("--data-dir", "--data_dir", "--dataset-dir", "--dataset_dir", required=True,
                   help="folder of .bin shards (or a dataset folder holding tok<vocab_size>/); shard 0 is validation")
    # I/O
    flag("out-dir", "out", str, "folder for ckpt.pt, model.bin, hf/ and metrics.csv")
    flag("eval-interval", 2000, int, "evaluate (and maybe checkpoint) every N iterations")
    flag("log-interval", 1, int, "log the training loss every N iterations")
    flag("eval-iters", 100, int, "batches per split in each evaluation")
    flag("eval-only", False, bool, "evaluate once and exit")
    flag("always-save-checkpoint", False, bool, "checkpoint at every evaluation, not only on a better val loss")
    flag("init-from", "scratch", str, "scratch, resume (from out-dir/ckpt.pt), or a model: a llama2.c v0 file or a Hugging Face folder")
    flag("tokenizer-model-path", None, str, "the tokenizer .model, copied into hf/ so the folder is complete")
    # data
    flag("batch-size", 128, int, "global micro-batch size (sequences per forward/backward, over all processes)")
    flag("max-seq-len", None, int, "context length (default 256, or the initial model's)")
    flag("vocab-size", None, int, "vocabulary size (default 4096, or the initial model's)")
    # model (None: the default, or the shape of the model being continued)
    flag("dim", None, int, "model width (default 288)")
    flag("n-layers", None, int, "transformer blocks (default 8)")
    flag("n-heads", None, int, "query heads (default 8)")
    flag("n-kv-heads", None, int, "key/value heads (default 4)")
    flag("multiple-of", None, int, "SwiGLU hidden size rounding (default 32)")
    flag("dropout", 0.0, float, "dropout probability")
    # adamw optimizer
    flag("gradient-accumulation-steps", 4, int, "micro-batches per optimizer step")
    flag("learning-rate", 5e-4, float, "peak learning rate")
    flag("max-iters", 100000, int, "total optimizer steps; iterations 0..max_iters run")
    flag("weight-decay", 0.1, float, "AdamW weight decay on matrices")
    flag("beta1", 0.9, float, "AdamW beta1")
    flag("beta2", 0.95, float, "AdamW beta2")
    flag("grad-clip", 1.0, float, "clip gradients to this global norm (0 disables)")
    # learning rate decay
    flag("decay-lr", True, bool, "warmup then cosine decay (false: constant learning rate)")
    flag("warmup-iters", 1000, int, "linear warmup iterations")
    flag("lr-decay-iters", None, int, "iteration where the cosine reaches min-lr (default: max-iters)")
    flag("min-lr", 0.0, float, "final learning rate")
    # system
    flag("device", "auto", str, "auto (cuda if available, else cpu), cpu, cuda or cuda:N (under torchrun: the local rank's GPU)")
    flag("dtype", "auto", str, "auto (bfloat16 autocast on cuda, float32 on cpu), float32 or bfloat16")
    flag("seed", 1337, int, "seed of the initialization, dropout and data order")
    flag("sdpa", True, bool, "attention through scaled_dot_product_attention where PyTorch has it (2.0+)")
    flag("write-metrics", True, bool, "write metrics.csv into out-dir")
    return p.parse_args(argv)


def _bool(text):
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")


def check_options(o, world_size):
    def at_least(name, minimum):
        if getattr(o, name) is not None and getattr(o, name) < minimum:
            raise ConfigError(f"The option {name} must be at least {minimum}; got {getattr(o, name)}.")

    for name, minimum in (("eval_interval", 1), ("log_interval", 1), ("eval_iters", 1), ("batch_size", 1),
                          ("gradient_accumulation_steps", 1), ("max_iters", 0), ("warmup_iters", 0), ("lr_decay_iters", 0)):
        at_least(name, minimum)
    for name in ("learning_rate", "min_lr", "weight_decay", "grad_clip"):
        if not (math.isfinite(getattr(o, name)) and getattr(o, name) >= 0):
            raise ConfigError(f"The option {name} must be a finite number >= 0; got {getattr(o, name)}.")
    for name in ("beta1", "beta2"):
        if not 0 <= getattr(o, name) < 1:
            raise ConfigError(f"The option {name} must be in [0, 1); got {getattr(o, name)}.")
    if o.dtype not in ("auto", "float32", "bfloat16"):
        raise ConfigError(f"The option dtype must be auto, float32 or bfloat16; got '{o.dtype}'.")
    if o.batch_size % world_size:
        raise ConfigError(f"The option batch_size {o.batch_size} is the global micro-batch and must be divisible by the world size "
                          f"{world_size} (each process takes batch_size / world_size rows); use a multiple of {world_size}.")


# ---------------------------------------------------------------------------------------------------- the run

def get_lr(it, o):
    """1) linear warmup for warmup_iters, 2) min_lr after lr_decay_iters, 3) cosine decay in between."""
    if not o.decay_lr:
        return o.learning_rate
    decay_iters = o.max_iters if o.lr_decay_iters is None else o.lr_decay_iters
    if it < o.warmup_iters:
        return o.learning_rate * it / o.warmup_iters
    if it > decay_iters:
        return o.min_lr
    if decay_iters == o.warmup_iters:
        return o.learning_rate
    ratio = (it - o.warmup_iters) / (decay_iters - o.warmup_iters)
    return o.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (o.learning_rate - o.min_lr)


def setup_device(o):
    """(rank, world_size, device): torchrun's variables decide the rank; each process takes its local GPU."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    wants_cuda = o.device.startswith("cuda") or (o.device == "auto" and torch.cuda.is_available())
    if o.device not in ("auto", "cpu") and not o.device.startswith("cuda"):
        raise ConfigError(f"The option device must be auto, cpu, cuda or cuda:N; got '{o.device}'.")
    if wants_cuda:
        if not torch.cuda.is_available():
            raise ConfigError("The option device asks for cuda, but PyTorch sees no CUDA device.")
        index = local_rank if world > 1 or ":" not in o.device else int(o.device.split(":")[1])
        device = torch.device("cuda", index)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    return rank, world, device


def init_model(o, rank, out_dir):
    """(model, checkpoint or None, iter_num, best_val_loss). Under a torchrun restart the checkpoint wins."""
    ckpt_path = os.path.join(out_dir, CHECKPOINT)
    restarted = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", 0)) > 0
    init_from = o.init_from
    if restarted and os.path.exists(ckpt_path):
        init_from = "resume"
        log(rank, f"restart {os.environ['TORCHELASTIC_RESTART_COUNT']}: resuming from {ckpt_path}")

    if init_from == "resume":
        ckpt = load_checkpoint(ckpt_path)
        args = ModelArgs(**ckpt["model_args"])
        check_shape(o, args, ckpt_path)
        args.dropout = o.dropout
        model = Transformer(args)
        model.load_state_dict(ckpt["model"])
        log(rank, f"resuming from {ckpt_path} at iteration {ckpt['iter_num']} (best val loss {ckpt['best_val_loss']:.4f})")
        return model, ckpt, ckpt["iter_num"], ckpt["best_val_loss"]
    if init_from == "scratch":
        args = ModelArgs(**{name: getattr(o, name) for name in MODEL_SHAPE if getattr(o, name) is not None}, dropout=o.dropout)
        try:
            args.check()
        except ValueError as e:
            raise ConfigError(f"The model options are inconsistent: {e}.") from e
        torch.manual_seed(o.seed)
        log(rank, "initializing a new model from scratch")
        return Transformer(args), None, 0, 1e9
    # a model file: its weights and shape, a new optimizer and schedule
    model = read_model(init_from)
    check_shape(o, model.args, init_from)
    model.set_dropout(o.dropout)
    log(rank, f"initializing from {init_from} (a new optimizer and learning-rate schedule start at iteration 0)")
    return model, None, 0, 1e9


def check_shape(o, args, source):
    """A shape option given on the command line must agree with the model being continued."""
    for name in MODEL_SHAPE:
        given = getattr(o, name)
        if name == "multiple_of":
            continue  # a file records hidden_dim, not how it was rounded
        if given is not None and given != getattr(args, name):
            raise ConfigError(f"The option {name} is {given} but the model '{source}' has {name} {getattr(args, name)}; "
                              "leave the option out (the model's shape is used) or train from scratch.")
    if o.multiple_of is not None:
        args_from_option = ModelArgs(dim=args.dim, multiple_of=o.multiple_of)
        if args_from_option.hidden_dim != args.hidden_dim:
            raise ConfigError(f"The option multiple_of {o.multiple_of} gives hidden_dim {args_from_option.hidden_dim} but the model "
                              f"'{source}' has hidden_dim {args.hidden_dim}; leave the option out.")


def load_checkpoint(path):
    if not os.path.exists(path):
        raise ConfigError(f"init_from is 'resume' but there is no checkpoint at '{path}'; train from scratch first, "
                          "or point --out-dir at the earlier run.")
    try:
        ckpt = torch.load(path, map_location="cpu")
    except Exception as e:  # a truncated zip, a foreign pickle: torch raises several kinds
        raise ConfigError(f"The checkpoint '{path}' cannot be read ({type(e).__name__}: {e}): it is partial or not a checkpoint "
                          "of this program. Checkpoints are written to a temporary name and renamed, so this one was damaged "
                          f"afterwards; restore it, or start again from {EXPORT} with --init-from.") from e
    missing = [k for k in ("model", "optimizer", "model_args", "iter_num", "best_val_loss") if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise ConfigError(f"The checkpoint '{path}' lacks {', '.join(missing)}: it is not a checkpoint of this program.")
    return ckpt


def save_checkpoint(out_dir, model, optimizer, iter_num, best_val_loss, o):
    """ckpt.pt (to resume here), model.bin and hf/ (for TinyLlm), each written under a temporary name and renamed."""
    ckpt = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "model_args": model.args.to_dict(),
            "iter_num": iter_num, "best_val_loss": best_val_loss, "config": vars(o)}
    path = os.path.join(out_dir, CHECKPOINT)
    with open(path + ".tmp", "wb") as f:
        torch.save(ckpt, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)
    write_llama2c(model, os.path.join(out_dir, EXPORT))
    write_hf(model, os.path.join(out_dir, HF_EXPORT), _tokenizer(o, out_dir))


def _tokenizer(o, out_dir):
    """The .model for hf/: --tokenizer-model-path, else the starting folder's, else the one hf/ already holds (a resumed run)."""
    candidates = [o.tokenizer_model_path, os.path.join(out_dir, HF_EXPORT, "tokenizer.model")]
    if o.init_from not in ("scratch", "resume"):
        candidates.insert(1, os.path.join(o.init_from, "tokenizer.model"))
    return next((c for c in candidates if c and os.path.isfile(c)), None)


@torch.no_grad()
def estimate_loss(model, data, o, rows, autocast, world):
    """Mean loss over batches 0..eval_iters-1 of each split (the same batches at every evaluation), each process
    taking its rows of every batch; the mean over processes is the mean over the whole batches."""
    model.eval()
    out = []
    for split in (TRAIN, VALIDATION):
        total = torch.zeros((), dtype=torch.float64, device=model.freqs_cos.device)  # nccl reduces device tensors only
        for k in range(o.eval_iters):
            x, y = to_device(data.batch(split, k, o.batch_size, rows), model.freqs_cos.device)
            with autocast:
                _, loss = model(x, y)
            total += loss.float().item()
        if world > 1:
            dist.all_reduce(total)
            total /= world
        out.append(total.item() / o.eval_iters)
    model.train()
    return out


def to_device(batch, device):
    x, y = (torch.from_numpy(a) for a in batch)
    if device.type == "cuda":
        return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    return x, y


class Metrics:
    """out_dir/metrics.csv in `tinyllm train`'s layout, rewritten (temporary name, rename) at each evaluation; a
    resumed run keeps the rows of the iterations before it."""

    def __init__(self, out_dir, from_iter, enabled):
        self.path, self.enabled, self.rows = os.path.join(out_dir, METRICS), enabled, []
        if enabled and from_iter > 0 and os.path.exists(self.path):
            with open(self.path, newline="") as f:
                self.rows = [r for r in csv.reader(f)][1:]
            self.rows = [r for r in self.rows if int(r[1]) < from_iter]

    def step(self, it, tokens, lr, loss, ms, tok_s, mfu):
        self.rows.append(["step", it, tokens, repr(lr), repr(loss), "", "", repr(ms), repr(tok_s), repr(mfu) if mfu >= 0 else ""])

    def eval(self, it, tokens, lr, train_loss, val_loss):
        self.rows.append(["eval", it, tokens, repr(lr), "", repr(train_loss), repr(val_loss), "", "", ""])

    def flush(self):
        if not self.enabled:
            return
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(METRICS_HEADER)
        writer.writerows(self.rows)
        with open(self.path + ".tmp", "w") as f:
            f.write(buffer.getvalue())
        os.replace(self.path + ".tmp", self.path)


def log(rank, message):
    if rank == 0:
        print(message, file=sys.stderr, flush=True)


def train(o):
    rank, world, device = setup_device(o)
    check_options(o, world)
    os.makedirs(o.out_dir, exist_ok=True)
    model, ckpt, iter_num, best_val_loss = init_model(o, rank, o.out_dir)
    args = model.args
    data = TokenWindows(shard_folder(o.data_dir, args.vocab_size), args.max_seq_len, o.seed, args.vocab_size)
    rows_per_rank = o.batch_size // world
    rows = range(rank * rows_per_rank, (rank + 1) * rows_per_rank)  # this process's rows of every global batch
    tokens_per_iter = o.gradient_accumulation_steps * o.batch_size * args.max_seq_len
    log(rank, f"tokens per iteration will be: {tokens_per_iter:,} ({o.gradient_accumulation_steps} grad accum steps * "
              f"{o.batch_size} batch size * {args.max_seq_len} max seq len; {world} process(es) of {rows_per_rank} rows)")
    log(rank, f"data: {data.window_count(TRAIN):,} training and {data.window_count(VALIDATION):,} validation windows in {data.folder}")

    if world > 1:
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    for layer in model.layers:
        layer.attention.use_sdpa = o.sdpa and HAS_SDPA
    model.to(device)
    model.train()
    bf16 = o.dtype == "bfloat16" or (o.dtype == "auto" and device.type == "cuda")
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    log(rank, f"model: {sum(p.numel() for p in model.parameters()):,} parameters, device {device}, "
              f"compute {'bfloat16 autocast' if bf16 else 'float32'}, attention {'sdpa' if o.sdpa and HAS_SDPA else 'explicit'}, torch {torch.__version__}")

    optimizer = torch.optim.AdamW(model.optimizer_groups(o.weight_decay), lr=o.learning_rate, betas=(o.beta1, o.beta2), eps=1e-8)
    if ckpt is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
        ckpt = None  # free it
    ddp = DistributedDataParallel(model) if world > 1 else None
    net = ddp or model
    metrics = Metrics(o.out_dir, iter_num, o.write_metrics and rank == 0)
    flops_per_iter = model.flops_per_token() * tokens_per_iter
    running_mfu, local_iter, t0 = -1.0, 0, time.time()

    while True:
        lr = get_lr(iter_num, o)
        for group in optimizer.param_groups:
            group["lr"] = lr

        # evaluate the loss on train/val sets and write checkpoints
        if iter_num % o.eval_interval == 0:
            train_loss, val_loss = estimate_loss(model, data, o, rows, autocast, world)
            log(rank, f"step {iter_num}: train loss {train_loss:.4f}, val loss {val_loss:.4f}")
            if not (math.isfinite(train_loss) and math.isfinite(val_loss)):
                raise FloatingPointError(f"Training diverged at iteration {iter_num}: the evaluated loss is not finite; "
                                         "lower learning_rate or keep grad_clip on. The last checkpoint is kept.")
            metrics.eval(iter_num, iter_num * tokens_per_iter, lr, train_loss, val_loss)
            if val_loss < best_val_loss or o.always_save_checkpoint:
                best_val_loss = val_loss if o.always_save_checkpoint else min(best_val_loss, val_loss)
                if iter_num > 0 and rank == 0:
                    save_checkpoint(o.out_dir, model, optimizer, iter_num, best_val_loss, o)
                    log(rank, f"saved checkpoint to {os.path.join(o.out_dir, CHECKPOINT)}, {EXPORT} and {HF_EXPORT}/")
            metrics.flush()
            t0 = time.time()  # the step time excludes evaluation
        if o.eval_only:
            break

        # forward backward update, with gradient accumulation to simulate a larger batch
        if o.dropout > 0:
            torch.manual_seed(o.seed + iter_num + 1_000_003 * rank)  # a resumed run draws the same masks
        loss_sum = torch.zeros((), device=device)
        for micro in range(o.gradient_accumulation_steps):
            x, y = to_device(data.batch(TRAIN, iter_num * o.gradient_accumulation_steps + micro, o.batch_size, rows), device)
            # all-reduce the gradients only once per step, on the last micro-batch
            last = micro == o.gradient_accumulation_steps - 1
            with (ddp.no_sync() if ddp is not None and not last else contextlib.nullcontext()):
                with autocast:
                    _, loss = net(x, y)
                loss = loss / o.gradient_accumulation_steps
                loss.backward()
            loss_sum += loss.detach().float()
        if o.grad_clip != 0.0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if world > 1:
            dist.all_reduce(loss_sum)  # each process's mean over its rows -> the mean over the global batch
            loss_sum /= world
        loss = loss_sum.item()
        if not math.isfinite(loss):
            raise FloatingPointError(f"Training diverged at iteration {iter_num}: the training loss is {loss}; "
                                     "lower learning_rate or keep grad_clip on. The last checkpoint is kept.")

        # timing and logging
        dt = time.time() - t0
        t0 = time.time()
        if local_iter >= 5:
            mfu = flops_per_iter / dt / PROMISED_FLOPS
            running_mfu = mfu if running_mfu < 0 else 0.9 * running_mfu + 0.1 * mfu
        if iter_num % o.log_interval == 0:
            log(rank, f"{iter_num} | loss {loss:.4f} | lr {lr:e} | {dt * 1000:.2f}ms | {tokens_per_iter / dt:.0f} tok/s | mfu {running_mfu * 100:.2f}%")
            metrics.step(iter_num, (iter_num + 1) * tokens_per_iter, lr, loss, dt * 1000, tokens_per_iter / dt, running_mfu)
        iter_num += 1
        local_iter += 1
        if iter_num > o.max_iters:
            break

    metrics.flush()
    if world > 1:
        dist.barrier()  # rank 0's last checkpoint is on disk before any process reports success
        dist.destroy_process_group()
    if rank == 0:
        print(json.dumps({"iter_num": iter_num, "best_val_loss": best_val_loss, "out_dir": os.path.abspath(o.out_dir)}), flush=True)


def main(argv=None):
    o = parse_args(argv)
    try:
        train(o)
    except (ConfigError, DataError, ModelFileError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
