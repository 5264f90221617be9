// Writes ML.NET's model-loader registration into TinyLlm.MLNet.Core.dll after the C# compiler has built it.
//
// Why a build step: `mlContext.Model.Load` finds the loader of each saved part only in the MLContext's component
// catalog, which it fills from `[assembly: LoadableClass(...)]` attributes of the assembly named in that part
// (ML.NET calls ComponentCatalog.RegisterAssembly on it before resolving). LoadableClassAttribute,
// SignatureLoadModel and ModelLoadContext are internal to Microsoft.ML.Core, so C# cannot write those attributes or
// a `Create(IHostEnvironment, ModelLoadContext)` method; the runtime accepts them in an assembly that declares
// [IgnoresAccessChecksTo("Microsoft.ML.Core")] (TinyLlm.MLNet.Core does, in C#). So this tool adds, for every class
// marked [TinyLlmLoadable(loaderSignature, ...)]:
//   - a nested static class `MLNetLoader` with `static T Create(IHostEnvironment env, ModelLoadContext ctx)` that
//     calls `ModelPersistence.CreateFromLoadContext<T>(env, ctx)`;
//   - `[assembly: LoadableClass(typeof(T), typeof(T.MLNetLoader), null, typeof(SignatureLoadModel), "T", loaderSignature)]`.
// With them, a saved TinyLlm model loads in a fresh MLContext with no registration call.
//
// Usage: LoadableClassWeaver <assembly.dll> <file listing the compile references, one path per line>
using Mono.Cecil;
using Mono.Cecil.Cil;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: LoadableClassWeaver <assembly.dll> <references.txt>");
    return 2;
}

string assemblyPath = args[0];
var resolver = new DefaultAssemblyResolver();
foreach (string dir in File.ReadAllLines(args[1]).Where(l => l.Length > 0).Select(l => Path.GetDirectoryName(l)!).Distinct())
    resolver.AddSearchDirectory(dir);

bool hasSymbols = File.Exists(Path.ChangeExtension(assemblyPath, ".pdb"));
using var module = ModuleDefinition.ReadModule(assemblyPath, new ReaderParameters
{
    ReadWrite = true,
    ReadSymbols = hasSymbols,
    AssemblyResolver = resolver,
});

const string MarkerAttribute = "TinyLlm.MLNet.Bridge.TinyLlmLoadableAttribute";
const string NestedLoaderName = "MLNetLoader";
var loadables = module.Types
    .Select(t => (Type: t, Attr: t.CustomAttributes.FirstOrDefault(a => a.AttributeType.FullName == MarkerAttribute)))
    .Where(x => x.Attr is not null)
    .ToList();
if (loadables.Count == 0)
{
    Console.Error.WriteLine($"LoadableClassWeaver: no [TinyLlmLoadable] class in {assemblyPath}.");
    return 1;
}
if (loadables.All(x => x.Type.NestedTypes.Any(n => n.Name == NestedLoaderName)))
{
    Console.WriteLine($"LoadableClassWeaver: {Path.GetFileName(assemblyPath)} is already woven.");
    return 0;
}

var mlCoreRef = module.AssemblyReferences.FirstOrDefault(r => r.Name == "Microsoft.ML.Core")
    ?? throw new InvalidOperationException($"{assemblyPath} does not reference Microsoft.ML.Core.");
var mlCore = resolver.Resolve(mlCoreRef).MainModule;
TypeDefinition Need(ModuleDefinition m, string name) =>
    m.GetType(name) ?? throw new InvalidOperationException($"{name} not found in {m.FileName}; TinyLlm.MLNet is built against Microsoft.ML 5.0.1.");

var loadableClassAttr = Need(mlCore, "Microsoft.ML.LoadableClassAttribute");
var attrCtor = loadableClassAttr.Methods.Single(m => m.IsConstructor && !m.IsStatic &&
    m.Parameters.Select(p => p.ParameterType.FullName).SequenceEqual(
        ["System.Type", "System.Type", "System.Type", "System.Type", "System.String", "System.String[]"]));
var signatureLoadModel = module.ImportReference(Need(mlCore, "Microsoft.ML.SignatureLoadModel"));
var modelLoadContext = module.ImportReference(Need(mlCore, "Microsoft.ML.ModelLoadContext"));
var hostEnvironment = module.ImportReference(Need(mlCore, "Microsoft.ML.Runtime.IHostEnvironment"));
var importedAttrCtor = module.ImportReference(attrCtor);
var systemType = importedAttrCtor.Parameters[0].ParameterType;
var stringArray = importedAttrCtor.Parameters[5].ParameterType;

var persistence = module.GetType("TinyLlm.MLNet.Bridge.ModelPersistence")
    ?? throw new InvalidOperationException("TinyLlm.MLNet.Bridge.ModelPersistence not found.");
var createFromContext = persistence.Methods.Single(m => m.Name == "CreateFromLoadContext" && m.HasGenericParameters);

foreach (var (type, attr) in loadables)
{
    string loaderSignature = (string)attr!.ConstructorArguments[0].Value;

    var loader = new TypeDefinition("", NestedLoaderName,
        TypeAttributes.NestedPrivate | TypeAttributes.Abstract | TypeAttributes.Sealed | TypeAttributes.BeforeFieldInit,
        module.TypeSystem.Object);
    type.NestedTypes.Add(loader);

    var create = new MethodDefinition("Create", MethodAttributes.Public | MethodAttributes.Static | MethodAttributes.HideBySig, type);
    create.Parameters.Add(new ParameterDefinition("env", ParameterAttributes.None, hostEnvironment));
    create.Parameters.Add(new ParameterDefinition("ctx", ParameterAttributes.None, modelLoadContext));
    var call = new GenericInstanceMethod(createFromContext);
    call.GenericArguments.Add(type);
    var il = create.Body.GetILProcessor();
    il.Emit(OpCodes.Ldarg_0);
    il.Emit(OpCodes.Ldarg_1);
    il.Emit(OpCodes.Call, call);
    il.Emit(OpCodes.Ret);
    loader.Methods.Add(create);

    var loadable = new CustomAttribute(importedAttrCtor);
    loadable.ConstructorArguments.Add(new CustomAttributeArgument(systemType, type));
    loadable.ConstructorArguments.Add(new CustomAttributeArgument(systemType, loader));
    loadable.ConstructorArguments.Add(new CustomAttributeArgument(systemType, null));
    loadable.ConstructorArguments.Add(new CustomAttributeArgument(systemType, signatureLoadModel));
    loadable.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.String, type.Name));
    loadable.ConstructorArguments.Add(new CustomAttributeArgument(stringArray,
        new[] { new CustomAttributeArgument(module.TypeSystem.String, loaderSignature) }));
    module.Assembly.CustomAttributes.Add(loadable);
    Console.WriteLine($"LoadableClassWeaver: {type.FullName} loads as '{loaderSignature}'.");
}

module.Write(new WriterParameters { WriteSymbols = hasSymbols });
return 0;
