using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace TinyLlm.MLNet.Bridge;

/// <summary>
/// Builds estimator output schemas. ML.NET's <c>SchemaShape.Column</c> constructor is internal, so the one
/// place that calls it is here.
/// </summary>
internal static class SchemaShapes
{
    /// <summary>A column an estimator adds (or replaces) in its output schema.</summary>
    /// <param name="Name">Column name.</param>
    /// <param name="Kind">Scalar, fixed-size vector or variable-size vector.</param>
    /// <param name="ItemType">The item type (for vectors, the element type).</param>
    /// <param name="IsKey">Whether it is a key column.</param>
    public readonly record struct NewColumn(string Name, SchemaShape.Column.VectorKind Kind, DataViewType ItemType, bool IsKey = false);

    private static readonly Lazy<ConstructorInfo> ColumnCtor = new(() =>
        typeof(SchemaShape.Column).GetConstructor(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic,
            [typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape)])
        ?? throw new InvalidOperationException("ML.NET's SchemaShape.Column constructor was not found; TinyLlm.MLNet is built against Microsoft.ML 5.0.1."));

    /// <summary>Returns <paramref name="input"/> with <paramref name="columns"/> added, replacing same-named ones.</summary>
    public static SchemaShape Extend(SchemaShape input, params NewColumn[] columns)
    {
        var result = input.ToDictionary(c => c.Name);
        foreach (var c in columns)
            result[c.Name] = Column(c);
        return new SchemaShape(result.Values);
    }

    /// <summary>Creates one schema-shape column.</summary>
    public static SchemaShape.Column Column(NewColumn c) =>
        (SchemaShape.Column)ColumnCtor.Value.Invoke([c.Name, c.Kind, c.ItemType, c.IsKey, null]);
}
