using Microsoft.ML;
using Microsoft.ML.Data;

namespace TinyLlm.MLNet.Bridge;

/// <summary>
/// What a TinyLlm estimator or transformer accepts in an input column, named the way ML.NET names types in its
/// schema errors ("String", "Vector&lt;Int32&gt;"). One rule serves both the up-front check of a
/// <see cref="SchemaShape"/> (<c>GetOutputSchema</c>) and the check of the data's <see cref="DataViewSchema"/>.
/// </summary>
internal sealed class ColumnRule
{
    private readonly bool _vector;
    private readonly Func<DataViewType, bool> _item;

    private ColumnRule(string expected, bool vector, Func<DataViewType, bool> item)
    {
        Expected = expected;
        _vector = vector;
        _item = item;
    }

    /// <summary>A text column.</summary>
    public static ColumnRule Text { get; } = new("String", vector: false, t => t is TextDataViewType);

    /// <summary>A column of token ids: a vector of Int32, UInt32, Int64 or UInt16 per row.</summary>
    public static ColumnRule TokenIds { get; } = new("Vector<Int32>, Vector<UInt32>, Vector<Int64> or Vector<UInt16>", vector: true,
        t => t.RawType == typeof(int) || t.RawType == typeof(uint) || t.RawType == typeof(long) || t.RawType == typeof(ushort));

    /// <summary>The accepted types as ML.NET's schema errors write them.</summary>
    public string Expected { get; }

    /// <summary>Whether a column of this shape is accepted.</summary>
    public bool Accepts(SchemaShape.Column column) =>
        (column.Kind == SchemaShape.Column.VectorKind.Scalar) != _vector && _item(column.ItemType);

    /// <summary>Whether a column of this type is accepted.</summary>
    public bool Accepts(DataViewType type) =>
        _vector ? type is VectorDataViewType v && _item(v.ItemType) : type is not VectorDataViewType && _item(type);

    /// <summary>ML.NET's name for a schema-shape column's type: "Single", "Vector&lt;Single&gt;".</summary>
    public static string TypeName(SchemaShape.Column column) =>
        column.Kind == SchemaShape.Column.VectorKind.Scalar ? column.ItemType.ToString()! : $"Vector<{column.ItemType}>";
}
