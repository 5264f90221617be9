namespace TinyLlm.MLNet.Interop;

/// <summary>The formats <see cref="ModelExporter"/> writes.</summary>
public enum ModelExportFormat
{
    /// <summary>llama2.c's v0 fp32 file, what its <c>run.c</c> reads (<c>llama2c</c>).</summary>
    Llama2c,

    /// <summary>llama2.c's v1 fp32 file with the "ak42" header (<c>llama2c-v1</c>).</summary>
    Llama2cV1,

    /// <summary>llama2.c's v2 int8 Q8_0 file, what its <c>runq.c</c> reads (<c>llama2c-q8</c>).</summary>
    Llama2cQ8,

    /// <summary>A Hugging Face transformers Llama model folder (<c>hf</c>).</summary>
    HuggingFace,

    /// <summary>
    /// A GGUF file of llama.cpp's <c>llama</c> architecture with the vocabulary embedded (<c>gguf</c>): what llama.cpp,
    /// Ollama, LM Studio and LLamaSharp load (see <see cref="GgufLlama"/>).
    /// </summary>
    Gguf,
}
