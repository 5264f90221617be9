using Microsoft.ML;
using TinyLlm.MLNet;
using TinyLlm.MLNet.MLNet;
using TinyLlm.MLNet.ProcessProbe;

// Usage: probe <mode> <model.zip> <input text>
//   blob:             register TinyLlm + this probe's test transformer, load, score "Text" -> "Echo"
//   blob-unregistered: load without registering (expected to fail)
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: probe blob|blob-unregistered <model.zip> <text>");
    return 2;
}
var mlContext = new MLContext(seed: 1);
if (args[0] == "blob")
{
    mlContext.ComponentCatalog.RegisterTinyLlm();
    ModelPersistence.Register(mlContext.ComponentCatalog, typeof(BlobTransformer).Assembly);
}
try
{
    var model = mlContext.Model.Load(args[1], out _);
    var engine = mlContext.Model.CreatePredictionEngine<ProbeInput, ProbeOutput>(model);
    Console.WriteLine(engine.Predict(new ProbeInput { Text = args[2] }).Echo);
    return 0;
}
catch (Exception e)
{
    Console.WriteLine($"{e.GetType().Name}: {e.Message}");
    return 1;
}

public sealed class ProbeInput
{
    public string Text { get; set; } = "";
}

public sealed class ProbeOutput
{
    public string Echo { get; set; } = "";
}
