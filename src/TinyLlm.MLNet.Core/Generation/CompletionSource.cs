using Microsoft.ML;
using TinyLlm.MLNet.Engine;

namespace TinyLlm.MLNet.Generation;

/// <summary>
/// The completions behind one row object of <see cref="LlamaGenerationTransformer"/>'s output (a cursor, or the
/// row a <c>PredictionEngine</c> scores): every output column of a row reads the same generation.
/// </summary>
/// <remarks>
/// Over a cursor that may read ahead, the prompts of the next <see cref="LlamaGenerationOptions.BatchSize"/> rows
/// are read from a second cursor and completed together, as one batch: each decoding step then reads the weights
/// once for all of them. Row <c>n</c> of a cursor is sampled with <c>Seed + n</c> in batches or not, so a batch
/// gives exactly what row-by-row generation gives. Otherwise (a <c>PredictionEngine</c>, a shuffled cursor,
/// BatchSize 1) rows are generated one at a time; a <c>PredictionEngine</c>'s n-th row uses <c>Seed + n</c>.
/// </remarks>
internal sealed class CompletionSource : IDisposable
{
    private readonly TextGenerator _generator;
    private readonly LlamaGenerationOptions _options;
    private readonly DataViewRow _row;
    private readonly ValueGetter<ReadOnlyMemory<char>> _prompt;
    private readonly Func<DataViewRowCursor>? _openReadAhead;
    private readonly SamplingOptions _sampling;
    private ITokenDecoder? _decoder;

    // Row by row: the last row generated.
    private long _cachedPosition = long.MinValue;
    private string _cachedPrompt = "";
    private GenerationResult? _cached;
    private ulong _rowsGenerated; // rows given to a PredictionEngine

    // In batches: the read-ahead cursor, and the batch that starts at row _batchStart.
    private DataViewRowCursor? _ahead;
    private ValueGetter<ReadOnlyMemory<char>>? _aheadPrompt;
    private long _batchStart = -1;
    private IReadOnlyList<string> _batchPrompts = [];
    private IReadOnlyList<GenerationResult> _batchResults = [];

    public CompletionSource(TextGenerator generator, LlamaGenerationOptions options, DataViewRow row, Func<DataViewRowCursor>? openReadAhead)
    {
        _generator = generator;
        _options = options;
        _row = row;
        _prompt = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[options.PromptColumnName!]);
        _openReadAhead = options.BatchSize > 1 ? openReadAhead : null;
        _sampling = options.Sampling.Clone();
    }

    /// <summary>Frees the decoder.</summary>
    public void Dispose()
    {
        _decoder?.Dispose();
        _decoder = null;
    }

    /// <summary>The prompt of the current row and its generation.</summary>
    public (string Prompt, GenerationResult Result) Current()
    {
        ReadOnlyMemory<char> prompt = default;
        _prompt(ref prompt);
        return _openReadAhead is not null && _row.Position >= 0 ? FromBatch(_row.Position, prompt) : RowByRow(prompt);
    }

    private (string, GenerationResult) RowByRow(ReadOnlyMemory<char> prompt)
    {
        if (_cached is null || _cachedPosition != _row.Position || !prompt.Span.SequenceEqual(_cachedPrompt))
        {
            _cachedPrompt = prompt.ToString();
            // A cursor's row n uses Seed + n (whatever was skipped); a PredictionEngine's n-th row, Seed + n.
            ulong n = _row is DataViewRowCursor ? (ulong)_row.Position : _rowsGenerated++;
            _sampling.Seed = _options.Sampling.Seed + n;
            _decoder ??= _generator.CreateDecoder();
            _cached = _generator.Generate(_cachedPrompt, _sampling, decoder: _decoder);
            _cachedPosition = _row.Position;
        }
        return (_cachedPrompt, _cached);
    }

    private (string, GenerationResult) FromBatch(long position, ReadOnlyMemory<char> prompt)
    {
        long offset = position - _batchStart;
        if (_batchStart < 0 || offset < 0 || offset >= _batchResults.Count)
        {
            ReadBatchFrom(position);
            offset = 0;
        }
        string batchPrompt = _batchPrompts[(int)offset];
        if (!prompt.Span.SequenceEqual(batchPrompt))
            throw new InvalidOperationException(
                $"Row {position} of the input has prompt \"{prompt}\" on one cursor and \"{batchPrompt}\" on another: the input IDataView does not give the same rows in the same order to two cursors. Set LlamaGenerationOptions.BatchSize to 1 to generate row by row.");
        return (batchPrompt, _batchResults[(int)offset]);
    }

    private void ReadBatchFrom(long position)
    {
        if (_ahead is null)
        {
            _ahead = _openReadAhead!();
            _aheadPrompt = _ahead.GetGetter<ReadOnlyMemory<char>>(_ahead.Schema[_options.PromptColumnName!]);
        }
        // Rows the caller skipped without asking for their completion are not generated.
        while (_ahead.Position < position)
        {
            if (!_ahead.MoveNext())
                throw new InvalidOperationException($"The input IDataView ended before row {position} on a second cursor; it does not give the same rows to two cursors. Set LlamaGenerationOptions.BatchSize to 1.");
        }
        var prompts = new List<string>(_options.BatchSize);
        do
        {
            ReadOnlyMemory<char> text = default;
            _aheadPrompt!(ref text);
            prompts.Add(text.ToString());
        }
        while (prompts.Count < _options.BatchSize && _ahead.MoveNext());

        _sampling.Seed = _options.Sampling.Seed + (ulong)position;
        if (_decoder is null || _decoder.Slots < prompts.Count)
        {
            _decoder?.Dispose();
            _decoder = _generator.CreateDecoder(prompts.Count);
        }
        _batchResults = _generator.GenerateBatch(prompts, _sampling, decoder: _decoder);
        _batchPrompts = prompts;
        _batchStart = position;
    }
}
