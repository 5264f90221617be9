using System.Reflection;
using System.Reflection.Emit;
using TinyLlm.MLNet.Engine;
using TinyLlm.MLNet.Training;

namespace TinyLlm.MLNet.Tests;

/// <summary>
/// The folders are the architecture (docs/architecture.md): these tests read the compiled assemblies, every
/// signature and every method body, and fail when a dependency cycle between top-level folders appears or a
/// namespace is split across the two libraries.
/// </summary>
[TestClass]
public sealed class ArchitectureTests
{
    private static readonly Assembly Core = typeof(LlamaConfig).Assembly;
    private static readonly Assembly Training = typeof(LlamaTrainer).Assembly;

    [TestMethod]
    public void NoTwoFoldersDependOnEachOther()
    {
        var edges = Dependencies([Core, Training]);
        var cycles = StronglyConnected(edges).Where(c => c.Count > 1).ToList();
        var explain = cycles.Select(c => string.Join("; ", edges
            .Where(e => c.Contains(e.Key.From) && c.Contains(e.Key.To))
            .Select(e => $"{e.Key.From} -> {e.Key.To} ({e.Value})")));
        Assert.IsEmpty(cycles, "Folders that depend on each other: " + string.Join(" | ", explain));
    }

    [TestMethod]
    public void TheFolderGraphHasTheDocumentedShape()
    {
        var edges = Dependencies([Core, Training]).Keys.ToHashSet();
        // The bottom layers depend on nothing of ours; the catalogs are the top of Core and nothing uses them.
        foreach (string bottom in new[] { "IO", "Bridge" })
            Assert.IsFalse(edges.Any(e => e.From == bottom && e.To != "IO"), $"{bottom} must not depend on another folder: {string.Join(", ", edges.Where(e => e.From == bottom))}");
        Assert.IsFalse(edges.Any(e => e.To == "Catalogs"), $"Nothing inside the libraries may use the catalog extensions: {string.Join(", ", edges.Where(e => e.To == "Catalogs"))}");
        Assert.IsFalse(edges.Any(e => e.From == "Engine" && e.To is "Generation" or "Interop" or "Tokenization"), "The engine sits below generation, interop and tokenization.");
        Assert.IsFalse(edges.Any(e => e.From == "Interop" && e.To == "Generation"), "Interop reads and writes the engine's weights and must not use Generation.");
        Assert.IsFalse(edges.Any(e => e.From == "Modeling" && e.To is "Training" or "Decoding"), "Modeling (model.py) must not use Training or Decoding.");
    }

    [TestMethod]
    public void NoNamespaceIsSplitAcrossTheTwoLibraries()
    {
        var core = Namespaces(Core);
        var training = Namespaces(Training);
        CollectionAssert.AreEquivalent(Array.Empty<string>(), core.Intersect(training).ToArray(), "namespaces in both TinyLlm.MLNet.Core and TinyLlm.MLNet");
    }

    [TestMethod]
    public void TheDependencyReaderSeesMethodBodies()
    {
        // A guard for the reader itself: InferenceEngine's constructor calls into DecoderArguments only in its body.
        var edges = Dependencies([Core]);
        Assert.IsTrue(edges.ContainsKey(("Generation", "Engine")), "Generation -> Engine should be found");
        Assert.IsTrue(edges.ContainsKey(("Interop", "Engine")), "Interop -> Engine should be found");
    }

    private static HashSet<string> Namespaces(Assembly assembly) =>
        assembly.GetTypes().Select(t => t.Namespace).OfType<string>().Where(n => n.StartsWith("TinyLlm.", StringComparison.Ordinal)).ToHashSet();

