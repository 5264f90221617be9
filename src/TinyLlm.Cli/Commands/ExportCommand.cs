using System.CommandLine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.IO;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>tinyllm export</c>: writes a model in llama2.c's (v0, v1, v2 Q8_0), Hugging Face's or llama.cpp's (GGUF)
/// format, and llama2.c's tokenizer.bin (the tutorial's export.py and tokenizer.py). Importing needs no command:
/// generate and LoadLlama read every one of these formats directly.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "The model to export: out/ckpt.bin, a llama2.c file (v0/v1/v2), a Hugging Face folder or a GGUF file. Default: out/ckpt.bin." };
        var format = new Option<string>("--format") { Description = "llama2c (v0, what run.c reads), llama2c-v1, llama2c-q8 (v2, what runq.c reads), hf (a Hugging Face Llama folder) or gguf (llama.cpp, Ollama, LM Studio, LLamaSharp; vocabulary embedded).", DefaultValueFactory = _ => "llama2c" };
        var output = new Option<string?>("--out", "-o") { Description = "The file to write (a folder for --format hf)." };
        var tokenizer = new Option<FileInfo?>("--tokenizer-model-path", "--tokenizer") { Description = "The tokenizer .model: copied into the hf folder, embedded in the gguf file (required there unless --checkpoint is a GGUF file with its own), and the source of --tokenizer-bin." };
        var weightType = new Option<string?>("--weights") { Description = "gguf only: the type of the weight matrices, f32, f16, bf16 or q8_0 (blocks of 32 with fp16 scales). Default: as the checkpoint stores them (f32; bf16; q8_0 for a llama2.c v2 or GGUF Q8_0 file)." };
        var tokenizerBin = new Option<FileInfo?>("--tokenizer-bin") { Description = "Also write llama2.c's tokenizer.bin here (needs --tokenizer-model-path)." };
        var groupSize = new Option<int>("--group-size") { Description = "Q8_0 group size for llama2c-q8 (halved until it divides dim and hidden_dim).", DefaultValueFactory = _ => Llama2cQ8Checkpoint.DefaultGroupSize };

        var command = new Command("export", "Export a model to llama2.c (v0, v1, v2 int8), Hugging Face (config.json + model.safetensors) or GGUF (llama.cpp) format, and the tokenizer to llama2.c's tokenizer.bin.");
        foreach (var o in new Option[] { checkpoint, format, output, tokenizer, tokenizerBin, groupSize, weightType })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            string? outPath = parse.GetValue(output);
            var binPath = parse.GetValue(tokenizerBin);
            var tokPath = parse.GetValue(tokenizer);
            if (outPath is null && binPath is null)
                throw new ArgumentException("Nothing to export: give --out for the model and/or --tokenizer-bin for llama2.c's tokenizer.bin.");
            var fmt = ModelExporter.ParseFormat(parse.GetValue(format)!);
            var ggufWeights = ParseWeightType(parse.GetValue(weightType));
            if (ggufWeights is not null && fmt != ModelExportFormat.Gguf)
                throw new ArgumentException($"--weights applies to --format gguf only; {parse.GetValue(format)} has its own storage (llama2c-q8 is llama2.c's int8 format).");
            int group = parse.GetValue(groupSize);
            if (group < 1) throw new ArgumentException($"--group-size must be at least 1; it was {group}.");
            if (binPath is not null && tokPath is null)
                throw new ArgumentException("--tokenizer-bin needs --tokenizer-model-path: the .model to convert.");
            string source = parse.GetValue(checkpoint) ?? Path.Combine("out", "ckpt.bin");
            RefuseWritingOverInputs(outPath, fmt, binPath?.FullName, source, tokPath?.FullName);
            SentencePieceModel? tok = null;
            if (tokPath is not null)
            {
                if (!tokPath.Exists) throw new FileNotFoundException($"Tokenizer model '{tokPath.FullName}' (from --tokenizer-model-path) does not exist.", tokPath.FullName);
                tok = SentencePieceModel.Load(tokPath.FullName);
            }

            if (outPath is not null)
            {
                var weights = GenerationModelLoader.ReadWeights(source);
                // a GGUF file carries its vocabulary: the tokenizer of any export from it unless one is given
                if (tok is null && GgufLlama.IsGguf(source) && fmt is ModelExportFormat.Gguf or ModelExportFormat.HuggingFace)
                    tok = GgufLlama.ReadTokenizer(source);
                if (fmt == ModelExportFormat.Gguf && tok is null)
                    throw new ArgumentException("--format gguf needs --tokenizer-model-path: a GGUF file carries its vocabulary, and llama.cpp reads it from there.");
                if (tok is not null && tok.VocabSize != weights.Config.VocabSize)
                    throw new ArgumentException($"The tokenizer '{tokPath?.FullName ?? source}' has {tok.VocabSize} pieces but the model '{source}' has vocab_size {weights.Config.VocabSize}.");
                if (fmt == ModelExportFormat.HuggingFace && tok is null)
                    Console.Error.WriteLine("note: no --tokenizer-model-path, so the folder has no tokenizer.model.");
                if (fmt is ModelExportFormat.Llama2c or ModelExportFormat.Llama2cV1 or ModelExportFormat.Llama2cQ8 && (weights.Config.NormEps != 1e-5 || weights.Config.RopeTheta != 10000))
                    Console.Error.WriteLine($"note: llama2.c files have no field for rms_norm_eps ({weights.Config.NormEps}) or rope_theta ({weights.Config.RopeTheta}); readers assume 1e-5 and 10000.");
                if (fmt == ModelExportFormat.Llama2cQ8)
                {
                    int used = Llama2cQ8Checkpoint.FitGroupSize(weights.Config, group);
                    if (used != group) Console.Error.WriteLine($"note: group size {group} does not divide dim {weights.Config.Dim} and hidden_dim {weights.Config.HiddenDim}; using {used}.");
                }
                ModelExporter.Export(weights, fmt, outPath, tok, group, ggufWeights);
                Console.WriteLine($"wrote {outPath} ({parse.GetValue(format)}: dim {weights.Config.Dim}, {weights.Config.NLayers} layers, vocab {weights.Config.VocabSize}{(weights.Config.SharedClassifier ? "" : ", unshared classifier")})");
            }
            if (binPath is not null)
            {
                Llama2cTokenizerBin.Write(tok!, binPath.FullName);
                Console.WriteLine($"wrote {binPath.FullName} ({tok!.VocabSize} tokens)");
            }
            return 0;
        });
        return command;
    }

    private static GgmlType? ParseWeightType(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        null => null,
        "f32" or "fp32" => GgmlType.F32,
        "f16" or "fp16" => GgmlType.F16,
        "bf16" => GgmlType.BF16,
        "q8_0" or "q8" => GgmlType.Q8_0,
        _ => throw new ArgumentException($"--weights '{name}' is not a GGUF weight type; use f32, f16, bf16 or q8_0."),
    };

    // The model and the tokenizer are read whole before anything is written, and nothing is written over them: an
    // --out or --tokenizer-bin that is an input under another name (a link, a relative path) is refused.
    private static void RefuseWritingOverInputs(string? outPath, ModelExportFormat format, string? binPath, string source, string? tokenizerPath)
    {
        var inputs = new List<(string Flag, string Path)> { ("--checkpoint", source) };
        if (tokenizerPath is not null) inputs.Add(("--tokenizer-model-path", tokenizerPath));
        var outputs = new List<(string Flag, string Path)>();
        if (outPath is not null)
        {
            if (format != ModelExportFormat.HuggingFace) outputs.Add(("--out", outPath));
            else
            {
                // A Hugging Face export writes these files into the --out folder (and is read from such a folder).
                outputs.Add(("--out", outPath));
                foreach (string file in new[] { "config.json", "generation_config.json", "model.safetensors", "tokenizer.model", "tokenizer_config.json" })
                    outputs.Add(("--out", Path.Combine(outPath, file)));
            }
        }
        if (binPath is not null) outputs.Add(("--tokenizer-bin", binPath));
        foreach (var output in outputs)
            foreach (var input in inputs)
                if (SameFile.Check(output.Path, input.Path))
                    throw new ArgumentException(
                        $"{output.Flag} '{output.Path}' would overwrite {input.Flag} '{input.Path}', which is being exported; write the export to another path.");
        if (outPath is not null && binPath is not null && SameFile.Check(outPath, binPath))
            throw new ArgumentException($"--out and --tokenizer-bin are the same file, '{outPath}'; give each its own path.");
    }
}
