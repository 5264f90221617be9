using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace TinyLlm.MLNet.Decoding;

/// <summary>
/// An <see cref="ITokenDecoder"/> on the TorchSharp <see cref="LlamaModel"/> with a preallocated <see cref="KvCache"/>
/// on the model's device (CUDA or CPU): a prompt runs as one forward over all its positions, then each step runs one
/// token for every sequence of the batch. Every call works inside a dispose scope, so no tensor outlives it but the
/// cache. Not thread-safe: one decoder per thread (decoders can share one model).
/// </summary>
public sealed class TorchSharpDecoder : ITokenDecoder
{
    private readonly LlamaModel _model;
    private readonly KvCache _cache;
    private readonly float[] _logits; // (slots, vocab_size) on the host: what the sampler reads

    /// <summary>
    /// Creates a decoder over <paramref name="model"/> (put in eval mode; not owned, not moved) with a cache for
    /// <paramref name="slots"/> sequences on the model's device, in the model's compute type.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="slots"/> is less than 1.</exception>
    public TorchSharpDecoder(LlamaModel model, int slots = 1)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        if (slots < 1) throw new ArgumentOutOfRangeException(nameof(slots), $"A decoder needs at least one sequence slot; got {slots}.");
        if (model.Device.type == DeviceType.CPU) DecoderMemory.Check(model.Config, slots);
        _model.eval();
        Config = model.Config;
        Slots = slots;
        _cache = new KvCache(model.Config, slots, model.Device, model.ComputeType);
        _logits = new float[slots * Config.VocabSize];
    }

    /// <inheritdoc/>
    public LlamaConfig Config { get; }

    /// <inheritdoc/>
    public int Slots { get; }

    /// <summary>The device the model and the cache live on.</summary>
    public Device Device => _model.Device;

    /// <inheritdoc/>
    public void Forward(ReadOnlySpan<int> slots, ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions)
    {
        DecoderArguments.CheckForward(Config, Slots, slots, tokens, positions);
        int n = slots.Length;
        var tokenIds = new long[n];
        var positionIds = new long[n];
        for (int i = 0; i < n; i++)
        {
            tokenIds[i] = tokens[i];
            positionIds[i] = positions[i];
        }
        Run(slots, tokenIds, positionIds, n, 1, lastIndex: null);
    }

    /// <inheritdoc/>
    public void Prefill(ReadOnlySpan<int> slots, ReadOnlySpan<int[]> sequences)
    {
        int longest = DecoderArguments.CheckPrefill(Config, Slots, slots, sequences);
        int n = slots.Length;
        // One (n, longest) batch, shorter sequences padded at the end: causal attention keeps a sequence's real
        // positions blind to its padding, and the padding's cache rows are overwritten before any later step reads them.
        var tokenIds = new long[n * longest];
        var positionIds = new long[n * longest];
        var last = new long[n];
        for (int i = 0; i < n; i++)
        {
            var sequence = sequences[i];
            for (int t = 0; t < longest; t++)
            {
                tokenIds[i * longest + t] = t < sequence.Length ? sequence[t] : 0;
                positionIds[i * longest + t] = t;
            }
            last[i] = sequence.Length - 1;
        }
        Run(slots, tokenIds, positionIds, n, longest, last);
    }

    /// <inheritdoc/>
    public ReadOnlySpan<float> Logits(int slot)
    {
        DecoderArguments.CheckSlot(slot, Slots);
        return new ReadOnlySpan<float>(_logits, slot * Config.VocabSize, Config.VocabSize);
    }

    /// <summary>Frees the key/value cache (the model stays with its owner).</summary>
    public void Dispose() => _cache.Dispose();

    // One cached forward of an (n, t) batch; copies each row's logits at lastIndex[i] (or its only position) to the host.
    private void Run(ReadOnlySpan<int> slots, long[] tokenIds, long[] positionIds, int n, int t, long[]? lastIndex)
    {
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var device = _model.Device;
        var slotIds = new long[n];
        for (int i = 0; i < n; i++) slotIds[i] = slots[i];
        var logits = _model.forward(
            torch.tensor(tokenIds, [n, t], device: device),
            torch.tensor(positionIds, [n, t], device: device),
            _cache,
            torch.tensor(slotIds, [n], device: device));                        // (n, t, vocab)
        var rows = lastIndex is null
            ? logits.select(1, t - 1)
            : logits.gather(1, torch.tensor(lastIndex, [n, 1, 1], device: device).expand(n, 1, Config.VocabSize)).squeeze(1);
        var host = rows.cpu().contiguous();                                      // (n, vocab)
        for (int i = 0; i < n; i++) host[i].data<float>().CopyTo(_logits, slots[i] * Config.VocabSize);
    }
}
