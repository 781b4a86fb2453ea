using System.Reflection;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Hybrid.Gpu.Kernels;

/// <summary>
/// Every kernel Hybrid launches (the static methods of the kernel classes that take an <see cref="Index1D"/> first),
/// and their compilation to PTX without a GPU: what would only fail on a device (an unsupported call, a missing
/// intrinsic) fails here.
/// </summary>
internal static class KernelCatalog
{
    /// <summary>The kernels, by class and name.</summary>
    public static IReadOnlyList<MethodInfo> All { get; } =
        new[] { typeof(EnvKernels), typeof(ActorCriticKernels) }
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(m => m.GetParameters() is [{ ParameterType: var first }, ..] && first == typeof(Index1D))
            .ToArray();

    /// <summary>Compiles <paramref name="kernel"/> for <paramref name="architecture"/> (Hopper, SM 9.0, by default); returns the PTX text.</summary>
    public static string CompileToPtx(MethodInfo kernel, CudaArchitecture? architecture = null)
    {
        CudaArchitecture sm = architecture ?? CudaArchitecture.SM_90;
        using Context context = Context.Create(builder => builder.EnableAlgorithms());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(sm), sm, CudaInstructionSet.ISA_80, nvvmAPI: null);
        var entry = EntryPointDescription.FromImplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
        return compiled.PTXAssembly;
    }
}
