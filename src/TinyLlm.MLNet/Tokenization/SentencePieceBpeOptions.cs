namespace TinyLlm.MLNet.Tokenization;

/// <summary>
/// Options of the SentencePiece BPE trainer: the same options, with the same meaning, as Google's
/// <c>spm_train --model_type=bpe</c>.
/// </summary>
/// <remarks>
/// The defaults are the llama2.c tutorial's (<c>tinystories.py train_vocab</c>), which differ from
/// sentencepiece's own defaults in: <see cref="VocabSize"/> (4096; sentencepiece 8000),
/// <see cref="CharacterCoverage"/> (1.0; 0.9995), <see cref="ByteFallback"/> (true; false),
/// <see cref="SplitDigits"/> (true; false), <see cref="AllowWhitespaceOnlyPieces"/> (true; false),
/// <see cref="NormalizationRuleName"/> ("identity"; "nmt_nfkc"), <see cref="UnkSurface"/> (the tutorial passes
/// the raw string <c>" \342\201\207 "</c>, stored literally; sentencepiece's default is <c>" ⁇ "</c>) and
/// <see cref="NumThreads"/> (0 = all cores; 16). Every other default is sentencepiece's.
/// </remarks>
public sealed class SentencePieceBpeOptions
{
    /// <summary>Size of the vocabulary: special pieces, the 256 byte pieces, learned merges and required characters.</summary>
    public int VocabSize = 4096;

    /// <summary>Fraction of the corpus's characters that must be in the vocabulary (0.98 to 1.0); rarer ones become unknown (or bytes).</summary>
    public double CharacterCoverage = 1.0;

    /// <summary>Adds the 256 pieces <c>&lt;0x00&gt;</c>..<c>&lt;0xFF&gt;</c> so that unknown characters are encoded as their UTF-8 bytes.</summary>
    public bool ByteFallback = true;

    /// <summary>Splits every digit into its own piece (no piece holds two digits).</summary>
    public bool SplitDigits = true;

    /// <summary>Allows pieces made only of whitespace (<c>▁▁</c>), so runs of spaces can be learned.</summary>
    public bool AllowWhitespaceOnlyPieces = true;

    /// <summary>Longest piece, in Unicode characters (1 to 512).</summary>
    public int MaxSentencePieceLength = 16;

    /// <summary>Longest input line, in UTF-8 bytes; longer lines are skipped in training (10 to 65535).</summary>
    public int MaxSentenceLength = 4192;

    /// <summary>Number of lines to train on (0 = all); with <see cref="ShuffleInputSentence"/> they are sampled from the whole corpus.</summary>
    public long InputSentenceSize = 0;

    /// <summary>When <see cref="InputSentenceSize"/> is set: sample lines uniformly (reservoir sampling, as spm_train) instead of taking the first ones.</summary>
    public bool ShuffleInputSentence = true;

    /// <summary>Seed of the sentence sampler; the default, 12345678, is the one spm_train always uses, so the same lines are sampled.</summary>
    public int Seed = 12345678;

    /// <summary>Splits lines into words at whitespace before counting pairs (pieces never cross a word boundary).</summary>
    public bool SplitByWhitespace = true;

    /// <summary>Does not let a piece mix Unicode scripts (Latin, Greek, Han, Common punctuation ...).</summary>
    public bool SplitByUnicodeScript = true;

    /// <summary>Treats digits as their own script, so they do not merge with letters.</summary>
    public bool SplitByNumber = true;

    /// <summary>Normalization rule. Only <c>"identity"</c> (no Unicode normalization) is supported.</summary>
    public string NormalizationRuleName = "identity";

    /// <summary>Adds a space (<c>▁</c>) before every line, so a word at the start of a line is the same piece as elsewhere.</summary>
    public bool AddDummyPrefix = true;

    /// <summary>Removes leading and trailing spaces and collapses runs of spaces into one.</summary>
    public bool RemoveExtraWhitespaces = true;

    /// <summary>Id of the unknown piece (must be set).</summary>
    public int UnkId = 0;

    /// <summary>Id of the beginning-of-sentence piece, or -1 for none.</summary>
    public int BosId = 1;

    /// <summary>Id of the end-of-sentence piece, or -1 for none.</summary>
    public int EosId = 2;

    /// <summary>Id of the padding piece, or -1 for none.</summary>
    public int PadId = -1;

    /// <summary>Text of the unknown piece.</summary>
    public string UnkPiece = "<unk>";

    /// <summary>Text of the beginning-of-sentence piece.</summary>
    public string BosPiece = "<s>";

    /// <summary>Text of the end-of-sentence piece.</summary>
    public string EosPiece = "</s>";

    /// <summary>Text of the padding piece.</summary>
    public string PadPiece = "<pad>";

    /// <summary>Text that decoding writes for an unknown piece (stored in the model as given).</summary>
    public string UnkSurface = @" \342\201\207 ";

    /// <summary>Pieces always kept whole and matched in the input (e.g. <c>&lt;sep&gt;</c>); they get ids after the special pieces.</summary>
    public string[] UserDefinedSymbols = [];

    /// <summary>Control pieces that are never produced from text (e.g. <c>&lt;cls&gt;</c>); they get ids after the special pieces.</summary>
    public string[] ControlSymbols = [];

    /// <summary>Threads used for counting; 0 uses every core.</summary>
    public int NumThreads = 0;

    /// <summary>When encoding: put the beginning-of-sentence id first.</summary>
    public bool AddBeginningOfSentence = true;

    /// <summary>When encoding: put the end-of-sentence id last.</summary>
    public bool AddEndOfSentence = false;

    /// <summary>A copy of these options.</summary>
    public SentencePieceBpeOptions Clone()
    {
        var copy = (SentencePieceBpeOptions)MemberwiseClone();
        copy.UserDefinedSymbols = (string[])UserDefinedSymbols.Clone();
        copy.ControlSymbols = (string[])ControlSymbols.Clone();
        return copy;
    }

    internal int EffectiveThreads => NumThreads > 0 ? NumThreads : Environment.ProcessorCount;
}
