using System.Diagnostics;
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
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();
        engine ??= new InferenceEngine(_weights);
        var sampler = new Sampler(_weights.Dims.VocabSize, options);
        int[] promptIds = EncodePrompt(prompt);
        var context = new List<int>(promptIds);
        var generated = new List<int>(options.MaxNewTokens);
        var stream = new IncrementalDecoder(_tokenizer, promptIds);
        int seqLen = _weights.Dims.SeqLen;

        ReadOnlySpan<float> logits = default;
        for (int pos = 0; pos < promptIds.Length; pos++)
            logits = engine.Forward(promptIds[pos], pos);
        int position = promptIds.Length;

        bool ended = false;
        while (generated.Count < options.MaxNewTokens && !cancellationToken.IsCancellationRequested)
        {
            int next = sampler.Sample(logits);
            if (next == _tokenizer.EosId || next == _tokenizer.BosId)
            {
                ended = true;
                break;
            }
            generated.Add(next);
            context.Add(next);
            string piece = stream.Append(next);
            if (piece.Length > 0) onText?.Invoke(piece);
            if (generated.Count == options.MaxNewTokens) break;

            if (position == seqLen)
            {
                // The context is full. Like the reference, condition on the most recent tokens only: refill the
                // cache with the last half of the context (a sliding window that moves by half a context at a
                // time, so its cost stays linear).
                int keep = seqLen / 2;
                for (int pos = 0; pos < keep; pos++)
                    logits = engine.Forward(context[context.Count - keep + pos], pos);
                position = keep;
            }
            else
            {
                logits = engine.Forward(next, position++);
            }
        }
        string rest = stream.Flush();
        if (rest.Length > 0) onText?.Invoke(rest);
        double seconds = Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        return new GenerationResult(stream.Text, generated, promptIds.Length, ended, generated.Count / seconds);
    }
}
