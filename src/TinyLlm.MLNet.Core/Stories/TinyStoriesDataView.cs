using Microsoft.ML;
using Microsoft.ML.Data;

namespace TinyLlm.MLNet.Stories;

/// <summary>
/// A lazy <see cref="IDataView"/> over TinyStories: one text column, one row per story, in file order. Each cursor
/// streams the files afresh, so the view costs no memory and can be read any number of times.
/// </summary>
internal sealed class TinyStoriesDataView : IDataView
{
    private readonly TinyStoriesSource _source;

    public TinyStoriesDataView(TinyStoriesSource source, string textColumnName)
    {
        _source = source;
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(textColumnName, TextDataViewType.Instance);
        Schema = builder.ToSchema();
    }

    /// <summary>Rows come in file order; shuffling is left to ML.NET's shuffle transform.</summary>
    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    /// <summary>Unknown without reading every file, except for the trivial <c>MaxRows = 0</c>.</summary>
    public long? GetRowCount() => _source.MaxRows == 0 ? 0 : null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        bool textActive = false;
        foreach (var column in columnsNeeded)
        {
            if (column.Index != 0 || !ReferenceEquals(column.Type, TextDataViewType.Instance) || column.Name != Schema[0].Name)
                throw new ArgumentOutOfRangeException(nameof(columnsNeeded), $"Column '{column.Name}' is not a column of this TinyStories view.");
            textActive = true;
        }
        return new Cursor(this, textActive);
    }

    /// <summary>One sequential cursor: the files are read in order, which cannot be split without changing it.</summary>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly TinyStoriesDataView _parent;
        private readonly bool _textActive;
        private readonly IEnumerator<string?> _stories;
        private readonly ValueGetter<ReadOnlyMemory<char>> _textGetter;
        private readonly ValueGetter<DataViewRowId> _idGetter;
        private ReadOnlyMemory<char> _text;
        private long _position = -1;
        private bool _done;

        public Cursor(TinyStoriesDataView parent, bool textActive)
        {
            _parent = parent;
            _textActive = textActive;
            // Without the text column the stories are still parsed (to count rows) but never turned into strings.
            _stories = parent._source.Read(decode: textActive).GetEnumerator();
            _textGetter = GetText;
            _idGetter = GetId;
        }

        public override DataViewSchema Schema => _parent.Schema;

        public override long Position => _position;

        /// <summary>A single cursor over the data: every row is in batch 0.</summary>
        public override long Batch => 0;

        public override bool IsColumnActive(DataViewSchema.Column column)
        {
            CheckColumn(column);
            return _textActive;
        }

        public override bool MoveNext()
        {
            if (_done) return false;
            if (_stories.MoveNext())
            {
                _position++;
                _text = _stories.Current.AsMemory();
                return true;
            }
            _done = true;
            _position = -1;
            _text = default;
            _stories.Dispose();
            return false;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            CheckColumn(column);
            if (!_textActive)
                throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor; ask for it when creating the cursor.");
            if (_textGetter is not ValueGetter<TValue> getter)
                throw new InvalidOperationException(
                    $"Invalid TValue in GetGetter: column '{column.Name}' is Text (ReadOnlyMemory<char>), not {typeof(TValue).Name}.");
            return getter;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => _idGetter;

        private void GetText(ref ReadOnlyMemory<char> value)
        {
            EnsureOnRow();
            value = _text;
        }

        private void GetId(ref DataViewRowId value)
        {
            EnsureOnRow();
            value = new DataViewRowId((ulong)_position, 0);
        }

        private void EnsureOnRow()
        {
            if (_position < 0)
                throw new InvalidOperationException("The cursor is not on a row: call MoveNext() first and stop when it returns false.");
        }

        private void CheckColumn(DataViewSchema.Column column)
        {
            if (column.Index != 0 || column.Name != Schema[0].Name)
                throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' is not a column of this TinyStories view.");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_done)
            {
                _done = true;
                _stories.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
