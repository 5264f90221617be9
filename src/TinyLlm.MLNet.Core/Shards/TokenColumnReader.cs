using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Bridge;

namespace TinyLlm.MLNet.Shards;

/// <summary>Reads a column of token ids (a vector of Int32, UInt32, Int64 or UInt16 per row) or of text from an <see cref="IDataView"/>.</summary>
internal static class TokenColumnReader
{
    public const string ExpectedTokens = "Vector<Int32>, Vector<UInt32>, Vector<Int64> or Vector<UInt16>";

    /// <summary>Each row's ids as an int array, in cursor order.</summary>
    public static IEnumerable<int[]> ReadAll(IDataView data, string column)
    {
        ArgumentNullException.ThrowIfNull(data);
        var col = CheckTokensColumn(data.Schema, column);
        var itemType = ((VectorDataViewType)col.Type).ItemType.RawType;
        if (itemType == typeof(int)) return Read<int>(data, col, v => v);
        if (itemType == typeof(uint)) return Read<uint>(data, col, v => checked((int)v));
        if (itemType == typeof(long)) return Read<long>(data, col, v => checked((int)v));
        return Read<ushort>(data, col, v => v);
    }

    /// <summary>Checks that <paramref name="column"/> exists and holds token-id vectors; ML.NET's exception type and wording otherwise.</summary>
    public static DataViewSchema.Column CheckTokensColumn(DataViewSchema schema, string column)
    {
        var col = schema.GetColumnOrNull(column)
            ?? throw SchemaErrors.ColumnNotFound(column);
        if (col.Type is not VectorDataViewType v || !(v.ItemType.RawType == typeof(int) || v.ItemType.RawType == typeof(uint) || v.ItemType.RawType == typeof(long) || v.ItemType.RawType == typeof(ushort)))
            throw SchemaErrors.Mismatch(column, ExpectedTokens, col.Type.ToString()!);
        return col;
    }

    /// <summary>Each row's text, in cursor order.</summary>
    public static IEnumerable<string> ReadText(IDataView data, string column) => ReadText(data, SchemaErrors.RequireText(data.Schema, column));

    private static IEnumerable<string> ReadText(IDataView data, DataViewSchema.Column col)
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

    private static IEnumerable<int[]> Read<T>(IDataView data, DataViewSchema.Column col, Func<T, int> widen)
    {
        using var cursor = data.GetRowCursor([col]);
        var getter = cursor.GetGetter<VBuffer<T>>(col);
        VBuffer<T> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            var row = new int[value.Length];
            var dense = value.DenseValues().GetEnumerator();
            for (int i = 0; i < row.Length && dense.MoveNext(); i++) row[i] = widen(dense.Current);
            yield return row;
        }
    }
}
