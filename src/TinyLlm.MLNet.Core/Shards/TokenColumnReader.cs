using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Bridge;

namespace TinyLlm.MLNet.Shards;

/// <summary>Reads a column of token ids (a vector of Int32, UInt32, Int64 or UInt16 per row) from an <see cref="IDataView"/>.</summary>
internal static class TokenColumnReader
{
    /// <summary>Each row's ids as an int array, in cursor order.</summary>
    public static IEnumerable<int[]> ReadAll(IDataView data, string column)
    {
        ArgumentNullException.ThrowIfNull(data);
        var col = SchemaErrors.Require(data.Schema, column, ColumnRule.TokenIds);
        var itemType = ((VectorDataViewType)col.Type).ItemType.RawType;
        if (itemType == typeof(int)) return Read<int>(data, col, v => v);
        if (itemType == typeof(uint)) return Read<uint>(data, col, v => checked((int)v));
        if (itemType == typeof(long)) return Read<long>(data, col, v => checked((int)v));
        return Read<ushort>(data, col, v => v);
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
