using Hybrid.Envs.MinAtar;
using System.CommandLine;
using System.Globalization;
using Hybrid.Envs.Checking;
using Hybrid.Gpu;
using Hybrid.Gpu.Kernels;
using Hybrid.Training.Devices;

namespace Hybrid.Cli.Device;

/// <summary>
/// <c>hybrid devicecheck [--device D] [--references DIR] [--json]</c> (or <c>--ptx DIR</c>, or <c>--plan [--config FILE]</c>): the device kernels against Hybrid's CPU path, on
/// the device itself (what the test suite checks on ILGPU's CPU accelerator, runnable on a GPU machine without the .NET
/// SDK): every device env lane for lane against the CPU env and on its reference file, and A2C's network kernels
/// (forward, gradient, RMSProp step) against the CPU network. Exit code 0 when all agree, 1 otherwise, 2 when there is
/// no device to check.
/// </summary>
public static class DeviceCheckCommand
{
    internal static Command Build()
    {
        var device = new Option<string>("--device")
        {
            Description = "The device to check: cuda, ilgpu-cpu, or auto (cuda when found).", DefaultValueFactory = _ => "auto",
        };
        var references = new Option<DirectoryInfo>("--references")
        {
            Description = "Folder of reference transition files (ENV.csv), replayed on the device.",
            DefaultValueFactory = _ => new DirectoryInfo(Path.Combine("envs", "reference")),
        };
        var json = new Option<bool>("--json") { Description = "One JSON line per check instead of text." };
        var ptx = new Option<DirectoryInfo?>("--ptx")
        {
            Description = "Write every kernel's PTX for each checked architecture into this folder (KERNEL.sm_XX.ptx) and check the driver could load it; needs no GPU.",
        };
        var plan = new Option<bool>("--plan")
        {
            Description = "Print the cost model of A2C's device kernels (launch shape, bytes, multiply-adds, estimates for an H200 and an A100); with a device, time each kernel beside it.",
        };
        var config = new Option<string>("--config") { Description = "With --plan: an A2C config file (default: CartPole-v1 at 4,096 and 65,536 lanes)." };
        var command = new Command("devicecheck",
            "Check the device kernels against the CPU path: each env lane for lane and on its reference file, A2C's network (values, logits, gradient, RMSProp step).")
        {
            device, references, json, ptx, plan, config,
        };
        command.SetAction(parse =>
        {
            if (parse.GetValue(config) is not null && !parse.GetValue(plan))
            {
                Console.Error.WriteLine("devicecheck: --config goes with --plan.");
                return 2;
            }
            if (parse.GetValue(ptx) is { } folder) return WritePtx(folder.FullName, parse.GetValue(json), Console.Out, Console.Error);
            if (parse.GetValue(plan))
                return DevicePlan.Run(parse.GetValue(config), parse.GetValue(device)!, parse.GetResult(device) is { Implicit: false }, parse.GetValue(json), Console.Out, Console.Error);
            return Run(parse.GetValue(device)!, parse.GetValue(references)!.FullName, parse.GetValue(json), Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>
    /// Compiles every kernel for every checked architecture into <paramref name="folder"/>, one file each, and checks
    /// each module as the driver would load it (no external declaration, no call to a function it does not define).
    /// Exit code 0 when every module would load, 1 otherwise, 2 when the folder cannot be written.
    /// </summary>
    internal static int WritePtx(string folder, bool json, TextWriter output, TextWriter error)
    {
        try
        {
            Directory.CreateDirectory(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"devicecheck: --ptx '{folder}' cannot be written ({e.Message}); expected a folder this user may create files in.");
            return 2;
        }
        bool passed = true;
        int files = 0;
        foreach (KernelPtx module in KernelPtx.CompileAll())
        {
            string name = $"{module.Kernel}.{module.Architecture}";
            File.WriteAllText(Path.Combine(folder, name + ".ptx"), module.Text);
            files++;
            bool ok = module.Problems.Count == 0;
            passed &= ok;
            if (json)
                output.WriteLine($"{{\"check\":\"ptx\",\"kernel\":\"{module.Kernel}\",\"architecture\":\"{module.Architecture}\",\"target\":\"{module.Target}\"," +
                    $"\"bytes\":{module.Text.Length},\"problems\":{module.Problems.Count},\"passed\":{(ok ? "true" : "false")}}}");
            else
            {
                output.WriteLine($"{(ok ? "ok  " : "FAIL")} {name}.ptx ({module.Text.Length.ToString("N0", CultureInfo.InvariantCulture)} bytes, .target {module.Target})");
                foreach (string p in module.Problems) output.WriteLine($"       {p}");
            }
        }
        if (!json)
            output.WriteLine(passed ? $"devicecheck: {files} PTX modules in {folder}; the driver could load every one."
                : $"devicecheck: {files} PTX modules in {folder}; some would NOT load (above).");
        return passed ? 0 : 1;
    }

    /// <summary>Runs every check; returns the exit code.</summary>
    internal static int Run(string device, string referenceFolder, bool json, TextWriter output, TextWriter error)
    {
        IComputeDevice opened;
        try
        {
            opened = GpuDevices.Instance.Open(device, error.WriteLine);
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"devicecheck: {ErrorText.Of(e)}");
            return 2;
        }
        if (opened is not IlgpuComputeDevice onDevice)
        {
            error.WriteLine("devicecheck: no device kernels to check on this machine; --device ilgpu-cpu checks them on ILGPU's CPU accelerator.");
            return 2;
        }
        var inv = CultureInfo.InvariantCulture;
        bool passed = true;
        foreach (string env in DeviceEnvs.Supported)
        {
            IReadOnlyList<string> problems = DeviceEnvCheck.CompareWithCpu(onDevice.Device, env);
            string path = Path.Combine(referenceFolder, env + ".csv");
            ReferenceCheckResult? reference = null;
            if (File.Exists(path))
            {
                using var lanes = new DisposableList<DeviceVectorEnv>();
                reference = ReferenceCheck.Run(env, path, n => lanes.Add(new DeviceVectorEnv(onDevice.Device, env, n)));
            }
            bool ok = problems.Count == 0 && reference?.Passed != false;
            passed &= ok;
            if (json)
            {
                string replay = reference is null ? "null" : string.Create(inv,
                    $"{{\"rows\":{reference.Rows},\"passed\":{(reference.Passed ? "true" : "false")},\"max_abs_error\":{reference.Quantities.Max(q => q.MaxAbsoluteError):G3}}}");
                output.WriteLine(string.Create(inv,
                    $"{{\"check\":\"env\",\"device\":\"{onDevice.Info.Kind}\",\"env\":\"{env}\",\"lanes_agree\":{(problems.Count == 0 ? "true" : "false")},\"reference\":{replay},\"passed\":{(ok ? "true" : "false")}}}"));
            }
            else
            {
                string replay = reference is null ? $" (no reference file at {path})"
                    : $", {reference.Rows} reference transitions {(reference.Passed ? "within tolerance" : "FAILED")}";
                output.WriteLine($"{(ok ? "ok  " : "FAIL")} {env}: lanes {(problems.Count == 0 ? "agree with the CPU env" : "DISAGREE")}{replay}");
                foreach (string p in problems) output.WriteLine($"       {p}");
                if (reference is { Passed: false }) output.WriteLine(ReferenceCheck.Format(reference));
            }
        }
        string conformancePath = Path.Combine(referenceFolder, "minatar", "conformance_vectors.csv");
        IReadOnlyList<ConformanceRow>? conformance = File.Exists(conformancePath) ? MinAtarConformance.Read(conformancePath) : null;
        foreach (MinAtarGameInfo game in MinAtarGames.All)
        {
            string env = MinAtarEnv.EnvId(game, minimalActions: true);
            IReadOnlyList<string> problems = DeviceEnvCheck.CompareWithCpu(onDevice.Device, env);
            ConformanceRow[] rows = conformance?.Where(r => r.Game == game.Name).ToArray() ?? [];
            int matched = 0;
            if (rows.Length > 0)
            {
                using var lanes = new DisposableList<DeviceMinAtarEnv>();
                matched = MinAtarConformance.Run(game, rows, n => lanes.Add(new DeviceMinAtarEnv(onDevice.Device, MinAtarEnv.EnvId(game, minimalActions: false), n)))
                    .Count(o => o.Matches);
            }
            bool ok = problems.Count == 0 && matched == rows.Length;
            passed &= ok;
            output.WriteLine(json
                ? string.Create(inv, $"{{\"check\":\"minatar\",\"device\":\"{onDevice.Info.Kind}\",\"env\":\"{env}\",\"lanes_agree\":{(problems.Count == 0 ? "true" : "false")},\"conformance_rows\":{rows.Length},\"conformance_matched\":{matched},\"passed\":{(ok ? "true" : "false")}}}")
                : $"{(ok ? "ok  " : "FAIL")} {env}: lanes {(problems.Count == 0 ? "agree with the CPU env" : "DISAGREE")}, " +
                  (rows.Length == 0 ? $"no conformance file at {conformancePath}" : $"{matched} of {rows.Length} conformance episodes match"));
            if (!json) foreach (string p in problems) output.WriteLine($"       {p}");
        }
        foreach (NetworkCase check in NetworkCase.Standard)
        {
            NetworkParity parity = DeviceNetworkCheck.Run(onDevice, check);
            passed &= parity.Passed;
            output.WriteLine(json ? parity.ToJson() : string.Create(inv,
                $"{(parity.Passed ? "ok  " : "FAIL")} network {check}: forward {parity.ForwardError:G3}, gradient {parity.GradientError:G3} of its norm, step {parity.StepError:G3} beyond tolerance"));
        }
        foreach (string env in DevicePredictorCheck.Standard)
        {
            PredictorParity parity = DevicePredictorCheck.Run(onDevice, env);
            passed &= parity.Passed;
            output.WriteLine(json ? parity.ToJson() : string.Create(inv,
                $"{(parity.Passed ? "ok  " : "FAIL")} predictor {env}: {parity.Rows} rows' logits and values, {parity.Error:G3} beyond tolerance"));
        }
        foreach (LearnerCase check in LearnerCase.Standard)
        {
            LearnerParity parity = DeviceLearnerCheck.Run(onDevice, check);
            passed &= parity.Passed;
            output.WriteLine(json ? parity.ToJson() : string.Create(inv,
                $"{(parity.Passed ? "ok  " : "FAIL")} learner {check}: gradient {parity.GradientError:G3} of its norm, loss terms {parity.TermsError:G3} beyond tolerance ({parity.Samples} samples, {parity.Clipped} clipped, {parity.Truncations} truncated)"));
        }
        if (!json) output.WriteLine(passed ? $"devicecheck: the {onDevice.Info.Kind} kernels agree with the CPU path." : $"devicecheck: the {onDevice.Info.Kind} kernels DISAGREE with the CPU path.");
        return passed ? 0 : 1;
    }

    /// <summary>Collects what a check creates and disposes it at the end.</summary>
    sealed class DisposableList<T> : IDisposable where T : IDisposable
    {
        readonly List<T> _items = [];

        public T Add(T item)
        {
            _items.Add(item);
            return item;
        }

        public void Dispose()
        {
            foreach (T item in _items) item.Dispose();
        }
    }
}
