using System.Reflection;
using Hybrid.Gpu.Kernels;

namespace Hybrid.Tests.Gpu;

/// <summary>Every kernel compiles to PTX (asked for SM 9.0, an H100/H200; PTX ISA 8.0) on a machine without a GPU.</summary>
public sealed class PtxCompilationTests
{
    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string>();
        foreach (MethodInfo m in KernelCatalog.All) data.Add($"{m.DeclaringType!.Name}.{m.Name}");
        return data;
    }

    [Fact]
    public void TheCatalogHoldsEveryKernel()
    {
        string[] names = KernelCatalog.All.Select(m => $"{m.DeclaringType!.Name}.{m.Name}").ToArray();
        Assert.Contains("EnvKernels.Step", names);
        Assert.Contains("ActorCriticKernels.Rollout", names);
        Assert.Contains("ActorCriticKernels.RmsPropStep", names);
        Assert.Contains("ActorCriticKernels.SquaredNorm", names);
        Assert.Contains("ActorCriticKernels.Predict", names);
        Assert.Contains("ActorCriticKernels.VTrace", names);
        Assert.Equal(10, names.Length);
    }

    [Theory]
    [MemberData(nameof(Kernels))]
    public void KernelCompilesToPtx(string name)
    {
        MethodInfo kernel = KernelCatalog.All.Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == name);
        string ptx = KernelCatalog.CompileToPtx(kernel);
        Assert.Contains(".target sm_", ptx);
        Assert.Contains(".visible .entry Kernel_" + kernel.Name, ptx);
        // No approximate transcendental where the CPU path computes exactly: tanh is a rational function, sin and cos
        // polynomials (DeviceMath), so the device and the CPU agree within the parity tests' tolerance.
        Assert.DoesNotContain("tanh.approx", ptx);
        Assert.DoesNotContain("sin.approx", ptx);
        Assert.DoesNotContain("cos.approx", ptx);
    }
}
