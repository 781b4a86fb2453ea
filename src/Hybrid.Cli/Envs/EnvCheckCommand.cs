using System.CommandLine;
using Hybrid.Envs;
using Hybrid.Envs.Checking;
using Hybrid.Envs.MinAtar;
using Hybrid.Envs.Simd;
using Hybrid.Gpu;

namespace Hybrid.Cli.Envs;

/// <summary>
/// <c>hybrid envcheck --env NAME [--reference FILE.csv]</c>: the contract checker on the env and, with a reference
/// file, a replay of its transitions. Exit code 0 when everything passes, 1 otherwise.
/// </summary>
public static class EnvCheckCommand
{
    internal static Command Build()
    {
        var env = new Option<string>("--env") { Description = $"Env to check: {string.Join(", ", EnvRegistry.Names)}.", Required = true };
        var reference = new Option<FileInfo?>("--reference")
        {
            Description = "CSV of reference transitions (columns seed, t, s*, a*, next_s*, next_obs*, reward, terminated, truncated) to replay.",
        };
        var conformance = new Option<FileInfo?>("--conformance")
        {
            Description = "MinAtar only: CSV of conformance episodes (columns game, seed, return, length, capped, checksum; " +
                "envs/reference/minatar/conformance_vectors.csv) to replay with lanes seeded like the reference package.",
        };
        var width = new Option<LaneWidth>("--width") { Description = "Lane group width to step at.", DefaultValueFactory = _ => LaneWidth.Auto };
        var device = new Option<string>("--device")
        {
            Description = "cpu (default): the CPU envs. cuda or ilgpu-cpu: the env kernels, lane for lane against the CPU env and on the reference file; auto: cuda when found, else cpu.",
            DefaultValueFactory = _ => "cpu",
        };
        var command = new Command("envcheck",
            "Check an env: the vector-env contract (spaces, bounds, determinism, auto-reset, time limit, bad actions) and, " +
            "with --reference, every transition of a reference file within relative 1e-4 or absolute 1e-5 (flags exact); " +
            "with --conformance (MinAtar), every episode of a conformance file exactly.")
        {
            env, reference, conformance, width, device,
        };
        command.SetAction(parse => Run(parse.GetValue(env)!, parse.GetValue(reference)?.FullName, parse.GetValue(width), Console.Out, Console.Error,
            parse.GetValue(conformance)?.FullName, parse.GetValue(device)!));
        return command;
    }

    /// <summary>Runs the checks, writes the report and returns the exit code.</summary>
    internal static int Run(string envId, string? referencePath, LaneWidth width, TextWriter output, TextWriter error, string? conformancePath = null,
        string device = "cpu")
    {
        try
        {
            EnvRegistry.Spec(envId);
            if (device != "cpu" && GpuDevices.Instance.Open(device, output.WriteLine) is IlgpuComputeDevice onDevice)
            {
                if (conformancePath is not null && !EnvRegistry.IsMinAtar(envId))
                    throw new ArgumentException($"--conformance: {envId} is not a MinAtar env; use --reference FILE.csv.");
                bool agrees = RunOnDevice(envId, referencePath, onDevice.Device, output);
                if (conformancePath is not null) agrees &= RunConformance(envId, conformancePath, output, onDevice.Device);
                return agrees ? 0 : 1;
            }
            bool minAtar = EnvRegistry.IsMinAtar(envId);
            if (referencePath is not null && minAtar)
                throw new ArgumentException($"--reference: {envId} has no reference transitions (its state is not a float vector); use --conformance FILE.csv.");
            if (conformancePath is not null && !minAtar)
                throw new ArgumentException($"--conformance: {envId} is not a MinAtar env; use --reference FILE.csv.");
            IReadOnlyList<string> problems = EnvChecker.Check(
                n => EnvRegistry.Make(envId, n, width), n => EnvRegistry.Make(envId, n, LaneWidth.Scalar));
            bool passed = Report(problems,
                $"{envId}: contract checks pass (spaces, bounds, determinism, lane/width/thread independence, auto-reset, episode log, time limit, bad actions)",
                $"{envId}: contract checks FAILED", referencePath, path => ReferenceCheck.Run(envId, path, width), output);
            if (conformancePath is not null) passed &= RunConformance(envId, conformancePath, output);
            return passed ? 0 : 1;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            error.WriteLine($"envcheck: {ErrorText.Of(e)}");
            return 1;
        }
    }

