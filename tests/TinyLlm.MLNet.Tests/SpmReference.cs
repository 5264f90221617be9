using System.Globalization;

namespace TinyLlm.MLNet.Tests;

/// <summary>Runs Debian's sentencepiece 0.1.97 tools with the llama2.c tutorial's training options.</summary>
internal static class SpmReference
{
    /// <summary>Trains with spm_train; returns the .model path.</summary>
    public static string Train(string corpusPath, int vocabSize, string prefix, string extraFlags = "")
    {
        string spm = ReferenceTools.Require("spm_train", "apt-get install sentencepiece");
        string args = string.Join(' ',
            $"--input={corpusPath}", $"--model_prefix={prefix}", "--model_type=bpe",
            $"--vocab_size={vocabSize.ToString(CultureInfo.InvariantCulture)}", "--self_test_sample_size=0",
            "--input_format=text", "--character_coverage=1.0", "--num_threads=2", "--split_digits=true",
            "--allow_whitespace_only_pieces=true", "--byte_fallback=true",
            "\"--unk_surface= \\342\\201\\207 \"", "--normalization_rule_name=identity", extraFlags);
        int code = ReferenceTools.Run(spm, args, out string output);
        Assert.AreEqual(0, code, $"spm_train failed: {output}");
        return prefix + ".model";
    }

    /// <summary>Encodes every line of <paramref name="corpusPath"/> with spm_encode; one id list per line.</summary>
    public static List<int[]> Encode(string modelPath, string corpusPath)
    {
        string spm = ReferenceTools.Require("spm_encode", "apt-get install sentencepiece");
        string outPath = corpusPath + "." + Path.GetFileNameWithoutExtension(modelPath) + ".ids";
        int code = ReferenceTools.Run("/bin/sh", $"-c \"'{spm}' --model='{modelPath}' --output_format=id < '{corpusPath}' > '{outPath}'\"", out string output);
        Assert.AreEqual(0, code, $"spm_encode failed: {output}");
        return File.ReadLines(outPath)
            .Select(l => l.Length == 0 ? [] : l.Split(' ').Select(int.Parse).ToArray())
            .ToList();
    }
}
