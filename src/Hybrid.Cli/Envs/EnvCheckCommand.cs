using System.CommandLine;
using Hybrid.Envs;
using Hybrid.Envs.Checking;
using Hybrid.Envs.Simd;

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
        var width = new Option<LaneWidth>("--width") { Description = "Lane group width to step at.", DefaultValueFactory = _ => LaneWidth.Auto };
        var command = new Command("envcheck",
            "Check an env: the vector-env contract (spaces, bounds, determinism, auto-reset, time limit, bad actions) and, " +
            "with --reference, every transition of a reference file within relative 1e-4 or absolute 1e-5 (flags exact).")
        {
            env, reference, width,
        };
        command.SetAction(parse => Run(parse.GetValue(env)!, parse.GetValue(reference)?.FullName, parse.GetValue(width), Console.Out, Console.Error));
        return command;
    }

    /// <summary>Runs the checks, writes the report and returns the exit code.</summary>
    internal static int Run(string envId, string? referencePath, LaneWidth width, TextWriter output, TextWriter error)
    {
        try
        {
            EnvRegistry.Spec(envId);
            IReadOnlyList<string> problems = EnvChecker.Check(
                n => EnvRegistry.Make(envId, n, width), n => EnvRegistry.Make(envId, n, LaneWidth.Scalar));
            output.WriteLine(problems.Count == 0
                ? $"{envId}: contract checks pass (spaces, bounds, determinism, lane/width/thread independence, auto-reset, episode log, time limit, bad actions)"
                : $"{envId}: contract checks FAILED");
            foreach (string p in problems) output.WriteLine($"  FAIL {p}");
            bool passed = problems.Count == 0;
            if (referencePath is not null)
            {
                ReferenceCheckResult result = ReferenceCheck.Run(envId, referencePath, width);
                output.WriteLine(ReferenceCheck.Format(result));
                passed &= result.Passed;
            }
            return passed ? 0 : 1;
        }
        catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException)
        {
            error.WriteLine($"envcheck: {ErrorText.Of(e)}");
            return 1;
        }
    }
}
