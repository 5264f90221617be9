using System.CommandLine;
using TinyLlm.MLNet.Engine;

namespace TinyLlm.Cli.Commands;

/// <summary>The model-shape flags the benchmarks share, defaulting to the tutorial's seed model (<see cref="LlamaConfig.Seed"/>).</summary>
internal sealed class BenchModelShape
{
    private readonly Option<int> _dim = new("--dim") { Description = "Model width.", DefaultValueFactory = _ => LlamaConfig.Seed.Dim };
    private readonly Option<int> _layers = new("--n-layers") { Description = "Transformer blocks.", DefaultValueFactory = _ => LlamaConfig.Seed.NLayers };
    private readonly Option<int> _heads = new("--n-heads") { Description = "Query heads.", DefaultValueFactory = _ => LlamaConfig.Seed.NHeads };
    private readonly Option<int> _kvHeads = new("--n-kv-heads") { Description = "Key/value heads.", DefaultValueFactory = _ => LlamaConfig.Seed.NKvHeads };
    private readonly Option<int> _vocab = new("--vocab-size") { Description = "Vocabulary size.", DefaultValueFactory = _ => LlamaConfig.Seed.VocabSize };
    private readonly Option<int> _seqLen = new("--seq-len") { Description = "Sequence length.", DefaultValueFactory = _ => LlamaConfig.Seed.MaxSeqLen };
    private readonly Option<int> _multipleOf = new("--multiple-of") { Description = "SwiGLU hidden size rounding.", DefaultValueFactory = _ => LlamaConfig.Seed.MultipleOf };

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
