using Microsoft.ML;
using Microsoft.ML.Data;

namespace TinyLlm.MLNet.Bridge;

/// <summary>
/// Schema errors worded and typed as ML.NET's own (<c>Contracts.ExceptSchemaMismatch</c>), which is internal.
/// </summary>
internal static class SchemaErrors
{
    /// <summary>"Could not find input column 'X'".</summary>
    public static ArgumentOutOfRangeException ColumnNotFound(string name, string role = "input") =>
        new("inputSchema", $"Could not find {role} column '{name}'");

    /// <summary>The column <paramref name="name"/> of <paramref name="schema"/>, which must hold text; ML.NET's errors otherwise.</summary>
    public static DataViewSchema.Column RequireText(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw ColumnNotFound(name);
        if (column.Type is not TextDataViewType) throw Mismatch(name, "String", column.Type.ToString()!);
        return column;
    }

    /// <summary>"Schema mismatch for input column 'X': expected String, got Single".</summary>
    public static ArgumentOutOfRangeException Mismatch(string name, string expected, string actual, string role = "input") =>
        new("inputSchema", $"Schema mismatch for {role} column '{name}': expected {expected}, got {actual}");
}
