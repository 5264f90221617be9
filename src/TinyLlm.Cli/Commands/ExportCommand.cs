using System.CommandLine;
using TinyLlm.MLNet.Generation;
using TinyLlm.MLNet.IO;
using TinyLlm.MLNet.Interop;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.Cli.Commands;

/// <summary>
/// <c>tinyllm export</c>: writes a model in llama2.c's (v0, v1, v2 Q8_0) or Hugging Face's format, and llama2.c's
/// tokenizer.bin (the tutorial's export.py and tokenizer.py). Importing needs no command: generate and LoadLlama read
/// every one of these formats directly.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "The model to export: out/ckpt.bin, a llama2.c file (v0/v1/v2) or a Hugging Face folder. Default: out/ckpt.bin." };
        var format = new Option<string>("--format") { Description = "llama2c (v0, what run.c reads), llama2c-v1, llama2c-q8 (v2, what runq.c reads) or hf (a Hugging Face Llama folder).", DefaultValueFactory = _ => "llama2c" };
        var output = new Option<string?>("--out", "-o") { Description = "The file to write (a folder for --format hf)." };
        var tokenizer = new Option<FileInfo?>("--tokenizer-model-path", "--tokenizer") { Description = "The tokenizer .model: copied into the hf folder, and the source of --tokenizer-bin." };
        var tokenizerBin = new Option<FileInfo?>("--tokenizer-bin") { Description = "Also write llama2.c's tokenizer.bin here (needs --tokenizer-model-path)." };
        var groupSize = new Option<int>("--group-size") { Description = "Q8_0 group size for llama2c-q8 (halved until it divides dim and hidden_dim).", DefaultValueFactory = _ => Llama2cQ8Checkpoint.DefaultGroupSize };

        var command = new Command("export", "Export a model to llama2.c (v0, v1, v2 int8) or Hugging Face (config.json + model.safetensors) format, and the tokenizer to llama2.c's tokenizer.bin.");
        foreach (var o in new Option[] { checkpoint, format, output, tokenizer, tokenizerBin, groupSize })
            command.Options.Add(o);
        command.SetAction(parse =>
        {
            string? outPath = parse.GetValue(output);
            var binPath = parse.GetValue(tokenizerBin);
            var tokPath = parse.GetValue(tokenizer);
            if (outPath is null && binPath is null)
                throw new ArgumentException("Nothing to export: give --out for the model and/or --tokenizer-bin for llama2.c's tokenizer.bin.");
            var fmt = ModelExporter.ParseFormat(parse.GetValue(format)!);
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
                if (tok is not null && tok.VocabSize != weights.Config.VocabSize)
                    throw new ArgumentException($"The tokenizer '{tokPath!.FullName}' has {tok.VocabSize} pieces but the model '{source}' has vocab_size {weights.Config.VocabSize}.");
                if (fmt == ModelExportFormat.HuggingFace && tok is null)
                    Console.Error.WriteLine("note: no --tokenizer-model-path, so the folder has no tokenizer.model.");
                if (fmt != ModelExportFormat.HuggingFace && (weights.Config.NormEps != 1e-5f || weights.Config.RopeTheta != 10000f))
                    Console.Error.WriteLine($"note: llama2.c files have no field for rms_norm_eps ({weights.Config.NormEps}) or rope_theta ({weights.Config.RopeTheta}); readers assume 1e-5 and 10000.");
                if (fmt == ModelExportFormat.Llama2cQ8)
                {
                    int used = Llama2cQ8Checkpoint.FitGroupSize(weights.Config, group);
                    if (used != group) Console.Error.WriteLine($"note: group size {group} does not divide dim {weights.Config.Dim} and hidden_dim {weights.Config.HiddenDim}; using {used}.");
                }
                ModelExporter.Export(weights, fmt, outPath, tok, group);
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
