using Microsoft.ML;

namespace TinyLlm.MLNet.Bridge;

/// <summary>
/// Schema checks whose errors are worded and typed as ML.NET's own (<c>Contracts.ExceptSchemaMismatch</c>, which is
/// internal): "Could not find input column 'X'", "Schema mismatch for input column 'X': expected String, got Single".
/// </summary>
internal static class SchemaErrors
{
    /// <summary>"Could not find input column 'X'".</summary>
    public static ArgumentOutOfRangeException ColumnNotFound(string name, string role = "input") =>
        new("inputSchema", $"Could not find {role} column '{name}'");

    /// <summary>"Schema mismatch for input column 'X': expected String, got Single".</summary>
    public static ArgumentOutOfRangeException Mismatch(string name, string expected, string actual, string role = "input") =>
        new("inputSchema", $"Schema mismatch for {role} column '{name}': expected {expected}, got {actual}");

    /// <summary>The column <paramref name="name"/> of an estimator's input shape, which <paramref name="rule"/> must accept.</summary>
    public static SchemaShape.Column Require(SchemaShape schema, string name, ColumnRule rule)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var column = schema.LastOrDefault(c => c.Name == name);
        if (column.Name is null) throw ColumnNotFound(name);
        if (!rule.Accepts(column)) throw Mismatch(name, rule.Expected, ColumnRule.TypeName(column));
        return column;
    }

    /// <summary>The column <paramref name="name"/> of the data's schema, which <paramref name="rule"/> must accept.</summary>
    public static DataViewSchema.Column Require(DataViewSchema schema, string name, ColumnRule rule)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var column = schema.GetColumnOrNull(name) ?? throw ColumnNotFound(name);
        if (!rule.Accepts(column.Type)) throw Mismatch(name, rule.Expected, column.Type.ToString()!);
        return column;
    }

    /// <summary>The text column <paramref name="name"/> of the data's schema.</summary>
    public static DataViewSchema.Column RequireText(DataViewSchema schema, string name) => Require(schema, name, ColumnRule.Text);
}