    /// <summary>The env kernels: lane for lane against the CPU env, and the reference file's transitions.</summary>
    static bool RunOnDevice(string envId, string? referencePath, IlgpuDevice device, TextWriter output)
    {
        var envs = new List<DeviceVectorEnv>();
        try
        {
            return Report(DeviceEnvCheck.CompareWithCpu(device, envId),
                $"{envId}: the {device.Info.Kind} kernels agree with the CPU env lane for lane (observations and rewards within relative 1e-4 or absolute 1e-5, flags and episodes exact, across auto-resets)",
                $"{envId}: the {device.Info.Kind} kernels DISAGREE with the CPU env", referencePath,
                path => ReferenceCheck.Run(envId, path, n =>
                {
                    var env = new DeviceVectorEnv(device, envId, n);
                    envs.Add(env);
                    return env;
                }), output);
        }
        finally
        {
            foreach (DeviceVectorEnv env in envs) env.Dispose();
        }
    }

    /// <summary>Prints the checks' outcome (a line, then each problem) and, given a reference file, its replay; returns whether all passed.</summary>
    static bool Report(IReadOnlyList<string> problems, string pass, string fail, string? referencePath, Func<string, ReferenceCheckResult> replay, TextWriter output)
    {
        output.WriteLine(problems.Count == 0 ? pass : fail);
        foreach (string p in problems) output.WriteLine($"  FAIL {p}");
        bool passed = problems.Count == 0;
        if (referencePath is not null)
        {
            ReferenceCheckResult result = replay(referencePath);
            output.WriteLine(ReferenceCheck.Format(result));
            passed &= result.Passed;
        }
        return passed;
    }

    /// <summary>Replays the file's rows for the env's game, on the CPU env or (given) the device's lanes; prints one line per row and a summary.</summary>
    static bool RunConformance(string envId, string path, TextWriter output, IlgpuDevice? device = null)
    {
        MinAtarGameInfo game = ((MinAtarEnv)EnvRegistry.Make(envId)).Game;
        IReadOnlyList<ConformanceRow> all = MinAtarConformance.Read(path);
        ConformanceRow[] rows = all.Where(r => r.Game == game.Name).ToArray();
        if (rows.Length == 0)
            throw new InvalidDataException($"{path}: no rows for game '{game.Name}' (the file has {all.Count} rows, of games {string.Join(", ", all.Select(r => r.Game).Distinct())}).");
        var envs = new List<DeviceMinAtarEnv>();
        ConformanceOutcome[] outcomes;
        try
        {
            outcomes = device is null ? MinAtarConformance.Run(game, rows) : MinAtarConformance.Run(game, rows, n =>
            {
                var env = new DeviceMinAtarEnv(device, MinAtarEnv.EnvId(game, minimalActions: false), n);
                envs.Add(env);
                return env;
            });
        }
        finally
        {
            foreach (DeviceMinAtarEnv env in envs) env.Dispose();
        }
        foreach (ConformanceOutcome o in outcomes)
        {
            ConformanceRow e = o.Expected;
            output.WriteLine(o.Matches
                ? $"  ok   {game.Name} seed {e.Seed}: return {o.Return}, length {o.Length}{(o.Capped ? " (capped)" : "")}, checksum {o.Checksum}"
                : $"  FAIL {game.Name} seed {e.Seed} (line {e.Line}): return {o.Return} (expected {e.Return}), length {o.Length} ({e.Length}), " +
                  $"capped {(o.Capped ? 1 : 0)} ({(e.Capped ? 1 : 0)}), checksum {o.Checksum} ({e.Checksum})");
        }
        int matched = outcomes.Count(o => o.Matches);
        output.WriteLine($"{envId}: {matched} of {outcomes.Length} conformance episodes match{(device is null ? "" : $" on {device.Info.Kind}")} (lanes seeded like the reference, sticky 0.1, " +
            $"ramping on, all six actions){(matched == outcomes.Length ? "" : " - FAILED")}");
        return matched == outcomes.Length;
    }
}
