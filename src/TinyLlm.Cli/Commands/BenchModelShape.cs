using System.CommandLine;
using TinyLlm.MLNet.Engine;

namespace TinyLlm.Cli.Commands;

/// <summary>The model-shape flags the benchmarks share, defaulting to the tutorial's seed model (288/8/8/4, vocab 4096, seq 256).</summary>
internal sealed class BenchModelShape
{
    private readonly Option<int> _dim = new("--dim") { Description = "Model width.", DefaultValueFactory = _ => 288 };
    private readonly Option<int> _layers = new("--n-layers") { Description = "Transformer blocks.", DefaultValueFactory = _ => 8 };
    private readonly Option<int> _heads = new("--n-heads") { Description = "Query heads.", DefaultValueFactory = _ => 8 };
    private readonly Option<int> _kvHeads = new("--n-kv-heads") { Description = "Key/value heads.", DefaultValueFactory = _ => 4 };
    private readonly Option<int> _vocab = new("--vocab-size") { Description = "Vocabulary size.", DefaultValueFactory = _ => 4096 };
    private readonly Option<int> _seqLen = new("--seq-len") { Description = "Sequence length.", DefaultValueFactory = _ => 256 };
    private readonly Option<int> _multipleOf = new("--multiple-of") { Description = "SwiGLU hidden size rounding.", DefaultValueFactory = _ => 32 };

    /// <summary>Adds the flags to <paramref name="command"/>.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _dim, _layers, _heads, _kvHeads, _vocab, _seqLen, _multipleOf })
            command.Options.Add(o);
    }

    /// <summary>The configuration the flags describe.</summary>
    public LlamaConfig Read(ParseResult parse) => new()
    {
        Dim = parse.GetValue(_dim), NLayers = parse.GetValue(_layers), NHeads = parse.GetValue(_heads), NKvHeads = parse.GetValue(_kvHeads),
        VocabSize = parse.GetValue(_vocab), MaxSeqLen = parse.GetValue(_seqLen), MultipleOf = parse.GetValue(_multipleOf),
    };
}
