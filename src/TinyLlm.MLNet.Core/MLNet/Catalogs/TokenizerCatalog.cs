using Microsoft.ML;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.MLNet;

/// <summary>Tokenizer transforms on <c>mlContext.Transforms.Text</c>.</summary>
public static class TokenizerCatalog
{
    /// <summary>
    /// Trains a SentencePiece BPE tokenizer (compatible with sentencepiece's <c>spm_train</c>) on a text column
    /// when fitted; the fitted transformer maps the text to a variable-length vector of Int32 token ids.
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="outputColumnName">Name of the token-id column to add.</param>
    /// <param name="inputColumnName">Name of the text column; null for <paramref name="outputColumnName"/>.</param>
    /// <param name="options">Training and encoding options; null for the llama2.c tutorial's defaults (vocabulary 4096).</param>
    /// <example><code>
    /// var pipeline = mlContext.Transforms.Text.TrainSentencePieceBpe("Tokens", "Text",
    ///     new SentencePieceBpeOptions { VocabSize = 4096 });
    /// var tokenizer = pipeline.Fit(stories);
    /// File.WriteAllBytes("tok4096.model", tokenizer.GetModelBytes());
    /// </code></example>
    public static SentencePieceBpeEstimator TrainSentencePieceBpe(this TransformsCatalog.TextTransforms catalog,
        string outputColumnName, string? inputColumnName = null, SentencePieceBpeOptions? options = null) =>
        new(Bridge.CatalogEnvironment.Of(catalog), outputColumnName, inputColumnName, options);

    /// <summary>
    /// Wraps an existing sentencepiece BPE <c>.model</c> (ours, or one trained by Google's sentencepiece) as a fitted
    /// transformer that maps a text column to token ids.
    /// </summary>
    /// <param name="catalog">The text transforms catalog.</param>
    /// <param name="modelPath">Path of the <c>.model</c> file.</param>
    /// <param name="outputColumnName">Name of the token-id column to add.</param>
    /// <param name="inputColumnName">Name of the text column.</param>
    /// <param name="addBeginningOfSentence">Put the BOS id first.</param>
    /// <param name="addEndOfSentence">Put the EOS id last.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a sentencepiece BPE model.</exception>
    /// <example><code>
    /// var tokenizer = mlContext.Transforms.Text.LoadSentencePiece("tok4096.model");
    /// IDataView withTokens = tokenizer.Transform(stories);
    /// </code></example>
    public static SentencePieceTokenizerTransformer LoadSentencePiece(this TransformsCatalog.TextTransforms catalog,
        string modelPath, string outputColumnName = "Tokens", string inputColumnName = "Text",
        bool addBeginningOfSentence = true, bool addEndOfSentence = false) =>
        new(Bridge.CatalogEnvironment.Of(catalog), SentencePieceModel.Load(modelPath), outputColumnName, inputColumnName,
            addBeginningOfSentence, addEndOfSentence);
}
