using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace TinyLlm.MLNet.Bridge;

/// <summary>
/// The one bridge to ML.NET's internal model persistence API.
/// </summary>
/// <remarks>
/// ML.NET 5.0.1 saves a transformer into a model zip only through internal members (<c>ModelSaveContext.Writer</c>,
/// <c>SetVersionInfo</c>, <c>SaveBinaryStream</c>, <c>VersionInfo</c>), and loads it back only through loaders
/// registered in a <see cref="ComponentCatalog"/> (<c>LoadableClassAttribute</c>, <c>LoadableClassInfo</c>,
/// <c>AddClass</c>, <c>ModelLoadContext</c>). Those are reached here by reflection, in this file alone, so that a
/// change in ML.NET breaks one place with one clear message (<see cref="VerifyInternals"/>). Microsoft.ML is pinned
/// to exactly 5.0.1 for that reason.
/// </remarks>
internal static class ModelPersistence
{
    private const BindingFlags AnyInstance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
    private const string PinnedVersion = "5.0.1";

    private static readonly Lazy<Internals> Api = new(Internals.Bind);
    private static readonly ConditionalWeakTable<ComponentCatalog, HashSet<Type>> Registered = new();

    /// <summary>
    /// Checks that every internal ML.NET member the bridge uses is where it was; throws a message naming the
    /// missing member otherwise.
    /// </summary>
    public static void VerifyInternals() => _ = Api.Value;

