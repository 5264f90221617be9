namespace TinyLlm.MLNet.Shards;

/// <summary>Which columns the rows of a token-window <c>IDataView</c> carry.</summary>
public enum TokenWindowColumns
{
    /// <summary><c>Input</c> and <c>Target</c>: vectors of Int32 of length <c>SequenceLength</c>, the target the input shifted by one.</summary>
    InputAndTarget,

    /// <summary><c>Window</c>: one vector of Int32 of length <c>SequenceLength + 1</c>.</summary>
    Window,
}

/// <summary>Options of <c>mlContext.Data.LoadFromTokenShards</c>.</summary>
public sealed class TokenShardLoaderOptions : TokenWindowOptions
{
    /// <summary>The split whose windows are the rows of the view (batches of both splits stay available through <see cref="ITokenBatchSource"/>).</summary>
    public DataSplit Split = DataSplit.Train;

    /// <summary>The columns of a row.</summary>
    public TokenWindowColumns Columns = TokenWindowColumns.InputAndTarget;

    /// <summary>When set, the folder's manifest must name this tokenizer <c>.model</c> (by SHA-256), or loading fails.</summary>
    public string? TokenizerModelPath;

    /// <summary>Load a folder whose pretokenize run did not finish (its manifest says so); off refuses it.</summary>
    public bool AllowIncompleteShards;
}
