"""The model files TinyLlm exchanges: llama2.c's v0 checkpoint (what run.c reads, `tinyllm export --format llama2c`)
and a Hugging Face Llama folder (config.json + model.safetensors, `tinyllm export --format hf`). Both directions, so
a model leaves TinyLlm, trains here, and comes back through `tinyllm generate` / `LoadLlama`.

llama2.c v0: 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, negative when the classifier is
not shared, seq_len), then fp32 row-major tensors: token embedding; every layer's attention norm; every wq; wk; wv;
wo; ffn norm; w1; w2; w3; the final norm; the RoPE cos and sin tables; the classifier only if unshared.

Hugging Face: transformers rotates the two halves of each head (rotate_half) where llama2.c rotates interleaved
pairs, so each head's rows of wq and wk are permuted on the way out (row 2i + j -> row j * head_dim/2 + i) and back on
the way in. safetensors is a uint64 header length, a JSON header, then raw little-endian tensors: read and written
here because Debian 12 has no python3-safetensors package.
"""
import json
import os
import shutil
import struct

import numpy as np
import torch

from model import ModelArgs, Transformer

# the per-layer tensors in llama2.c's file order, with their Hugging Face names
LAYER_TENSORS = [
    ("attention_norm.weight", "input_layernorm.weight"),
    ("attention.wq.weight", "self_attn.q_proj.weight"),
    ("attention.wk.weight", "self_attn.k_proj.weight"),
    ("attention.wv.weight", "self_attn.v_proj.weight"),
    ("attention.wo.weight", "self_attn.o_proj.weight"),
    ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ("feed_forward.w1.weight", "mlp.gate_proj.weight"),
    ("feed_forward.w2.weight", "mlp.down_proj.weight"),
    ("feed_forward.w3.weight", "mlp.up_proj.weight"),
]


class ModelFileError(Exception):
    """A model file that cannot be read; the message names the file and what is wrong."""


def _write_atomically(path, write):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fp32(t):
    return t.detach().float().cpu().contiguous().numpy().astype("<f4")


# ---------------------------------------------------------------------------------------------------- llama2.c v0

def read_llama2c(path):
    """A Transformer with the weights of the llama2.c v0 file at `path`."""
    with open(path, "rb") as f:
        header = f.read(28)
        if len(header) < 28:
            raise ModelFileError(f"'{path}' is {len(header)} bytes long, too short for a llama2.c header (28 bytes).")
        if header.startswith(b"TLLMCKPT"):
            raise ModelFileError(f"'{path}' is a `tinyllm train` checkpoint; give the model.bin beside it, or export it with "
                                 f"`tinyllm export --checkpoint {path} --format llama2c --out model.bin`.")
        dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = struct.unpack("<7i", header)
        if dim == 0x616B3432:  # "ak42": llama2.c's versioned files (v1 fp32, v2 int8)
            raise ModelFileError(f"'{path}' is a versioned llama2.c file (v1 or v2); this trainer reads v0: "
                                 f"write one with `tinyllm export --checkpoint {path} --format llama2c --out model.bin`.")
        if min(dim, hidden, n_layers, n_heads, n_kv_heads, seq_len) < 1:
            raise ModelFileError(f"'{path}' is not a llama2.c v0 model file (header {dim}, {hidden}, {n_layers}, {n_heads}, {n_kv_heads}, "
                                 f"{vocab}, {seq_len}); export it with `tinyllm export --format llama2c`.")
        data = np.fromfile(f, dtype="<f4")
    args = ModelArgs(dim=dim, hidden_dim=hidden, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads,
                     vocab_size=abs(vocab), max_seq_len=seq_len, tied=vocab > 0)
    try:
        args.check()
    except ValueError as e:
        raise ModelFileError(f"'{path}' describes an impossible model: {e}") from e
    model = Transformer(args)
    sizes = _v0_sizes(model)
    expected = sum(n for _, n in sizes)
    if data.size != expected:
        raise ModelFileError(f"'{path}' holds {data.size:,} floats after its header but its header implies {expected:,}: truncated or not a v0 file.")
    pos = 0
    with torch.no_grad():
        for target, n in sizes:
            if target is not None:
                target.copy_(torch.from_numpy(data[pos:pos + n].copy()).view_as(target))
            pos += n
    return model


