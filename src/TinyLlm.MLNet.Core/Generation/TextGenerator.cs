using System.Diagnostics;
using System.Runtime.InteropServices;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Continues a prompt: encodes it (BOS first), runs it through the model once to fill the key/value cache, then
/// samples one token per step until the budget is spent, the model emits EOS or BOS (the start of a new story, as
/// llama2.c stops), or the context is full (unless <see cref="SamplingOptions.SlideContextWindow"/>). Text is streamed as it is produced, a piece at a time, holding back byte-fallback
/// pieces until they complete a UTF-8 character.
/// </summary>
/// <remarks>
/// Disposing a generator releases the decoder factory it set up for its backend (the model on the GPU, for
/// TorchSharp on CUDA); a factory passed to the constructor stays the caller's.
/// </remarks>
public sealed class TextGenerator : IDisposable
{
    private readonly TransformerWeights _weights;
    private readonly SentencePieceModel _tokenizer;
    private readonly Lazy<ITokenDecoderFactory> _decoders;
    private readonly bool _ownsDecoders;

    /// <summary>
    /// Creates a generator over a model and its tokenizer, on the backend <see cref="GenerationBackend.Auto"/> picks
    /// (TorchSharp on CUDA when available, else the .NET engine).
    /// </summary>
    /// <exception cref="ArgumentException">The tokenizer's vocabulary is larger than the model's.</exception>
    public TextGenerator(TransformerWeights weights, SentencePieceModel tokenizer)
        : this(weights, tokenizer, GenerationBackend.Auto, "auto")
    {
    }

    /// <summary>
    /// Creates a generator that runs on <paramref name="backend"/> and <paramref name="device"/> (auto, cpu or cuda).
    /// The backend is set up on first use (so a model saved for CUDA still loads on a machine without one, and
    /// <see cref="DecoderBackends.Select"/>'s errors come from the first generation).
    /// </summary>
    /// <exception cref="ArgumentException">The tokenizer's vocabulary differs from the model's, or the device name is unknown.</exception>
    public TextGenerator(TransformerWeights weights, SentencePieceModel tokenizer, GenerationBackend backend, string device)
        : this(weights, tokenizer, new Lazy<ITokenDecoderFactory>(() => DecoderBackends.Select(weights, backend, device)))
    {
        DecoderBackends.NormalizeDevice(device);
        _ownsDecoders = true;
    }

    /// <summary>Creates a generator whose forward passes run on decoders from <paramref name="decoders"/> (made over the same weights; borrowed, not disposed).</summary>
    /// <exception cref="ArgumentException">The tokenizer's vocabulary differs from the model's.</exception>
    public TextGenerator(TransformerWeights weights, SentencePieceModel tokenizer, ITokenDecoderFactory decoders)
        : this(weights, tokenizer, new Lazy<ITokenDecoderFactory>(decoders ?? throw new ArgumentNullException(nameof(decoders))))
    {
    }

    private TextGenerator(TransformerWeights weights, SentencePieceModel tokenizer, Lazy<ITokenDecoderFactory> decoders)
    {
        _weights = weights ?? throw new ArgumentNullException(nameof(weights));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _decoders = decoders;
        int tokenizerVocab = tokenizer.VocabSize;
        if (tokenizerVocab != weights.Config.VocabSize)
            throw new ArgumentException($"The tokenizer has {tokenizerVocab} tokens but the model's vocabulary has {weights.Config.VocabSize}; they were not trained together.", nameof(tokenizer));
    }

    /// <summary>Where the forward passes run: the backend and device chosen (set up on first use).</summary>
    /// <exception cref="InvalidOperationException">The chosen backend or device is not available (see <see cref="DecoderBackends.Select"/>).</exception>
    public ITokenDecoderFactory Decoders => _decoders.Value;

    /// <summary>A decoder for this model on the chosen backend, to pass to <see cref="Generate"/> or <see cref="GenerateBatch"/> for reuse.</summary>
    public ITokenDecoder CreateDecoder(int slots = 1) => Decoders.Create(slots);

    /// <summary>Releases the decoder factory this generator set up (see the remarks); a borrowed one is left alone.</summary>
    public void Dispose()
    {
        if (_ownsDecoders && _decoders.IsValueCreated) _decoders.Value.Dispose();
    }

    /// <summary>The model's weights.</summary>
    public TransformerWeights Weights => _weights;

    /// <summary>The tokenizer.</summary>
    public SentencePieceModel Tokenizer => _tokenizer;

    /// <summary>Encodes <paramref name="prompt"/> with BOS first, cropped to the last tokens that fit the context.</summary>
    public int[] EncodePrompt(string prompt)
    {
        var ids = _tokenizer.Encode(prompt, addBeginningOfSentence: true, addEndOfSentence: false);
        int keep = Math.Min(ids.Count, _weights.Config.MaxSeqLen - 1); // leave room for at least one new token
        return ids.Skip(ids.Count - keep).ToArray();
    }

