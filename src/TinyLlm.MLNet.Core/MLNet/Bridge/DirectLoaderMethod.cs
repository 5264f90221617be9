using System.Globalization;
using System.Reflection;

namespace TinyLlm.MLNet.Bridge;

/// <summary>
/// The loader method handed to ML.NET's component catalog. ML.NET calls a loader with
/// <see cref="MethodBase.Invoke(object, object[])"/>, which wraps every exception in a
/// <see cref="TargetInvocationException"/>; users would see "Exception has been thrown by the target of an
/// invocation" instead of what is wrong with their model file. This method calls the loader directly, so the
/// original exception (e.g. a <see cref="FormatException"/> naming the missing part) reaches the caller.
/// </summary>
internal sealed class DirectLoaderMethod : MethodInfo
{
    private readonly MethodInfo _target;
    private readonly Func<object?[], object> _invoke;

    public DirectLoaderMethod(MethodInfo target, Func<object?[], object> invoke)
    {
        _target = target;
        _invoke = invoke;
    }

    public override object? Invoke(object? obj, BindingFlags invokeAttr, Binder? binder, object?[]? parameters, CultureInfo? culture) =>
        _invoke(parameters ?? []);

    public override string Name => _target.Name;
    public override Type? DeclaringType => _target.DeclaringType;
    public override Type? ReflectedType => _target.ReflectedType;
    public override Type ReturnType => _target.ReturnType;
    public override MethodAttributes Attributes => _target.Attributes;
    public override RuntimeMethodHandle MethodHandle => _target.MethodHandle;
    public override ICustomAttributeProvider ReturnTypeCustomAttributes => _target.ReturnTypeCustomAttributes;
    public override MethodInfo GetBaseDefinition() => _target.GetBaseDefinition();
    public override ParameterInfo[] GetParameters() => _target.GetParameters();
    public override MethodImplAttributes GetMethodImplementationFlags() => _target.GetMethodImplementationFlags();
    public override object[] GetCustomAttributes(bool inherit) => _target.GetCustomAttributes(inherit);
    public override object[] GetCustomAttributes(Type attributeType, bool inherit) => _target.GetCustomAttributes(attributeType, inherit);
    public override bool IsDefined(Type attributeType, bool inherit) => _target.IsDefined(attributeType, inherit);
}
