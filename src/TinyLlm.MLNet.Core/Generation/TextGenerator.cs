using System.Diagnostics;
using System.Runtime.InteropServices;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// Continues a prompt: encodes it (BOS first), runs it through the model once to fill the key/value cache, then
/// samples one token per step until the budget is spent or the model emits EOS or BOS (the start of a new
/// story, as llama2.c stops). Text is streamed as it is produced, a piece at a time, holding back byte-fallback
/// pieces until they complete a UTF-8 character.
/// </summary>
public sealed class TextGenerator
{
    private readonly TransformerWeights _weights;
    private readonly SentencePieceModel _tokenizer;

    /// <summary>Creates a generator over a model and its tokenizer.</summary>
    /// <exception cref="ArgumentException">The tokenizer's vocabulary is larger than the model's.</exception>
    public TextGenerator(TransformerWeights weights, SentencePieceModel tokenizer)
    {
        _weights = weights ?? throw new ArgumentNullException(nameof(weights));
        _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        int tokenizerVocab = tokenizer.VocabSize;
        if (tokenizerVocab != weights.Dims.VocabSize)
            throw new ArgumentException($"The tokenizer has {tokenizerVocab} tokens but the model's vocabulary has {weights.Dims.VocabSize}; they were not trained together.", nameof(tokenizer));
    }

    /// <summary>The model's weights.</summary>
    public TransformerWeights Weights => _weights;

    /// <summary>The tokenizer.</summary>
    public SentencePieceModel Tokenizer => _tokenizer;

    /// <summary>Encodes <paramref name="prompt"/> with BOS first, cropped to the last tokens that fit the context.</summary>
    public int[] EncodePrompt(string prompt)
    {
        var ids = _tokenizer.Encode(prompt, addBeginningOfSentence: true, addEndOfSentence: false);
        int keep = Math.Min(ids.Count, _weights.Dims.SeqLen - 1); // leave room for at least one new token
        return ids.Skip(ids.Count - keep).ToArray();
    }

    /// <summary>Generates one continuation of <paramref name="prompt"/>.</summary>
    /// <param name="prompt">The start of the story.</param>
    /// <param name="options">Sampling options (validated).</param>
    /// <param name="onText">Called with each new piece of text as soon as it is complete.</param>
    /// <param name="engine">An engine to reuse (its cache is overwritten); one is created if null.</param>
    /// <param name="cancellationToken">Stops generation between tokens.</param>
    public GenerationResult Generate(string prompt, SamplingOptions options, Action<string>? onText = null,
        InferenceEngine? engine = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return GenerateBatch([prompt], options, onText is null ? null : (_, piece) => onText(piece), engine, cancellationToken)[0];
    }

    /// <summary>
    /// Generates a continuation of each of <paramref name="prompts"/> together, as one batch: every step advances
    /// all unfinished sequences in one pass over the weights (faster than one after the other). Sequence i is
    /// sampled with seed <c>options.Seed + i</c>.
    /// </summary>
    /// <param name="prompts">The starts of the stories (the same prompt may repeat, for several samples).</param>
    /// <param name="options">Sampling options (validated).</param>
    /// <param name="onText">Called with (sequence index, new piece of text) as pieces complete.</param>
    /// <param name="engine">An engine with at least as many slots as prompts to reuse; one is created if null.</param>
    /// <param name="cancellationToken">Stops generation between tokens.</param>
    public IReadOnlyList<GenerationResult> GenerateBatch(IReadOnlyList<string> prompts, SamplingOptions options,
        Action<int, string>? onText = null, InferenceEngine? engine = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int n = prompts.Count;
        if (n == 0) return [];
        var clock = Stopwatch.StartNew();
        if (engine is null || engine.Slots < n) engine = new InferenceEngine(_weights, n);
        int seqLen = _weights.Dims.SeqLen;
        var seqs = new Sequence[n];
        for (int i = 0; i < n; i++)
        {
            var sampling = options.Clone();
            sampling.Seed = options.Seed + (ulong)i;
            int[] ids = EncodePrompt(prompts[i] ?? throw new ArgumentNullException(nameof(prompts), $"Prompt {i} is null."));
            seqs[i] = new Sequence(ids, new Sampler(_weights.Dims.VocabSize, sampling), new IncrementalDecoder(_tokenizer, ids), options.MaxNewTokens);
        }

        // The prompts, position by position, as a batch of the sequences whose prompt reaches that far.
        var slots = new List<int>(n);
        var tokens = new List<int>(n);
        var positions = new List<int>(n);
        for (int pos = 0; pos < seqs.Max(q => q.Prompt.Length); pos++)
        {
            Clear(slots, tokens, positions);
            for (int i = 0; i < n; i++)
                if (pos < seqs[i].Prompt.Length) Add(slots, tokens, positions, i, seqs[i].Prompt[pos], pos);
            Run(engine, slots, tokens, positions);
        }
        for (int i = 0; i < n; i++) seqs[i].Position = seqs[i].Prompt.Length;

        while (!cancellationToken.IsCancellationRequested)
        {
            Clear(slots, tokens, positions);
            for (int i = 0; i < n; i++)
            {
                var q = seqs[i];
                if (q.Done) continue;
                int next = q.Sampler.Sample(engine.Logits(i));
                if (next == _tokenizer.EosId || next == _tokenizer.BosId)
                {
                    q.Done = q.Ended = true;
                    continue;
                }
                q.Generated.Add(next);
                q.Context.Add(next);
                string piece = q.Decoder.Append(next);
                if (piece.Length > 0) onText?.Invoke(i, piece);
                if (q.Generated.Count == options.MaxNewTokens)
                {
                    q.Done = true;
                    continue;
                }
                if (q.Position == seqLen)
                {
                    // The context is full. Like the reference, condition on the most recent tokens only: refill this
                    // sequence's cache with the last half of its context (a sliding window that moves by half a
                    // context at a time, so its cost stays linear).
                    int keep = seqLen / 2;
                    for (int pos = 0; pos < keep; pos++)
                        engine.Forward([i], [q.Context[q.Context.Count - keep + pos]], [pos]);
                    q.Position = keep;
                    continue;
                }
                Add(slots, tokens, positions, i, next, q.Position++);
            }
            if (seqs.All(q => q.Done)) break;
            if (slots.Count > 0) Run(engine, slots, tokens, positions);
        }

        double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        var results = new GenerationResult[n];
        for (int i = 0; i < n; i++)
        {
            var q = seqs[i];
            string rest = q.Decoder.Flush();
            if (rest.Length > 0) onText?.Invoke(i, rest);
            results[i] = new GenerationResult(q.Decoder.Text, q.Generated, q.Prompt.Length, q.Ended, q.Generated.Count / seconds);
        }
        return results;
    }

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

    private static void Run(InferenceEngine engine, List<int> slots, List<int> tokens, List<int> positions) =>
        engine.Forward(CollectionsMarshal.AsSpan(slots), CollectionsMarshal.AsSpan(tokens), CollectionsMarshal.AsSpan(positions));

    /// <summary>The state of one sequence of a batch.</summary>
    private sealed class Sequence(int[] prompt, Sampler sampler, IncrementalDecoder decoder, int budget)
    {
        public int[] Prompt { get; } = prompt;
        public Sampler Sampler { get; } = sampler;
        public IncrementalDecoder Decoder { get; } = decoder;
        public List<int> Context { get; } = new(prompt);
        public List<int> Generated { get; } = new(budget);
        public int Position { get; set; }
        public bool Done { get; set; }
        public bool Ended { get; set; }
    }
}
