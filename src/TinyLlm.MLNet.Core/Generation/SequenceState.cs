using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet.Generation;

/// <summary>What a sequence needs next, after <see cref="SequenceState.Advance"/> sampled a token.</summary>
internal enum SequenceStep
{
    /// <summary>Run <see cref="SequenceState.NextToken"/> at <see cref="SequenceState.NextPosition"/>, then sample again.</summary>
    Run,

    /// <summary>The context is full: restart the cache with <see cref="SequenceState.Window"/> at positions 0, 1, ..., then sample again.</summary>
    Refill,

    /// <summary>The model ended the story (it sampled EOS or BOS); the token is not part of the text.</summary>
    Ended,

    /// <summary>The token budget is spent (the last token is part of the text).</summary>
    BudgetSpent,

    /// <summary>
    /// The context is full and the options do not slide it (<see cref="SamplingOptions.SlideContextWindow"/>): the model
    /// was trained on no later position, so the sequence stops there, as run.c does (the last token is part of the text).
    /// </summary>
    ContextFull,
}

/// <summary>
/// One sequence being generated: its sampler (with its own seed), its streamed text, its context and its budget, and
/// the rule that turns the model's next-token logits into what runs next. <see cref="TextGenerator"/> advances a
/// fixed batch of these; the serving scheduler a changing one, into which requests come and go. Both follow this
/// one rule, so a sequence's tokens depend only on its prompt, its options and the logits of its own slot.
/// </summary>
internal sealed class SequenceState
{
    private readonly Sampler _sampler;
    private readonly IncrementalDetokenizer _detokenizer;
    private readonly List<int> _context;
    private readonly int _bos, _eos, _budget, _contextLength;
    private readonly bool _slide;

    /// <summary>A sequence that continues <paramref name="prompt"/> (ids, BOS first, at most the context long), sampled as <paramref name="sampling"/> says.</summary>
    public SequenceState(int[] prompt, SamplingOptions sampling, SentencePieceModel tokenizer, int vocabSize, int contextLength)
    {
        Prompt = prompt;
        _sampler = new Sampler(vocabSize, sampling);
        _detokenizer = new IncrementalDetokenizer(tokenizer, prompt);
        _context = new List<int>(prompt);
        Generated = new List<int>(sampling.MaxNewTokens);
        _bos = tokenizer.BosId;
        _eos = tokenizer.EosId;
        _budget = sampling.MaxNewTokens;
        _contextLength = contextLength;
        _slide = sampling.SlideContextWindow;
        Position = prompt.Length;
    }

    /// <summary>The prompt's ids, BOS first.</summary>
    public int[] Prompt { get; }

    /// <summary>The generated ids (without the prompt, and without the EOS or BOS that ended the story).</summary>
    public List<int> Generated { get; }

    /// <summary>How many positions the sequence's cache holds once what was asked for has run.</summary>
    public int Position { get; private set; }

    /// <summary>The token to run after a <see cref="SequenceStep.Run"/>.</summary>
    public int NextToken { get; private set; }

    /// <summary>Its position.</summary>
    public int NextPosition { get; private set; }

    /// <summary>After a <see cref="SequenceStep.Refill"/>: the most recent tokens, to run from position 0.</summary>
    public int[] Window { get; private set; } = [];

    /// <summary>True once <see cref="Advance"/> returned <see cref="SequenceStep.Ended"/>, <see cref="SequenceStep.BudgetSpent"/> or <see cref="SequenceStep.ContextFull"/>.</summary>
    public bool Finished { get; private set; }

    /// <summary>True when the model ended the story before the budget ran out.</summary>
    public bool Ended { get; private set; }

    /// <summary>True when the sequence stopped because the context was full (<see cref="SequenceStep.ContextFull"/>).</summary>
    public bool AtContextLength { get; private set; }

    /// <summary>The generated text so far.</summary>
    public string Text => _detokenizer.Text;

    /// <summary>
    /// Samples the next token from <paramref name="logits"/> (those after the sequence's last token) and says what
    /// follows; <paramref name="piece"/> is the text that token completed (empty while a character is incomplete).
    /// </summary>
    public SequenceStep Advance(ReadOnlySpan<float> logits, out string piece)
    {
        piece = "";
        int next = _sampler.Sample(logits);
        if (next == _eos || next == _bos)
        {
            Finished = Ended = true;
            return SequenceStep.Ended;
        }
        Generated.Add(next);
        _context.Add(next);
        piece = _detokenizer.Append(next);
        if (Generated.Count == _budget)
        {
            Finished = true;
            return SequenceStep.BudgetSpent;
        }
        if (Position == _contextLength)
        {
            // The context is full: the model was trained on no later position. Stop, as run.c does, unless asked to
            // condition on the most recent tokens only: refill the cache with the last half of the context (a window
            // that moves by half a context at a time, so its cost stays linear).
            if (!_slide)
            {
                Finished = AtContextLength = true;
                return SequenceStep.ContextFull;
            }
            int keep = _contextLength / 2;
            Window = _context.GetRange(_context.Count - keep, keep).ToArray();
            Position = keep;
            return SequenceStep.Refill;
        }
        NextToken = next;
        NextPosition = Position++;
        return SequenceStep.Run;
    }

    /// <summary>The text held back at the end (an incomplete character), now released.</summary>
    public string Flush() => _detokenizer.Flush();
}
