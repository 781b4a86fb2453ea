using System.Reflection;
using Hybrid.Gpu.Kernels;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Hybrid.Tests.Gpu;

/// <summary>
/// Every kernel compiles to PTX for Ampere, Ada and Hopper on a machine without a GPU, and the driver could load every
/// module: no external declaration, no call to a function the module does not define (read from the PTX's text).
/// </summary>
public sealed class PtxCompilationTests
{
    public static TheoryData<string, string> KernelsAndArchitectures()
    {
        var data = new TheoryData<string, string>();
        foreach (MethodInfo m in KernelCatalog.All)
            foreach ((CudaArchitecture sm, _) in KernelCatalog.Architectures) data.Add(KernelCatalog.NameOf(m), KernelCatalog.NameOf(sm));
        return data;
    }

    [Fact]
    public void TheCatalogHoldsEveryKernel()
    {
        string[] names = KernelCatalog.All.Select(KernelCatalog.NameOf).ToArray();
        Assert.Contains("EnvKernels.Step", names);
        Assert.Contains("ActorCriticKernels.Rollout", names);
        Assert.Contains("GradientKernels.Tiles", names);
        Assert.Contains("GradientKernels.Reduce", names);
        Assert.Contains("ActorCriticKernels.Predict", names);
        Assert.Contains("ActorCriticKernels.VTrace", names);
        Assert.Contains("MinAtarKernels.Step", names);
        Assert.Equal(names.Length, names.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(KernelsAndArchitectures))]
    public void KernelCompilesToPtxTheDriverCanLoad(string name, string architecture)
    {
        MethodInfo kernel = KernelCatalog.All.Single(m => KernelCatalog.NameOf(m) == name);
        CudaArchitecture sm = KernelCatalog.Architectures.Single(a => KernelCatalog.NameOf(a.Architecture) == architecture).Architecture;
        string ptx = KernelCatalog.CompileToPtx(kernel, sm);
        // ILGPU 1.5.3 writes .target sm_80 whatever newer architecture it is asked for; the driver compiles PTX for an
        // older target on any newer GPU, so what matters is that it is not newer than the GPU.
        string target = PtxModule.Target(ptx);
        Assert.Matches(@"^sm_\d+$", target);
        Assert.True(int.Parse(target[3..], System.Globalization.CultureInfo.InvariantCulture) <= int.Parse(architecture[3..], System.Globalization.CultureInfo.InvariantCulture),
            $"{name} targets {target}, newer than {architecture}");
        Assert.Contains(".visible .entry Kernel_" + kernel.Name, ptx);
        Assert.Empty(PtxModule.Problems(ptx));
        // No approximate transcendental where the CPU path computes exactly: tanh is a rational function, sin and cos
        // polynomials (DeviceMath), so the device and the CPU agree within the parity tests' tolerance.
        Assert.DoesNotContain("tanh.approx", ptx);
        Assert.DoesNotContain("sin.approx", ptx);
        Assert.DoesNotContain("cos.approx", ptx);
    }

    [Fact]
    public void TheDeviceFmaIsOneInstructionWhereMathFWouldBeAnUnresolvedCall()
    {
        string device = KernelCatalog.CompileToPtx(typeof(PtxCompilationTests).GetMethod(nameof(DeviceFmaKernel), BindingFlags.NonPublic | BindingFlags.Static)!);
        Assert.Contains("fma.rn.f32", device);
        Assert.Empty(PtxModule.Problems(device));

        // What the device path did before: the check has to catch it.
        string host = KernelCatalog.CompileToPtx(typeof(PtxCompilationTests).GetMethod(nameof(MathFFmaKernel), BindingFlags.NonPublic | BindingFlags.Static)!);
        IReadOnlyList<string> problems = PtxModule.Problems(host);
        Assert.Contains(problems, p => p.Contains("external symbol", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("FusedMultiplyAdd", StringComparison.Ordinal) && p.Contains("does not define", StringComparison.Ordinal));
    }

    static void DeviceFmaKernel(Index1D i, ArrayView<float> x) => x[i] = DeviceMath.Fma(x[i], 2f, 1f);

    static void MathFFmaKernel(Index1D i, ArrayView<float> x) => x[i] = MathF.FusedMultiplyAdd(x[i], 2f, 1f);

    [Fact]
    public void TheParserFindsEveryKindOfUnloadableCall()
    {
        const string header = ".version 7.8\n.target sm_90\n.address_size 64\n";
        const string defined = ".func (.param .b32 r) Helper(.param .b32 a)\n{\n\tret;\n}\n";
        const string entry = ".visible .entry Kernel_X(.param .u64 p)\n{\n";
        Assert.Empty(PtxModule.Problems(header + defined + entry + "\tcall.uni (r), Helper, (a);\n\tret;\n}\n"));
        // A declaration without a body, an extern, a call to nothing, a call through a register.
        Assert.Single(PtxModule.Problems(header + ".func (.param .b32 r) Helper(.param .b32 a);\n" + entry + "\tcall.uni (r), Helper, (a);\n}\n"));
        Assert.Equal(2, PtxModule.Problems(header + ".extern .func (.param .b32 r) F(.param .b32 a);\n" + entry + "\tcall (r), F, (a);\n}\n").Count);
        Assert.Single(PtxModule.Problems(header + defined + entry + "\tcall Missing, (a);\n}\n"));
        Assert.Single(PtxModule.Problems(header + defined + entry + "\tcall (r), %rd4, (a), proto;\n}\n"));
        // Dynamic shared memory is an unsized external shared array, which the launch sizes; a sized one, or a global, is not.
        Assert.Empty(PtxModule.Problems(header + ".extern .shared .align 8 .b8 __dyn_shared_alloca[];\n" + entry + "\tret;\n}\n"));
        Assert.Single(PtxModule.Problems(header + ".extern .shared .align 4 .b8 table[64];\n" + entry + "\tret;\n}\n"));
        Assert.Single(PtxModule.Problems(header + ".extern .global .align 4 .b8 table[];\n" + entry + "\tret;\n}\n"));
        // A call inside a comment is not a call.
        Assert.Empty(PtxModule.Problems(header + defined + entry + "\t// call Missing, (a);\n\tret;\n}\n"));
        Assert.Equal("sm_90", PtxModule.Target(header));
    }
}
