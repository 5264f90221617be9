using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace TinyLlm.MLNet.Bridge;

/// <summary>
/// Base of TinyLlm's row-to-row transformers: a subclass names its input columns, declares its output columns
/// and makes one getter per active output column; this class does the rest of what ML.NET expects of a
/// transformer (output schema, lazy <see cref="IDataView"/>, <see cref="IRowToRowMapper"/> for
/// <c>PredictionEngine</c>, saving through <see cref="ModelPersistence"/>). It plays the part of ML.NET's
/// <c>RowToRowTransformerBase</c>, whose constructor is not accessible outside ML.NET.
/// </summary>
public abstract class RowMappingTransformer : ITransformer, ICanSaveModel
{
    /// <summary>The environment the transformer was created in.</summary>
    private protected IHostEnvironment Env { get; }

    /// <summary>Creates the transformer.</summary>
    private protected RowMappingTransformer(IHostEnvironment env)
    {
        Env = env ?? throw new ArgumentNullException(nameof(env));
    }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => true;

    /// <summary>Input columns the outputs are computed from.</summary>
    private protected abstract IReadOnlyList<string> InputColumnNames { get; }

    /// <summary>The added columns: name and type.</summary>
    private protected abstract IReadOnlyList<(string Name, DataViewType Type)> OutputColumns { get; }

    /// <summary>Annotations of output column <paramref name="outputIndex"/> (none by default).</summary>
    private protected virtual DataViewSchema.Annotations? OutputAnnotations(int outputIndex) => null;

    /// <summary>Throws an ML.NET-style schema error when <paramref name="inputSchema"/> lacks a usable input column.</summary>
    private protected abstract void CheckInputSchema(DataViewSchema inputSchema);

    /// <summary>
    /// Makes the getter (a <see cref="ValueGetter{TValue}"/>) of output column <paramref name="outputIndex"/> over
    /// <paramref name="input"/>, whose input columns are active. Subclasses override this or <see cref="MakeGetters"/>.
    /// </summary>
    private protected virtual Delegate MakeGetter(DataViewRow input, int outputIndex) =>
        throw new NotImplementedException($"{GetType().Name} overrides neither MakeGetter nor MakeGetters.");

    /// <summary>
    /// Makes the getters of the active output columns over <paramref name="input"/> (null for inactive ones). By
    /// default one <see cref="MakeGetter"/> per column; override to share work between columns or across rows.
    /// </summary>
    /// <param name="input">The input row (a cursor when scoring an <see cref="IDataView"/>).</param>
    /// <param name="isActive">Whether output column i (0 = the first added column) is wanted.</param>
    /// <param name="openReadAhead">
    /// When <paramref name="input"/> is a cursor moving through an <see cref="IDataView"/> in order: opens a second
    /// cursor over the same input rows in the same order, with <see cref="InputColumnNames"/> active, so that a
    /// getter can read the inputs of the coming rows and compute several rows at once. Null for single rows
    /// (a <c>PredictionEngine</c>) and shuffled cursors. The cursors it opens are disposed with the row.
    /// </param>
    /// <param name="disposeWithRow">Resources the getters hold (e.g. a decoder's cache) to dispose with the row.</param>
    private protected virtual Delegate?[] MakeGetters(DataViewRow input, Func<int, bool> isActive, Func<DataViewRowCursor>? openReadAhead,
        ICollection<IDisposable> disposeWithRow)
    {
        var getters = new Delegate?[OutputColumns.Count];
        for (int i = 0; i < getters.Length; i++)
            if (isActive(i)) getters[i] = MakeGetter(input, i);
        return getters;
    }

    /// <summary>Writes the transformer's state; see <see cref="ModelPersistence.Save"/>.</summary>
    private protected abstract void SaveModel(ModelPayloadWriter writer);

    void ICanSaveModel.Save(ModelSaveContext ctx) => ModelPersistence.Save(ctx, GetType(), SaveModel);

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInputSchema(inputSchema);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        for (int i = 0; i < OutputColumns.Count; i++)
            builder.AddColumn(OutputColumns[i].Name, OutputColumns[i].Type, OutputAnnotations(i));
        return builder.ToSchema();
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new MappedDataView(new Mapper(this, input.Schema), input);
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new Mapper(this, inputSchema);

    /// <summary>Binds the transformer to one input schema.</summary>
    private sealed class Mapper : IRowToRowMapper
    {
        private readonly RowMappingTransformer _parent;
        private readonly int[] _inputIndices;

        public Mapper(RowMappingTransformer parent, DataViewSchema inputSchema)
        {
            _parent = parent;
            InputSchema = inputSchema;
            OutputSchema = parent.GetOutputSchema(inputSchema);
            _inputIndices = parent.InputColumnNames.Select(n => inputSchema[n].Index).ToArray();
        }

