using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Hybrid.Cli.Bench;
using Hybrid.Experiments;
using Hybrid.Nn;
using Hybrid.Training.Algorithms;

namespace Hybrid.Cli.Eval;

/// <summary>
/// <c>hybrid eval RUN_DIR [--episodes N] [--greedy] [--seed S] [--json]</c>: loads the run's checkpoint and plays N
/// episodes on lanes seeded apart from training's; reports the mean return with a 95% bootstrap interval.
/// </summary>
public static class EvalCommand
{
    internal static Command Build()
    {
        var run = new Argument<string>("run") { Description = "The run folder (made by train; it holds checkpoint.bin)." };
        var episodes = new Option<int>("--episodes") { Description = "Episodes to play, one per env lane.", DefaultValueFactory = _ => 100 }.AtLeastOne();
        var greedy = new Option<bool>("--greedy") { Description = "Take the most likely action (a Gaussian's mean) instead of sampling the policy; Q-learning runs are greedy either way." };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of the lanes and action draws (default: one drawn from the run's seed, apart from the streams it trained on)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of the text." };
        var command = new Command("eval", "Play a trained policy from a run folder and report its mean return with a 95% confidence interval.")
        {
            run, episodes, greedy, seed, json,
        };
        command.SetAction(parse => Run(parse.GetValue(run)!, parse.GetValue(episodes), parse.GetValue(greedy), parse.GetValue(seed), parse.GetValue(json),
            Console.Out, Console.Error));
        return command;
    }

    /// <summary>The most episodes one evaluation plays (each is an env lane, all stepped together).</summary>
    public const int MaxEpisodes = 100_000;

    /// <summary>The seed an evaluation of a run with seed <paramref name="runSeed"/> uses by default: a stream training never draws from.</summary>
    public static ulong DefaultSeed(int runSeed) => new Rng((ulong)runSeed, RandomStreams.EvalSeed).NextUInt64();

    /// <summary>Evaluates and prints; returns the exit code (0, or 2 for bad input).</summary>
    internal static int Run(string directory, int episodes, bool greedy, ulong? seed, bool json, TextWriter stdout, TextWriter stderr)
    {
        TrainedPolicy policy;
        try
        {
            if (episodes is < 1 or > MaxEpisodes)
                throw new ArgumentOutOfRangeException(nameof(episodes), episodes, $"--episodes was {episodes}; expected 1 to {MaxEpisodes:N0} (one env lane each).");
            policy = TrainedPolicy.Load(directory);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FormatException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"eval: {ErrorText.Of(e)}");
            return 2;
        }
        ulong lanes = seed ?? DefaultSeed(policy.Config.Seed);
        var clock = Stopwatch.StartNew();
        double lastProgress = 0;
        EvaluationResult result = policy.Evaluate(episodes, greedy, lanes, done =>
        {
            if (json || clock.Elapsed.TotalSeconds - lastProgress < 1) return;
            lastProgress = clock.Elapsed.TotalSeconds;
            stderr.WriteLine($"eval: {done}/{episodes} episodes, {lastProgress:F0} s");
        });
        Estimate mean = Statistics.Bootstrap(result.Returns, Aggregate.Mean);
        string how = policy.Config is DdpgConfig ? "deterministic (mu without exploration noise)" : !policy.Stochastic ? "greedy on Q" : greedy ? "greedy" : "sampled";
        CheckpointData checkpoint = policy.Checkpoint;
        if (json)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("run", policy.Directory);
                w.WriteString("algo", policy.Config.Algo);
                w.WriteString("env", policy.Config.Env);
                w.WriteNumber("checkpoint_env_steps", checkpoint.EnvSteps);
                w.WriteNumber("episodes", episodes);
                w.WriteString("actions", how);
                w.WriteNumber("seed", lanes);
                w.WriteNumber("mean_return", mean.Value);
                w.WriteNumber("ci95_low", mean.Low);
                w.WriteNumber("ci95_high", mean.High);
                w.WriteNumber("min_return", result.Returns.Min());
                w.WriteNumber("max_return", result.Returns.Max());
                w.WriteNumber("mean_length", result.Lengths.Average());
                w.WriteNumber("seconds", Math.Round(clock.Elapsed.TotalSeconds, 3));
                w.WriteEndObject();
            }
            stdout.WriteLine(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
            return 0;
        }
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{policy.Config.Algo} {policy.Config.Env} seed {policy.Config.Seed}, checkpoint at {checkpoint.EnvSteps:N0} env steps ({policy.Directory})"));
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{episodes} episodes, {how} actions, lanes seeded from {lanes} (apart from training's): mean return {mean.Value:F1} " +
            $"(95% CI {mean.Low:F1} to {mean.High:F1}, bootstrap), min {result.Returns.Min():F1}, max {result.Returns.Max():F1}, " +
            $"mean length {result.Lengths.Average():F1} steps, {clock.Elapsed.TotalSeconds:F2} s"));
        return 0;
    }
}
