using Microsoft.ML;

namespace TinyLlm.MLNet.Bridge;

/// <summary>Reads a text column of an <see cref="IDataView"/>, row by row, for the stages that consume whole texts.</summary>
internal static class TextColumn
{
    /// <summary>Each row's text in cursor order; the column is checked now, the rows are read lazily.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such column, or it does not hold text (ML.NET's wording).</exception>
    public static IEnumerable<string> Read(IDataView data, string column)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Read(data, SchemaErrors.RequireText(data.Schema, column));
    }

    private static IEnumerable<string> Read(IDataView data, DataViewSchema.Column col)
    {
        using var cursor = data.GetRowCursor([col]);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(col);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            yield return value.ToString();
        }
    }
}