        public DataViewSchema InputSchema { get; }

        public DataViewSchema OutputSchema { get; }

        private int FirstOutput => InputSchema.Count;

        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        {
            var needed = new HashSet<int>();
            foreach (var c in dependingColumns)
            {
                if (c.Index < FirstOutput) needed.Add(c.Index);
                else foreach (int i in _inputIndices) needed.Add(i);
            }
            return needed.Select(i => InputSchema[i]);
        }

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
            new MappedRow(this, input, activeColumns, openReadAhead: null);

        public Delegate?[] MakeGetters(DataViewRow input, Func<int, bool> isActive, Func<DataViewRowCursor>? openReadAhead,
            ICollection<IDisposable> disposeWithRow) =>
            _parent.MakeGetters(input, i => isActive(FirstOutput + i), openReadAhead, disposeWithRow);

        public IEnumerable<DataViewSchema.Column> InputColumns => _inputIndices.Select(i => InputSchema[i]);

        public ValueGetter<T> GetGetter<T>(DataViewRow input, Delegate?[] getters, DataViewSchema.Column column)
        {
            if (column.Index < FirstOutput) return input.GetGetter<T>(input.Schema[column.Index]);
            var getter = getters[column.Index - FirstOutput]
                ?? throw new InvalidOperationException($"Column '{column.Name}' is not active.");
            return getter as ValueGetter<T>
                ?? throw new InvalidOperationException($"Column '{column.Name}' holds {column.Type}, not {typeof(T).Name}.");
        }
    }

    /// <summary>One row: the input row's columns, then ours.</summary>
    private sealed class MappedRow : DataViewRow
    {
        private readonly Mapper _mapper;
        private readonly DataViewRow _input;
        private readonly bool[] _active;
        private readonly Delegate?[] _getters;

        private readonly List<IDisposable> _owned = [];

        public MappedRow(Mapper mapper, DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns, Func<DataViewRowCursor>? openReadAhead)
        {
            _mapper = mapper;
            _input = input;
            _active = new bool[mapper.OutputSchema.Count];
            foreach (var c in activeColumns) _active[c.Index] = true;
            Func<DataViewRowCursor>? tracked = openReadAhead is null ? null : () =>
            {
                var cursor = openReadAhead();
                _owned.Add(cursor);
                return cursor;
            };
            _getters = mapper.MakeGetters(input, i => _active[i], tracked, _owned);
        }

        public override DataViewSchema Schema => _mapper.OutputSchema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];
        public override ValueGetter<T> GetGetter<T>(DataViewSchema.Column column) => _mapper.GetGetter<T>(_input, _getters, column);

        // A cursor disposes its row. (ML.NET's PredictionEngine disposes only its input row, so what a
        // PredictionEngine's row holds is left to the garbage collector.)
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                foreach (var owned in _owned) owned.Dispose();
                _owned.Clear();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>The lazy output of <see cref="Transform"/>.</summary>
    private sealed class MappedDataView : IDataView
    {
        private readonly Mapper _mapper;
        private readonly IDataView _input;

        public MappedDataView(Mapper mapper, IDataView input)
        {
            _mapper = mapper;
            _input = input;
        }

        public bool CanShuffle => _input.CanShuffle;
        public DataViewSchema Schema => _mapper.OutputSchema;
        public long? GetRowCount() => _input.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var active = columnsNeeded.ToArray();
            var inputCursor = _input.GetRowCursor(_mapper.GetDependencies(active), rand);
            // A shuffled cursor's order cannot be repeated by a second cursor, so it reads no rows ahead.
            Func<DataViewRowCursor>? openReadAhead = rand is null ? () => _input.GetRowCursor(_mapper.InputColumns) : null;
            return new MappedCursor(_mapper, inputCursor, active, openReadAhead);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            [GetRowCursor(columnsNeeded, rand)];
    }

    /// <summary>A cursor over the lazy output: the input cursor moves, a <see cref="MappedRow"/> over it maps.</summary>
    private sealed class MappedCursor : DataViewRowCursor
    {
        private readonly DataViewRowCursor _input;
        private readonly MappedRow _row;

        public MappedCursor(Mapper mapper, DataViewRowCursor input, IEnumerable<DataViewSchema.Column> activeColumns, Func<DataViewRowCursor>? openReadAhead)
        {
            _input = input;
            _row = new MappedRow(mapper, input, activeColumns, openReadAhead);
        }

        public override DataViewSchema Schema => _row.Schema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override bool MoveNext() => _input.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();
        public override bool IsColumnActive(DataViewSchema.Column column) => _row.IsColumnActive(column);
        public override ValueGetter<T> GetGetter<T>(DataViewSchema.Column column) => _row.GetGetter<T>(column);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _row.Dispose();
                _input.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
