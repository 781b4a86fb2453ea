using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Hybrid.Gpu.Kernels;

/// <summary>
/// Every kernel Hybrid launches (the static methods of the kernel classes that take an <see cref="Index1D"/> first),
/// and their compilation to PTX without a GPU: what would only fail on a device (an unsupported call, a missing
/// intrinsic, a call the driver cannot resolve when it loads the module) fails here.
/// </summary>
internal static class KernelCatalog
{
    /// <summary>The kernels, by class and name: every static method of this assembly that takes an index first or is marked <see cref="KernelAttribute"/>.</summary>
    public static IReadOnlyList<MethodInfo> All { get; } =
        typeof(KernelCatalog).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.GetParameters() is [{ ParameterType: var first }, ..] && first == typeof(Index1D) || m.GetCustomAttribute<KernelAttribute>() is not null)
            .ToArray();

    /// <summary>
    /// The architectures Hybrid's kernels are checked for: Ampere (SM 8.0, A100), Ada (SM 8.9, L4/L40) and Hopper
    /// (SM 9.0, H100/H200), each with the first PTX ISA that knows it (PTX ISA 7.0 added sm_80, 7.8 sm_89 and sm_90).
    /// </summary>
    public static IReadOnlyList<(CudaArchitecture Architecture, CudaInstructionSet InstructionSet)> Architectures { get; } =
    [
        (CudaArchitecture.SM_80, CudaInstructionSet.ISA_70),
        (CudaArchitecture.SM_89, CudaInstructionSet.ISA_78),
        (CudaArchitecture.SM_90, CudaInstructionSet.ISA_78),
    ];

    /// <summary>A kernel's name as files and tests show it: Class.Method.</summary>
    public static string NameOf(MethodInfo kernel) => $"{kernel.DeclaringType!.Name}.{kernel.Name}";

    /// <summary>"sm_90" for SM 9.0.</summary>
    public static string NameOf(CudaArchitecture architecture) => $"sm_{architecture.Major}{architecture.Minor}";

    /// <summary>Compiles <paramref name="kernel"/> for <paramref name="architecture"/> (Hopper, SM 9.0, by default); returns the PTX text.</summary>
    public static string CompileToPtx(MethodInfo kernel, CudaArchitecture? architecture = null)
    {
        CudaArchitecture sm = architecture ?? CudaArchitecture.SM_90;
        CudaInstructionSet isa = Architectures.First(a => a.Architecture == sm).InstructionSet;
        using Context context = Context.Create(builder => builder.EnableAlgorithms());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(sm), sm, isa, nvvmAPI: null);
        EntryPointDescription entry = kernel.GetParameters()[0].ParameterType == typeof(Index1D)
            ? EntryPointDescription.FromImplicitlyGroupedKernel(kernel)
            : EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty);
        return compiled.PTXAssembly;
    }
}

/// <summary>Marks an explicitly grouped kernel (it takes no index; it reads Grid and Group itself) for <see cref="KernelCatalog"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class KernelAttribute : Attribute;

/// <summary>
/// What the CUDA driver needs of a PTX module to load it, read from its text: no <c>.extern</c> declaration but the
/// unsized shared array of dynamic shared memory, and every
/// <c>call</c> to a function the module defines (a <c>.func</c> with a body). An unresolved call makes cuModuleLoad
/// fail on every GPU, and only when the module is loaded, so it is checked here, on the text, without a GPU.
/// </summary>
internal static partial class PtxModule
{
    /// <summary>What would keep the driver from loading <paramref name="ptx"/>, one line each; empty when nothing would.</summary>
    public static IReadOnlyList<string> Problems(string ptx)
    {
        ArgumentNullException.ThrowIfNull(ptx);
        var problems = new List<string>();
        string code = LineComment().Replace(ptx, "");
        foreach (Match m in Extern().Matches(code))
        {
            // A kernel's dynamic shared memory is declared as an external shared array of no size; the launch sizes it.
            if (DynamicShared().IsMatch(m.Value)) continue;
            problems.Add($"declares an external symbol: {m.Value.Trim()}");
        }
        var defined = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match m in FunctionHead().Matches(code))
        {
            // The parameter list (if any) ends at its matching parenthesis; a body follows a definition, a ';' a declaration.
            int i = m.Index + m.Length;
            while (i < code.Length && char.IsWhiteSpace(code[i])) i++;
            if (i < code.Length && code[i] == '(')
            {
                int depth = 1;
                for (i++; i < code.Length && depth > 0; i++)
                {
                    if (code[i] == '(') depth++;
                    else if (code[i] == ')') depth--;
                }
            }
            while (i < code.Length && char.IsWhiteSpace(code[i])) i++;
            if (i < code.Length && code[i] == '{') defined.Add(m.Groups["name"].Value);
        }
        foreach (Match m in Call().Matches(code))
        {
            string target = m.Groups["target"].Value;
            if (target.StartsWith('%')) problems.Add($"calls through a register ({target}): an indirect call");
            else if (!defined.Contains(target)) problems.Add($"calls {target}, which the module does not define");
        }
        if (!code.Contains(".entry ", StringComparison.Ordinal)) problems.Add("has no kernel entry point (.entry)");
        return problems;
    }

    /// <summary>The <c>.target</c> line's architecture (sm_80), or "" when there is none.</summary>
    public static string Target(string ptx) => TargetLine().Match(ptx) is { Success: true } m ? m.Groups[1].Value : "";

    [GeneratedRegex(@"//[^\n]*")]
    private static partial Regex LineComment();

    [GeneratedRegex(@"\.extern\s[^;{]*;")]
    private static partial Regex Extern();

    [GeneratedRegex(@"^\.extern\s+\.shared\s[^;]*\[\]\s*;$")]
    private static partial Regex DynamicShared();

    [GeneratedRegex(@"\.func\s+(\([^)]*\)\s*)?(?<name>[A-Za-z_$][\w$]*)")]
    private static partial Regex FunctionHead();

    // call, call.uni; an optional return parameter list, then the target.
    [GeneratedRegex(@"\bcall(\.uni)?\s+(\([^)]*\)\s*,\s*)?(?<target>%?[A-Za-z_$][\w$]*)")]
    private static partial Regex Call();

    [GeneratedRegex(@"\.target\s+(sm_\w+)")]
    private static partial Regex TargetLine();
}

/// <summary>One kernel's PTX for one architecture, and what would keep the driver from loading it.</summary>
/// <param name="Kernel">Class.Method.</param>
/// <param name="Architecture">The architecture asked for (sm_90).</param>
/// <param name="Target">The module's .target line.</param>
/// <param name="Text">The PTX.</param>
/// <param name="Problems">One line per unloadable construct; empty when the driver could load it.</param>
public sealed record KernelPtx(string Kernel, string Architecture, string Target, string Text, IReadOnlyList<string> Problems)
{
    /// <summary>Every kernel compiled for every checked architecture (Ampere, Ada, Hopper), kernel by kernel.</summary>
    public static IEnumerable<KernelPtx> CompileAll()
    {
        foreach (MethodInfo kernel in KernelCatalog.All)
            foreach ((CudaArchitecture sm, _) in KernelCatalog.Architectures)
            {
                string text = KernelCatalog.CompileToPtx(kernel, sm);
                yield return new KernelPtx(KernelCatalog.NameOf(kernel), KernelCatalog.NameOf(sm), PtxModule.Target(text), text, PtxModule.Problems(text));
            }
    }
}