    /// <summary>The folder of a TinyLlm type: the namespace's first segment after <c>TinyLlm.MLNet</c>; the root namespace holds the catalogs.</summary>
    private static string? Folder(Type? type)
    {
        while (type?.DeclaringType is not null) type = type.DeclaringType;
        string? ns = type?.Namespace;
        if (ns is null || type!.Assembly != Core && type.Assembly != Training) return null;
        if (ns == "TinyLlm.MLNet") return "Catalogs";
        if (!ns.StartsWith("TinyLlm.MLNet.", StringComparison.Ordinal)) return null;
        return ns["TinyLlm.MLNet.".Length..].Split('.')[0];
    }

    /// <summary>Folder-to-folder edges, each with one example of a type that uses a type of the other folder.</summary>
    private static Dictionary<(string From, string To), string> Dependencies(Assembly[] assemblies)
    {
        var edges = new Dictionary<(string, string), string>();
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()))
        {
            string? from = Folder(type);
            if (from is null) continue;
            foreach (var used in UsedTypes(type))
            {
                string? to = Folder(used);
                if (to is not null && to != from) edges.TryAdd((from, to), $"{type.FullName} uses {used.FullName}");
            }
        }
        return edges;
    }

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static IEnumerable<Type> UsedTypes(Type type)
    {
        var found = new List<Type?> { type.BaseType };
        found.AddRange(type.GetInterfaces());
        found.AddRange(type.GetCustomAttributesData().Select(a => a.AttributeType));
        foreach (var f in type.GetFields(All)) found.Add(f.FieldType);
        foreach (var p in type.GetProperties(All)) found.Add(p.PropertyType);
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (m is MethodInfo mi) found.Add(mi.ReturnType);
            found.AddRange(m.GetParameters().Select(p => p.ParameterType));
            found.AddRange(BodyReferences(m));
        }
        return found.OfType<Type>().SelectMany(Expand).Distinct();
    }

    /// <summary>A type and what it is built from: element types and generic arguments.</summary>
    private static IEnumerable<Type> Expand(Type t)
    {
        yield return t;
        if (t.HasElementType)
            foreach (var e in Expand(t.GetElementType()!)) yield return e;
        if (t.IsGenericType)
            foreach (var a in t.GetGenericArguments().SelectMany(Expand)) yield return a;
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>The types that a method body's instructions name (calls, fields, casts, allocations, tokens).</summary>
    private static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        byte[]? il;
        try
        {
            il = method.GetMethodBody()?.GetILAsByteArray();
        }
        catch (Exception e) when (e is BadImageFormatException or InvalidOperationException)
        {
            yield break;
        }
        if (il is null) yield break;
        var module = method.Module;
        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method is MethodInfo { IsGenericMethod: true } g ? g.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            var op = OpCodesByValue[value];
            switch (op.OperandType)
            {
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineType or OperandType.InlineTok:
                    Type? t = null;
                    try
                    {
                        var member = module.ResolveMember(BitConverter.ToInt32(il, i), typeArgs, methodArgs);
                        t = member as Type ?? member?.DeclaringType;
                        if (member is FieldInfo fi) t = fi.DeclaringType;
                    }
                    catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException or FileNotFoundException)
                    {
                    }
                    if (t is not null) yield return t;
                    i += 4;
                    break;
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + 4 * BitConverter.ToInt32(il, i);
                    break;
                default:
                    i += 4;
                    break;
            }
        }
    }

    /// <summary>Tarjan's strongly connected components of the folder graph.</summary>
    private static List<HashSet<string>> StronglyConnected(Dictionary<(string From, string To), string> edges)
    {
        var nodes = edges.Keys.SelectMany(e => new[] { e.From, e.To }).Distinct().ToList();
        var next = nodes.ToDictionary(n => n, n => edges.Keys.Where(e => e.From == n).Select(e => e.To).ToList());
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<HashSet<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in next[v])
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }
            if (low[v] != index[v]) return;
            var component = new HashSet<string>();
            string x;
            do
            {
                x = stack.Pop();
                onStack.Remove(x);
                component.Add(x);
            } while (x != v);
            result.Add(component);
        }
        foreach (var n in nodes)
            if (!index.ContainsKey(n)) Visit(n);
        return result;
    }
}