    /// <summary>Generates one continuation of <paramref name="prompt"/>.</summary>
    /// <param name="prompt">The start of the story.</param>
    /// <param name="options">Sampling options (validated).</param>
    /// <param name="onText">Called with each new piece of text as soon as it is complete.</param>
    /// <param name="decoder">A decoder to reuse (its cache is overwritten); one is created (and disposed) if null.</param>
    /// <param name="cancellationToken">Stops generation between tokens.</param>
    public GenerationResult Generate(string prompt, SamplingOptions options, Action<string>? onText = null,
        ITokenDecoder? decoder = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return GenerateBatch([prompt], options, onText is null ? null : (_, piece) => onText(piece), decoder, cancellationToken)[0];
    }

    /// <summary>
    /// Generates a continuation of each of <paramref name="prompts"/> together, as one batch: every step advances
    /// all unfinished sequences in one pass over the weights (faster than one after the other). Sequence i is
    /// sampled with seed <c>options.Seed + i</c>.
    /// </summary>
    /// <param name="prompts">The starts of the stories (the same prompt may repeat, for several samples).</param>
    /// <param name="options">Sampling options (validated).</param>
    /// <param name="onText">Called with (sequence index, new piece of text) as pieces complete.</param>
    /// <param name="decoder">A decoder with at least as many slots as prompts to reuse; one is created (and disposed) if null.</param>
    /// <param name="cancellationToken">Stops generation between tokens.</param>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<string> prompts, SamplingOptions options,
        Action<int, string>? onText = null, ITokenDecoder? decoder = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (prompts.Count == 0) return [];
        ITokenDecoder? owned = null;
        if (decoder is null || decoder.Slots < prompts.Count) decoder = owned = Decoders.Create(prompts.Count);
        try
        {
            return Run(prompts, options, onText, decoder, cancellationToken);
        }
        finally
        {
            owned?.Dispose();
        }
    }

    private GenerationResult[] Run(IReadOnlyList<string> prompts, SamplingOptions options, Action<int, string>? onText,
        ITokenDecoder decoder, CancellationToken cancellationToken)
    {
        int n = prompts.Count;
        var clock = Stopwatch.StartNew();
        var seqs = new SequenceState[n];
        for (int i = 0; i < n; i++)
        {
            var sampling = options.Clone();
            sampling.Seed = options.Seed + (ulong)i;
            seqs[i] = StartSequence(EncodePrompt(prompts[i] ?? throw new ArgumentNullException(nameof(prompts), $"Prompt {i} is null.")), sampling);
        }

        // The prompts fill the caches (the decoder batches them: position by position on the engine, one forward
        // over every prompt position at once on TorchSharp).
        decoder.Prefill(Enumerable.Range(0, n).ToArray(), seqs.Select(q => q.Prompt).ToArray());
        var slots = new List<int>(n);
        var tokens = new List<int>(n);
        var positions = new List<int>(n);

        while (!cancellationToken.IsCancellationRequested)
        {
            Clear(slots, tokens, positions);
            for (int i = 0; i < n; i++)
            {
                var q = seqs[i];
                if (q.Finished) continue;
                var step = q.Advance(decoder.Logits(i), out string piece);
                if (piece.Length > 0) onText?.Invoke(i, piece);
                if (step == SequenceStep.Refill) decoder.Prefill([i], [q.Window]);
                else if (step == SequenceStep.Run) Add(slots, tokens, positions, i, q.NextToken, q.NextPosition);
            }
            if (seqs.All(q => q.Finished)) break;
            if (slots.Count > 0) Step(decoder, slots, tokens, positions);
        }

        double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        var results = new GenerationResult[n];
        for (int i = 0; i < n; i++)
        {
            var q = seqs[i];
            string rest = q.Flush();
            if (rest.Length > 0) onText?.Invoke(i, rest);
            results[i] = new GenerationResult(q.Text, q.Generated, q.Prompt.Length, q.Ended, q.Generated.Count / seconds)
            {
                StoppedAtContextLength = q.AtContextLength,
            };
        }
        return results;
    }

    /// <summary>A sequence that continues <paramref name="prompt"/> (ids from <see cref="EncodePrompt"/> or the tokenizer, BOS first), sampled as <paramref name="sampling"/> says.</summary>
    internal SequenceState StartSequence(int[] prompt, SamplingOptions sampling) =>
        new(prompt, sampling, _tokenizer, _weights.Config.VocabSize, _weights.Config.MaxSeqLen);

    private static void Clear(List<int> slots, List<int> tokens, List<int> positions)
    {
        slots.Clear();
        tokens.Clear();
        positions.Clear();
    }

    private static void Add(List<int> slots, List<int> tokens, List<int> positions, int slot, int token, int position)
    {
        slots.Add(slot);
        tokens.Add(token);
        positions.Add(position);
    }

    private static void Step(ITokenDecoder decoder, List<int> slots, List<int> tokens, List<int> positions) =>
        decoder.Forward(CollectionsMarshal.AsSpan(slots), CollectionsMarshal.AsSpan(tokens), CollectionsMarshal.AsSpan(positions));
}
