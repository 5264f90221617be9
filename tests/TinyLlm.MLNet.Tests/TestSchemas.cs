using Microsoft.ML;
using Microsoft.ML.Data;
using TinyLlm.MLNet.Bridge;

namespace TinyLlm.MLNet.Tests;

/// <summary>ML.NET's SchemaShape.Create is internal; this builds the same shape for estimator tests.</summary>
internal static class TestSchemas
{
    public static SchemaShape Shape(DataViewSchema schema) => new(schema.Select(c => SchemaShapes.Column(
        c.Type is VectorDataViewType v
            ? new SchemaShapes.NewColumn(c.Name, v.IsKnownSize ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector, v.ItemType)
            : new SchemaShapes.NewColumn(c.Name, SchemaShape.Column.VectorKind.Scalar, c.Type))));
}
