namespace TinyLlm.MLNet.Engine;

/// <summary>
/// How the inference engine stores the weight matrices (wq, wk, wv, wo, w1, w2, w3, the token embedding and the
/// classifier). RMSNorm weights are always fp32. Smaller storage means fewer bytes streamed from memory per token.
/// </summary>
public enum WeightFormat
{
    /// <summary>32-bit floats, 4 bytes per weight: exact.</summary>
    Float32,

    /// <summary>
    /// bfloat16 (the upper 16 bits of a float, rounded to nearest even), 2 bytes per weight; widened to fp32 in
    /// registers, so all arithmetic stays fp32.
    /// </summary>
    BFloat16,

    /// <summary>
    /// llama2.c's "Q8_0" (its v2 files, <c>runq.c</c>): symmetric int8 in groups of <c>GroupSize</c> consecutive
    /// weights of a row, each group with one fp32 scale <c>max|w| / 127</c>, about 1 + 4/GroupSize bytes per
    /// weight. The engine quantizes each matrix-vector product's input the same way and multiplies in integers.
    /// </summary>
    Q8_0,
}
