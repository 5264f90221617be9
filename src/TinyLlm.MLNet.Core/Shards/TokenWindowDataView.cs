using Microsoft.ML;
using Microsoft.ML.Data;

namespace TinyLlm.MLNet.Shards;

/// <summary>
/// An <see cref="IDataView"/> whose rows are the training windows of one split of a token source: columns
/// <c>Input</c>/<c>Target</c> (Vector&lt;Int32&gt; of <c>SequenceLength</c>, target = input shifted by one) or
/// <c>Window</c> (Vector&lt;Int32&gt; of <c>SequenceLength + 1</c>). Unshuffled cursors visit windows in file order;
/// a cursor given a <see cref="Random"/> visits a permutation seeded by it. It is also the
/// <see cref="ITokenBatchSource"/> the trainer reads whole batches from, without rows or boxing.
/// </summary>
public sealed class TokenWindowDataView : IDataView, ITokenBatchSource, IDisposable
{
    /// <summary>Name of the input-ids column.</summary>
    public const string InputColumnName = "Input";

    /// <summary>Name of the target-ids column.</summary>
    public const string TargetColumnName = "Target";

    /// <summary>Name of the whole-window column.</summary>
    public const string WindowColumnName = "Window";

    private readonly bool _ownsSource;

    /// <summary>A view of the <paramref name="split"/> windows of <paramref name="source"/>.</summary>
    public TokenWindowDataView(TokenWindowBatchSource source, DataSplit split = DataSplit.Train, TokenWindowColumns columns = TokenWindowColumns.InputAndTarget)
        : this(source, split, columns, ownsSource: false)
    {
    }

    internal TokenWindowDataView(TokenWindowBatchSource source, DataSplit split, TokenWindowColumns columns, bool ownsSource)
    {
        ArgumentNullException.ThrowIfNull(source);
        Source = source;
        Split = split;
        Columns = columns;
        _ownsSource = ownsSource;
        var builder = new DataViewSchema.Builder();
        if (columns == TokenWindowColumns.InputAndTarget)
        {
            builder.AddColumn(InputColumnName, new VectorDataViewType(NumberDataViewType.Int32, source.SequenceLength));
            builder.AddColumn(TargetColumnName, new VectorDataViewType(NumberDataViewType.Int32, source.SequenceLength));
        }
        else
        {
            builder.AddColumn(WindowColumnName, new VectorDataViewType(NumberDataViewType.Int32, source.SequenceLength + 1));
        }
        Schema = builder.ToSchema();
    }

    /// <summary>The token source (both splits) behind the view.</summary>
    public TokenWindowBatchSource Source { get; }

    /// <summary>The split whose windows are this view's rows.</summary>
    public DataSplit Split { get; }

    /// <summary>The columns of a row.</summary>
    public TokenWindowColumns Columns { get; }

    /// <inheritdoc/>
    public bool CanShuffle => true;

    /// <inheritdoc/>
    public DataViewSchema Schema { get; }

    /// <inheritdoc/>
    public int SequenceLength => Source.SequenceLength;

    /// <inheritdoc/>
    public int MaxTokenId => Source.MaxTokenId;

    /// <inheritdoc/>
    public long WindowCount(DataSplit split) => Source.WindowCount(split);

    /// <inheritdoc/>
    public void FillBatch(DataSplit split, long batchIndex, int batchSize, Span<long> inputs, Span<long> targets) =>
        Source.FillBatch(split, batchIndex, batchSize, inputs, targets);

    /// <inheritdoc/>
    public long? GetRowCount() => Source.WindowCount(Split);

    /// <inheritdoc/>
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var active = new bool[Schema.Count];
        foreach (var c in columnsNeeded ?? []) active[c.Index] = true;
        int count = (int)Source.WindowCount(Split);
        int[]? order = rand is null ? null : WindowPermutation.Create(count, rand.Next(), (long)Split, 0);
        return new Cursor(this, active, order, count);
    }

    /// <inheritdoc/>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    /// <summary>Disposes the source when the view opened it (as <c>LoadFromTokenShards</c> does).</summary>
    public void Dispose()
    {
        if (_ownsSource && Source is IDisposable d) d.Dispose();
    }

    private sealed class Cursor(TokenWindowDataView view, bool[] active, int[]? order, int count) : DataViewRowCursor
    {
        private long _position = -1;
        private long _window = -1;
        private bool _disposed;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool IsColumnActive(DataViewSchema.Column column) => active[column.Index];

        public override bool MoveNext()
        {
            if (_disposed || _position + 1 >= count)
            {
                _window = -1;
                return false;
            }
            _position++;
            _window = order is null ? _position : order[_position];
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_window, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column))
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was made; pass it in columnsNeeded.");
            if (typeof(TValue) != typeof(VBuffer<int>))
                throw new InvalidOperationException($"Column '{column.Name}' is Vector<Int32>; ask for a getter of VBuffer<Int32>, not {typeof(TValue).Name}.");
            // Input = window[0..T], Target = window[1..T+1], Window = all T+1 tokens.
            int length = ((VectorDataViewType)column.Type).Size;
            int offset = column.Name == TargetColumnName ? 1 : 0;
            ValueGetter<VBuffer<int>> getter = (ref VBuffer<int> value) =>
            {
                if (_window < 0) throw new InvalidOperationException("The cursor is not on a row; call MoveNext first.");
                var tokens = view.Source.Window(view.Split, _window).Slice(offset, length);
                var editor = VBufferEditor.Create(ref value, length);
                for (int i = 0; i < length; i++) editor.Values[i] = tokens[i];
                value = editor.Commit();
            };
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        protected override void Dispose(bool disposing)
        {
            _disposed = true;
            base.Dispose(disposing);
        }
    }
}