def _v0_sizes(model):
    """(parameter or None for the RoPE tables, element count) in v0 file order."""
    a = model.args
    params = dict(model.named_parameters())
    order = [(model.tok_embeddings.weight, model.tok_embeddings.weight.numel())]
    for name, _ in LAYER_TENSORS:
        for l in range(a.n_layers):
            p = params[f"layers.{l}.{name}"]
            order.append((p, p.numel()))
    order.append((model.norm.weight, a.dim))
    order += [(None, a.max_seq_len * a.head_dim // 2)] * 2  # freqs_cos, freqs_sin: recomputed
    if not a.tied:
        order.append((model.output.weight, model.output.weight.numel()))
    return order


def write_llama2c(model, path):
    """The weights as a llama2.c v0 file (written to a temporary name, then renamed)."""
    a = model.args

    def write(f):
        f.write(struct.pack("<7i", a.dim, a.hidden_dim, a.n_layers, a.n_heads, a.n_kv_heads,
                            a.vocab_size if a.tied else -a.vocab_size, a.max_seq_len))
        tables = iter([model.freqs_cos, model.freqs_sin])
        for p, _ in _v0_sizes(model):
            f.write(_fp32(p if p is not None else next(tables)).tobytes())

    _write_atomically(path, write)


# ---------------------------------------------------------------------------------------------------- safetensors

_DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2")}


def read_safetensors(path):
    """name -> fp32 numpy array; F32, F16 and BF16 tensors."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise ModelFileError(f"'{path}' is too short for a safetensors header.")
        (n,) = struct.unpack("<Q", raw)
        size = os.path.getsize(path)
        if n > size - 8:
            raise ModelFileError(f"'{path}' declares a {n}-byte safetensors header but has only {size - 8} bytes after it: truncated.")
        header = json.loads(f.read(n))
        data = np.fromfile(f, dtype=np.uint8)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise ModelFileError(f"'{path}': tensor '{name}' is {info['dtype']}; only F32, F16 and BF16 are read.")
        begin, end = info["data_offsets"]
        if end > data.size:
            raise ModelFileError(f"'{path}': tensor '{name}' ends at byte {end} of a {data.size}-byte data section: truncated.")
        values = data[begin:end].view(dtype)
        if info["dtype"] == "BF16":
            values = (values.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = values.astype(np.float32).reshape(info["shape"])
    return tensors


def write_safetensors(path, tensors):
    """name -> fp32 numpy array, as an F32 safetensors file."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, t in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # the data section starts 8-byte aligned

    def write(f):
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for t in tensors.values():
            f.write(t.tobytes())

    _write_atomically(path, write)


# ---------------------------------------------------------------------------------------------------- Hugging Face

def _half_split(w, heads, head_dim):
    """Rows of each head from interleaved RoPE pairs to transformers' halves: row 2i + j -> row j * head_dim/2 + i."""
    return w.reshape(heads, head_dim // 2, 2, -1).transpose(0, 2, 1, 3).reshape(w.shape)


def _interleaved(w, heads, head_dim):
    """The inverse of _half_split."""
    return w.reshape(heads, 2, head_dim // 2, -1).transpose(0, 2, 1, 3).reshape(w.shape)


def read_hf(folder):
    """A Transformer with the weights of a Hugging Face LlamaForCausalLM folder (one model.safetensors)."""
    config_path = os.path.join(folder, "config.json")
    if not os.path.exists(config_path):
        raise ModelFileError(f"'{folder}' has no config.json: it is not a Hugging Face model folder.")
    with open(config_path, encoding="utf-8") as f:
        c = json.load(f)
    if c.get("model_type", "llama") != "llama" or c.get("hidden_act", "silu") != "silu" or c.get("rope_scaling"):
        raise ModelFileError(f"'{config_path}' is not a plain Llama model (model_type llama, hidden_act silu, no rope_scaling).")
    if abs(c.get("rope_theta", 10000.0) - 10000.0) > 1e-6 or abs(c.get("rms_norm_eps", 1e-5) - 1e-5) > 1e-12:
        raise ModelFileError(f"'{config_path}' has rope_theta {c.get('rope_theta')} / rms_norm_eps {c.get('rms_norm_eps')}; "
                             "the llama2.c architecture trained here uses 10000 and 1e-5.")
    n_heads = c["num_attention_heads"]
    args = ModelArgs(dim=c["hidden_size"], hidden_dim=c["intermediate_size"], n_layers=c["num_hidden_layers"], n_heads=n_heads,
                     n_kv_heads=c.get("num_key_value_heads", n_heads), vocab_size=c["vocab_size"],
                     max_seq_len=c.get("max_position_embeddings", 2048), tied=bool(c.get("tie_word_embeddings", False)))
    weights_path = os.path.join(folder, "model.safetensors")
    if not os.path.exists(weights_path):
        raise ModelFileError(f"'{folder}' has no model.safetensors (sharded and pytorch_model.bin folders are not read here; "
                             "convert them with `tinyllm export --format hf`).")
    w = read_safetensors(weights_path)
    model = Transformer(args)
    hd = args.head_dim

    def take(name, target, fix=None):
        if name not in w:
            raise ModelFileError(f"'{weights_path}' has no tensor '{name}'.")
        value = w[name] if fix is None else fix(w[name])
        if tuple(value.shape) != tuple(target.shape):
            raise ModelFileError(f"'{weights_path}': tensor '{name}' has shape {list(value.shape)}, config.json implies {list(target.shape)}.")
        target.copy_(torch.from_numpy(np.ascontiguousarray(value)))

    params = dict(model.named_parameters())
    with torch.no_grad():
        take("model.embed_tokens.weight", model.tok_embeddings.weight)
        for l in range(args.n_layers):
            for ours, theirs in LAYER_TENSORS:
                fix = None
                if theirs == "self_attn.q_proj.weight":
                    fix = lambda x: _interleaved(x, args.n_heads, hd)
                elif theirs == "self_attn.k_proj.weight":
                    fix = lambda x: _interleaved(x, args.n_kv_heads, hd)
                take(f"model.layers.{l}.{theirs}", params[f"layers.{l}.{ours}"], fix)
        take("model.norm.weight", model.norm.weight)
        if not args.tied:
            take("lm_head.weight", model.output.weight)
    return model


def write_hf(model, folder, tokenizer_model=None):
    """A Hugging Face LlamaForCausalLM folder (F32), built beside `folder` and swapped in, so a reader never sees half
    of it. `tokenizer_model` (a sentencepiece .model) is copied in as tokenizer.model."""
    a = model.args
    params = {n: _fp32(p) for n, p in model.named_parameters()}
    tensors = {"model.embed_tokens.weight": params["tok_embeddings.weight"]}
    for l in range(a.n_layers):
        for ours, theirs in LAYER_TENSORS:
            t = params[f"layers.{l}.{ours}"]
            if theirs == "self_attn.q_proj.weight":
                t = _half_split(t, a.n_heads, a.head_dim)
            elif theirs == "self_attn.k_proj.weight":
                t = _half_split(t, a.n_kv_heads, a.head_dim)
            tensors[f"model.layers.{l}.{theirs}"] = np.ascontiguousarray(t)
    tensors["model.norm.weight"] = params["norm.weight"]
    if not a.tied:
        tensors["lm_head.weight"] = params["output.weight"]
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": a.dim, "intermediate_size": a.hidden_dim,
        "num_attention_heads": a.n_heads, "num_hidden_layers": a.n_layers, "num_key_value_heads": a.n_kv_heads,
        "head_dim": a.head_dim, "vocab_size": a.vocab_size, "max_position_embeddings": a.max_seq_len, "rms_norm_eps": a.norm_eps,
        "rope_theta": 10000.0, "rope_scaling": None, "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
        "tie_word_embeddings": a.tied, "torch_dtype": "float32", "bos_token_id": 1, "eos_token_id": 2,
    }
    staging = folder.rstrip("/\\") + ".tmp"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    write_safetensors(os.path.join(staging, "model.safetensors"), tensors)
    for name, content in (("config.json", config), ("generation_config.json", {"bos_token_id": 1, "eos_token_id": 2, "max_length": a.max_seq_len})):
        _write_atomically(os.path.join(staging, name), lambda f, c=content: f.write(json.dumps(c, indent=2).encode()))
    if tokenizer_model:
        shutil.copyfile(tokenizer_model, os.path.join(staging, "tokenizer.model"))
    old = folder.rstrip("/\\") + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(folder):
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)


def read_model(path):
    """A model from a llama2.c v0 file or a Hugging Face folder."""
    if os.path.isdir(path):
        return read_hf(path)
    if os.path.isfile(path):
        return read_llama2c(path)
    raise ModelFileError(f"The model '{path}' does not exist (a llama2.c v0 file or a Hugging Face folder was expected).")
