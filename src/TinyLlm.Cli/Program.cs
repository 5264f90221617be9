using System.CommandLine;
using TinyLlm.Cli;
using TinyLlm.Cli.Commands;

// A Windows console starts in a legacy code page, where story text and folder names outside it print as '?'.
if (OperatingSystem.IsWindows()) Console.OutputEncoding = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

var root = new RootCommand("tinyllm: build, train and sample a small LLaMA-style language model with ML.NET and TorchSharp.");
// One line per command; each command lives in Commands/<Name>Command.cs.
root.Subcommands.Add(QuickstartCommand.Create());
root.Subcommands.Add(SynthCommand.Create());
root.Subcommands.Add(DownloadCommand.Create());
root.Subcommands.Add(TrainTokenizerCommand.Create());
root.Subcommands.Add(TokenizeCommand.Create());
root.Subcommands.Add(PretokenizeCommand.Create());
root.Subcommands.Add(TrainCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(GenerateCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(EvalCommand.Create());
root.Subcommands.Add(ExportCommand.Create());
return CliRunner.Run(root, args);
