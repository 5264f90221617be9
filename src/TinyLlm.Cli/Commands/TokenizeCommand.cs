using System.CommandLine;
using TinyLlm.MLNet.Tokenization;

namespace TinyLlm.Cli.Commands;

/// <summary><c>tinyllm tokenize</c>: encodes text with a SentencePiece model, like the tutorial's tokenizer test.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The tokenizer .model file.", Required = true };
        var file = new Option<FileInfo?>("--file") { Description = "Encode this file line by line: one line of ids per input line." };
        var bos = new Option<bool>("--bos") { Description = "Put the BOS id first (default true; --bos false to leave it out).", DefaultValueFactory = _ => true };
        var eos = new Option<bool>("--eos") { Description = "Put the EOS id last (default true; --eos false to leave it out).", DefaultValueFactory = _ => true };
        var text = new Argument<string?>("text") { Description = "Text to encode (prints the ids and the decoded text).", Arity = ArgumentArity.ZeroOrOne };

        var command = new Command("tokenize", "Encode text with a SentencePiece model and print the token ids.");
        command.Options.Add(model);
        command.Options.Add(file);
        command.Options.Add(bos);
        command.Options.Add(eos);
        command.Arguments.Add(text);
        command.SetAction(parse =>
        {
            InputPaths.RequireFile(parse.GetValue(model)!.FullName, "--model", "a tokenizer .model file");
            var spm = SentencePieceModel.Load(parse.GetValue(model)!.FullName);
            bool addBos = parse.GetValue(bos), addEos = parse.GetValue(eos);
            var input = parse.GetValue(file);
            string? s = parse.GetValue(text);
            if ((input is null) == (s is null))
                throw new ArgumentException("Give either a text to encode or --file FILE.");
            if (s is not null)
            {
                var ids = spm.Encode(s, addBos, addEos);
                Console.WriteLine("[" + string.Join(", ", ids) + "]");
                Console.WriteLine(spm.Decode(ids));
                return 0;
            }
            InputPaths.RequireFile(input!.FullName, "--file", "a text file to encode line by line");
            using var stdout = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false };
            // Lines end at '\n', as spm_encode reads them; a file saved on Windows encodes like its LF copy (no '\r').
            foreach (var block in SentencePieceBpeTrainer.ReadCorpusFile(input.FullName))
                foreach (var line in block.Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l))
                    stdout.WriteLine(string.Join(' ', spm.Encode(line, addBos, addEos)));
            return 0;
        });
        return command;
    }
}