    /// <summary>Saves a <see cref="TinyLlmLoadableAttribute"/> transformer into <paramref name="ctx"/>.</summary>
    public static void Save(ModelSaveContext ctx, Type transformerType, Action<ModelPayloadWriter> write)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var api = Api.Value;
        var attr = LoadableAttribute(transformerType);
        api.SaveCheckAtModel.Invoke(ctx, null);
        api.SetVersionInfo.Invoke(ctx, [api.NewVersionInfo(transformerType, attr)]);
        var writer = (BinaryWriter)api.SaveWriter.GetValue(ctx)!;
        write(new ModelPayloadWriter(writer, (name, action) =>
            api.SaveBinaryStream.Invoke(ctx, [name, new Action<BinaryWriter>(w => { action(w.BaseStream); w.Flush(); })])));
        writer.Flush();
    }

    /// <summary>
    /// Registers the loaders of every <see cref="TinyLlmLoadableAttribute"/> class in <paramref name="assembly"/>,
    /// as loaders that pass a failing load's own exception to the caller.
    /// </summary>
    /// <remarks>
    /// Without this call ML.NET still finds TinyLlm.MLNet.Core's loaders through the woven <c>[LoadableClass]</c>
    /// attributes (tools/LoadableClassWeaver), but it calls those through reflection, so a failing load surfaces as
    /// a <see cref="TargetInvocationException"/> around the real error. The direct loaders go in first; the
    /// assembly's attributes are then registered without replacing them, which also stops ML.NET from registering
    /// the assembly again (and failing on the duplicate names) when it loads a model.
    /// </remarks>
    public static void Register(ComponentCatalog catalog, Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var api = Api.Value;
        var done = Registered.GetOrCreateValue(catalog);
        lock (done)
        {
            foreach (var type in assembly.GetTypes())
            {
                var attr = type.GetCustomAttribute<TinyLlmLoadableAttribute>();
                if (attr is null || !done.Add(type)) continue;
                api.AddLoader(catalog, type, attr);
            }
        }
        catalog.RegisterAssembly(assembly, throwOnError: false);
    }

    /// <summary>
    /// Loads a <typeparamref name="T"/> from ML.NET's model load context. Called by the <c>MLNetLoader.Create</c>
    /// method that tools/LoadableClassWeaver writes into each loadable class, which ML.NET finds through the
    /// woven <c>[assembly: LoadableClass]</c> attributes when nobody called <c>RegisterTinyLlm</c>.
    /// </summary>
    internal static T CreateFromLoadContext<T>(IHostEnvironment env, object ctx) where T : class => Loader<T>.Create(env, ctx);

    internal static TinyLlmLoadableAttribute LoadableAttribute(Type type) =>
        type.GetCustomAttribute<TinyLlmLoadableAttribute>()
        ?? throw new InvalidOperationException($"{type.FullName} has no [TinyLlmLoadable] attribute, so it cannot be saved into an ML.NET model.");

    /// <summary>
    /// The loader ML.NET calls, one closed type per transformer. Its context parameter is typed object because
    /// <c>ModelLoadContext</c> is internal; ML.NET invokes it through reflection with the context object.
    /// </summary>
    private static class Loader<T> where T : class
    {
        private static readonly Func<IHostEnvironment, ModelPayloadReader, T> Load = BindLoad();

        public static T Create(IHostEnvironment env, object ctx)
        {
            var api = Api.Value;
            var attr = LoadableAttribute(typeof(T));
            object header = api.LoadHeader.GetValue(ctx)!;
            uint version = (uint)api.HeaderModelVersion.GetValue(header)!;
            uint readable = (uint)api.HeaderModelReadableVersion.GetValue(header)!;
            // ML.NET's own version check blames ML.NET's version; the format here is TinyLlm's, so say so.
            if (readable > attr.Version)
                throw new FormatException($"The model zip's '{attr.LoaderSignature}' part was written by a newer TinyLlm.MLNet (format version {version}, readable from {readable}); this build reads up to version {attr.Version}. Update the TinyLlm.MLNet package.");
            if (version < attr.OldestReadableVersion)
                throw new FormatException($"The model zip's '{attr.LoaderSignature}' part has format version {version}, older than this build reads ({attr.OldestReadableVersion} to {attr.Version}). Retrain or re-save it with a matching TinyLlm.MLNet.");
            try
            {
                api.LoadCheckAtModel.Invoke(ctx, [api.NewVersionInfo(typeof(T), attr)]);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                throw new FormatException($"The model zip's '{attr.LoaderSignature}' part is not readable: {e.InnerException.Message}", e.InnerException);
            }
            var reader = (BinaryReader)api.LoadReader.GetValue(ctx)!;
            var payload = new ModelPayloadReader(reader, version, attr.LoaderSignature, (name, action) =>
            {
                try
                {
                    return (bool)api.TryLoadBinaryStream.Invoke(ctx, [name, new Action<BinaryReader>(r => action(r.BaseStream))])!;
                }
                catch (TargetInvocationException e) when (e.InnerException is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                    throw;
                }
            }, ZipPath(ctx));
            try
            {
                return Load(env, payload);
            }
            catch (EndOfStreamException e)
            {
                throw new FormatException($"{payload.ZipName} is truncated or damaged: its '{attr.LoaderSignature}' part ends early.", e);
            }
        }

        // ML.NET's load context keeps the repository it reads, a zip archive over the caller's stream; when that stream
        // is a file (mlContext.Model.Load(path)), errors can name it. Best effort, through private fields of ML.NET and
        // System.IO.Compression: null when they keep it elsewhere, and errors then say "the model zip".
        private static string? ZipPath(object ctx)
        {
            try
            {
                object? repository = ctx.GetType().GetField("Repository", AnyInstance)?.GetValue(ctx);
                object? archive = repository?.GetType().GetFields(AnyInstance)
                    .FirstOrDefault(f => f.FieldType == typeof(System.IO.Compression.ZipArchive))?.GetValue(repository);
                return archive?.GetType().GetFields(AnyInstance).Where(f => typeof(Stream).IsAssignableFrom(f.FieldType))
                    .Select(f => f.GetValue(archive)).OfType<FileStream>().FirstOrDefault()?.Name;
            }
            catch (Exception e) when (e is FieldAccessException or TargetException or NotSupportedException)
            {
                return null;
            }
        }

        private static Func<IHostEnvironment, ModelPayloadReader, T> BindLoad()
        {
            var method = typeof(T).GetMethod("Load", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic,
                [typeof(IHostEnvironment), typeof(ModelPayloadReader)]);
            if (method is null || method.ReturnType != typeof(T))
                throw new InvalidOperationException($"{typeof(T).FullName} must declare 'static {typeof(T).Name} Load(IHostEnvironment, ModelPayloadReader)'.");
            return method.CreateDelegate<Func<IHostEnvironment, ModelPayloadReader, T>>();
        }
    }

    /// <summary>The reflected ML.NET members, bound once.</summary>
    private sealed class Internals
    {
        public required MethodInfo SaveCheckAtModel { get; init; }
        public required MethodInfo SetVersionInfo { get; init; }
        public required MethodInfo SaveBinaryStream { get; init; }
        public required FieldInfo SaveWriter { get; init; }
        public required MethodInfo LoadCheckAtModel { get; init; }
        public required FieldInfo LoadReader { get; init; }
        public required FieldInfo LoadHeader { get; init; }
        public required FieldInfo HeaderModelVersion { get; init; }
        public required FieldInfo HeaderModelReadableVersion { get; init; }
        public required MethodInfo TryLoadBinaryStream { get; init; }
        public required ConstructorInfo VersionInfoCtor { get; init; }
        public required ConstructorInfo LoadableClassAttributeCtor { get; init; }
        public required ConstructorInfo LoadableClassInfoCtor { get; init; }
        public required MethodInfo AddClass { get; init; }
        public required FieldInfo CatalogLock { get; init; }
        public required Type SignatureLoadModel { get; init; }

        // The loader assembly is named by simple name: ML.NET loads it (Assembly.Load) before resolving the loader,
        // and a full name would pin the exact TinyLlm version that wrote the zip. ML.NET's header reader also
        // rejects a model that has neither a string table nor an assembly name, so one is always written.
        public object NewVersionInfo(Type type, TinyLlmLoadableAttribute attr) =>
            VersionInfoCtor.Invoke([attr.ModelSignature, attr.Version, attr.Version, attr.OldestReadableVersion,
                type.Assembly.GetName().Name, attr.LoaderSignature, null]);

        public void AddLoader(ComponentCatalog catalog, Type type, TinyLlmLoadableAttribute attr)
        {
            var target = typeof(Loader<>).MakeGenericType(type).GetMethod(nameof(Loader<object>.Create), BindingFlags.Static | BindingFlags.Public)!;
            var typed = target.CreateDelegate<Func<IHostEnvironment, object, object>>();
            var create = new DirectLoaderMethod(target, args => typed((IHostEnvironment)args[0]!, args[1]!));
            string[] names = [attr.LoaderSignature];
            // LoadableClassAttribute(instType, loaderType, argType, sigType, userName, loadNames)
            object classAttr = LoadableClassAttributeCtor.Invoke([type, target.DeclaringType, null, SignatureLoadModel, type.Name, names]);
            // LoadableClassInfo(attr, instanceGetter, ctor, create, requireEnvironment)
            object info = LoadableClassInfoCtor.Invoke([classAttr, null, null, create, true]);
            lock (CatalogLock.GetValue(catalog)!)
                AddClass.Invoke(catalog, [info, names, false]);
        }

        public static Internals Bind()
        {
            var core = typeof(ICanSaveModel).Assembly;
            var saveContext = typeof(ModelSaveContext);
            var loadContext = Need(core.GetType("Microsoft.ML.ModelLoadContext"), "type Microsoft.ML.ModelLoadContext");
            var versionInfo = Need(core.GetType("Microsoft.ML.VersionInfo"), "type Microsoft.ML.VersionInfo");
            var header = Need(core.GetType("Microsoft.ML.ModelHeader"), "type Microsoft.ML.ModelHeader");
            var loadableAttr = Need(core.GetType("Microsoft.ML.LoadableClassAttribute"), "type Microsoft.ML.LoadableClassAttribute");
            var loadableAttrBase = Need(core.GetType("Microsoft.ML.LoadableClassAttributeBase"), "type Microsoft.ML.LoadableClassAttributeBase");
            var classInfo = Need(typeof(ComponentCatalog).GetNestedType("LoadableClassInfo", BindingFlags.NonPublic | BindingFlags.Public), "type ComponentCatalog.LoadableClassInfo");
            return new Internals
            {
                SaveCheckAtModel = Need(saveContext.GetMethod("CheckAtModel", AnyInstance, Type.EmptyTypes), "ModelSaveContext.CheckAtModel()"),
                SetVersionInfo = Need(saveContext.GetMethod("SetVersionInfo", AnyInstance, [versionInfo]), "ModelSaveContext.SetVersionInfo(VersionInfo)"),
                SaveBinaryStream = Need(saveContext.GetMethod("SaveBinaryStream", AnyInstance, [typeof(string), typeof(Action<BinaryWriter>)]), "ModelSaveContext.SaveBinaryStream(string, Action<BinaryWriter>)"),
                SaveWriter = Need(saveContext.GetField("Writer", AnyInstance), "ModelSaveContext.Writer"),
                LoadCheckAtModel = Need(loadContext.GetMethod("CheckAtModel", AnyInstance, [versionInfo]), "ModelLoadContext.CheckAtModel(VersionInfo)"),
                LoadReader = Need(loadContext.GetField("Reader", AnyInstance), "ModelLoadContext.Reader"),
                LoadHeader = Need(loadContext.GetField("Header", AnyInstance), "ModelLoadContext.Header"),
                HeaderModelVersion = Need(header.GetField("ModelVerWritten", AnyInstance), "ModelHeader.ModelVerWritten"),
                HeaderModelReadableVersion = Need(header.GetField("ModelVerReadable", AnyInstance), "ModelHeader.ModelVerReadable"),
                TryLoadBinaryStream = Need(loadContext.GetMethod("TryLoadBinaryStream", AnyInstance, [typeof(string), typeof(Action<BinaryReader>)]), "ModelLoadContext.TryLoadBinaryStream(string, Action<BinaryReader>)"),
                VersionInfoCtor = Need(versionInfo.GetConstructor(AnyInstance, [typeof(string), typeof(uint), typeof(uint), typeof(uint), typeof(string), typeof(string), typeof(string)]), "VersionInfo(string, uint, uint, uint, string, string, string)"),
                LoadableClassAttributeCtor = Need(loadableAttr.GetConstructor(AnyInstance, [typeof(Type), typeof(Type), typeof(Type), typeof(Type), typeof(string), typeof(string[])]), "LoadableClassAttribute(Type, Type, Type, Type, string, string[])"),
                LoadableClassInfoCtor = Need(classInfo.GetConstructor(AnyInstance, [loadableAttrBase, typeof(MethodInfo), typeof(ConstructorInfo), typeof(MethodInfo), typeof(bool)]), "LoadableClassInfo(LoadableClassAttributeBase, MethodInfo, ConstructorInfo, MethodInfo, bool)"),
                AddClass = Need(typeof(ComponentCatalog).GetMethod("AddClass", AnyInstance, [classInfo, typeof(string[]), typeof(bool)]), "ComponentCatalog.AddClass(LoadableClassInfo, string[], bool)"),
                CatalogLock = Need(typeof(ComponentCatalog).GetField("_lock", AnyInstance), "ComponentCatalog._lock"),
                SignatureLoadModel = Need(core.GetType("Microsoft.ML.SignatureLoadModel"), "type Microsoft.ML.SignatureLoadModel"),
            };
        }

        private static T Need<T>(T? member, string what) where T : class =>
            member ?? throw new InvalidOperationException(
                $"TinyLlm.MLNet cannot save or load ML.NET models: ML.NET's internal member {what} was not found in " +
                $"Microsoft.ML {typeof(ICanSaveModel).Assembly.GetName().Version}. TinyLlm.MLNet is built against Microsoft.ML {PinnedVersion}; " +
                $"reference exactly that version.");
    }
}
