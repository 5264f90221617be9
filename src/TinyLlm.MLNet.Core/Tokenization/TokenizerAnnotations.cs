using Microsoft.ML;
using Microsoft.ML.Data;

namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// The token-id column of <see cref="SentencePieceTokenizerTransformer"/> carries its tokenizer's <c>.model</c>
/// bytes as a column annotation, so a later stage of the same pipeline (the model trainer) knows which tokenizer
/// produced the ids, and can ship it with the model, without being handed it separately.
/// </summary>
public static class TokenizerAnnotations
{
    /// <summary>Name of the annotation (a vector of bytes: the SentencePiece ModelProto).</summary>
    public const string SentencePieceModel = "TinyLlm.SentencePieceModel";

    /// <summary>
    /// Name of the annotation (text) naming the column the ids were made from, so that the model trained on them
    /// reads its prompts from that column.
    /// </summary>
    public const string SourceColumn = "TinyLlm.TokenizedColumn";

    /// <summary>Annotations holding <paramref name="modelBytes"/> and, when given, <paramref name="sourceColumn"/>.</summary>
    public static DataViewSchema.Annotations Create(byte[] modelBytes, string? sourceColumn = null)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        builder.Add(SentencePieceModel, new VectorDataViewType(NumberDataViewType.Byte, modelBytes.Length),
            (ref VBuffer<byte> value) => value = new VBuffer<byte>(modelBytes.Length, (byte[])modelBytes.Clone()));
        if (sourceColumn is not null)
            builder.Add(SourceColumn, TextDataViewType.Instance, (ref ReadOnlyMemory<char> value) => value = sourceColumn.AsMemory());
        return builder.ToAnnotations();
    }

    /// <summary>The column the ids of <paramref name="column"/> were made from, or null.</summary>
    public static string? TryGetSourceColumn(DataViewSchema.Column column)
    {
        if (column.Annotations.Schema.GetColumnOrNull(SourceColumn) is null) return null;
        ReadOnlyMemory<char> value = default;
        column.Annotations.GetValue(SourceColumn, ref value);
        return value.ToString();
    }

    /// <summary>The tokenizer model bytes annotated on <paramref name="column"/>, or null.</summary>
    public static byte[]? TryGetModelBytes(DataViewSchema.Column column)
    {
        var annotation = column.Annotations.Schema.GetColumnOrNull(SentencePieceModel);
        if (annotation is null) return null;
        VBuffer<byte> value = default;
        column.Annotations.GetValue(SentencePieceModel, ref value);
        return value.DenseValues().ToArray();
    }
}
