using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Hybrid.Envs;
using Hybrid.Nn;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Replay;

namespace Hybrid.Cli.Bench;

/// <summary>
/// <c>hybrid bench replay</c>: how fast DQN's replay buffer takes transitions and gives batches, for an env's
/// observation size: inserts per second into a full buffer (each replacing the oldest), and transitions sampled per
/// second (draw, gather the batch; with prioritized replay also the importance weights and the priority updates a
/// learner makes after its step). Medians of several timed blocks after a warm-up; the table adds uniform replay as the
/// baseline when prioritized replay is measured.
/// </summary>
public static class ReplayBenchmark
{
    /// <summary>Figures from one run.</summary>
    /// <param name="Env">The env whose observation size the transitions have.</param>
    /// <param name="ObservationSize">Floats per observation.</param>
    /// <param name="BufferSize">Transitions held.</param>
    /// <param name="BatchSize">Transitions per batch.</param>
    /// <param name="Replay">uniform or prioritized.</param>
    /// <param name="InsertsPerSecond">Median transitions added per second.</param>
    /// <param name="SamplesPerSecond">Median transitions sampled (and gathered) per second.</param>
    /// <param name="Samples">Timed blocks of each.</param>
    public sealed record Result(string Env, int ObservationSize, int BufferSize, int BatchSize, ReplayKind Replay, double InsertsPerSecond,
        double SamplesPerSecond, int Samples);

    internal static Command BuildCommand()
    {
        var env = new Option<string>("--env") { Description = "Env whose observation size the transitions have.", DefaultValueFactory = _ => "CartPole-v1" };
        var buffer = new Option<int>("--buffer-size") { Description = "Transitions the buffer holds.", DefaultValueFactory = _ => 100_000 };
        var batch = new Option<int>("--batch-size") { Description = "Transitions per sampled batch.", DefaultValueFactory = _ => 32 };
        var replay = new Option<ReplayKind>("--replay") { Description = "uniform or prioritized.", DefaultValueFactory = _ => ReplayKind.Uniform };
        var samples = new Option<int>("--samples") { Description = "Timed blocks of each; the median is reported.", DefaultValueFactory = _ => 7 };
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of a table." };
        foreach (Option<int> o in new[] { buffer, batch, samples }) o.AtLeastOne();
        env.Validators.Add(r =>
        {
            string id = r.GetValueOrDefault<string>() ?? "";
            if (!EnvRegistry.Names.Contains(id)) r.AddError(EnvRegistry.UnknownMessage(id, "--env"));
        });
        var command = new Command("replay", "DQN's replay buffer: transitions inserted and sampled per second (uniform or prioritized).")
        {
            env, buffer, batch, replay, samples, json,
        };
        command.SetAction(parse =>
        {
            string id = parse.GetValue(env)!;
            int size = parse.GetValue(buffer), b = parse.GetValue(batch), k = parse.GetValue(samples);
            ReplayKind kind = parse.GetValue(replay);
            try
            {
                ReplayBuffer.BytesFor(size, EnvRegistry.Spec(id).ObservationSize);
                return BenchReport.Print(parse.GetValue(json), $"bench replay: {id}, {size:N0} transitions, batches of {b}, {Name(kind)}: measuring...",
                    () => Run(id, size, b, kind, k), () => Run(id, size, b, ReplayKind.Uniform, k), ToJson, ToTable);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"bench replay: {ErrorText.Of(e)}");
                return 2;
            }
        });
        return command;
    }

    /// <summary>One JSON line: <c>{"bench":"replay","env":..,"replay":..,"inserts_per_second":..,"samples_per_second":..}</c>.</summary>
    public static string ToJson(Result r) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"bench\":\"replay\",\"env\":\"{r.Env}\",\"observation_size\":{r.ObservationSize},\"buffer_size\":{r.BufferSize},\"batch_size\":{r.BatchSize},\"replay\":\"{Name(r.Replay)}\",\"inserts_per_second\":{r.InsertsPerSecond:0},\"samples_per_second\":{r.SamplesPerSecond:0}}}");

    static string Name(ReplayKind kind) => kind == ReplayKind.Prioritized ? "prioritized" : "uniform";

    static string ToTable(Result r, Result uniform) => string.Create(CultureInfo.InvariantCulture, $"""
        bench replay: {r.Env} ({r.ObservationSize} floats per observation), {r.BufferSize:N0} transitions, batches of {r.BatchSize}, median of {r.Samples} timed blocks
        {"replay",-12} {"inserts/s",14} {"samples/s",14}
        {Name(r.Replay),-12} {r.InsertsPerSecond,14:N0} {r.SamplesPerSecond,14:N0}{(r.Replay == ReplayKind.Uniform ? "" : $"\n{"uniform",-12} {uniform.InsertsPerSecond,14:N0} {uniform.SamplesPerSecond,14:N0}")}
        """);

    /// <summary>Measures a buffer of <paramref name="bufferSize"/> transitions of <paramref name="envId"/>'s observations.</summary>
    /// <exception cref="ArgumentException">Unknown env, or a size below 1.</exception>
    public static Result Run(string envId, int bufferSize, int batchSize, ReplayKind kind, int samples)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"samples was {samples}; expected at least 1.");
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batchSize was {batchSize}; expected at least 1.");
        int size = EnvRegistry.Spec(envId).ObservationSize;
        var buffer = new ReplayBuffer(bufferSize, size);
        PrioritizedReplay? priorities = kind == ReplayKind.Prioritized ? new PrioritizedReplay(buffer, 0.6) : null;
        var rng = new Rng(1, RandomStreams.ReplaySampling);
        // A few distinct observations, so the copies are of real data; the buffer is filled once before timing.
        float[][] observations = [.. Enumerable.Range(0, 8).Select(i => Enumerable.Range(0, size).Select(k => (float)((i * 31 + k) % 7)).ToArray())];
        long added = 0;
        void Insert(long count)
        {
            for (long i = 0; i < count; i++, added++)
                buffer.Add(observations[added & 7], (int)(added % 3), 1f, 0.99f, observations[(added + 1) & 7]);
        }
        Insert(bufferSize);
        int[] slots = new int[batchSize], actions = new int[batchSize];
        float[] weights = new float[batchSize], rewards = new float[batchSize], discounts = new float[batchSize], errors = new float[batchSize];
        float[] obs = new float[batchSize * size], next = new float[batchSize * size];
        void Sample(long batches)
        {
            for (long i = 0; i < batches; i++)
            {
                if (priorities is null) buffer.SampleUniform(rng, slots);
                else priorities.Sample(rng, 0.4, slots, weights);
                buffer.Gather(slots, obs, actions, rewards, discounts, next);
                if (priorities is null) continue;
                for (int j = 0; j < batchSize; j++) errors[j] = rng.NextFloat() * 2f;
                priorities.Update(slots, errors);
            }
        }
        // Blocks of about a tenth of a second at the rates measured during the warm-up.
        long insertBlock = Calibrate(Insert, 1_000), batchBlock = Calibrate(Sample, 100);
        var inserts = new double[samples];
        var sampled = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            inserts[s] = insertBlock / Timed(() => Insert(insertBlock));
            sampled[s] = batchBlock * batchSize / Timed(() => Sample(batchBlock));
        }
        Array.Sort(inserts);
        Array.Sort(sampled);
        return new Result(envId, size, bufferSize, batchSize, kind, inserts[samples / 2], sampled[samples / 2], samples);
    }

    static double Timed(Action work)
    {
        long start = Stopwatch.GetTimestamp();
        work();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>Doubles the count until one call takes 0.1 s; returns that count (the calls double as the warm-up).</summary>
    static long Calibrate(Action<long> work, long count)
    {
        while (Timed(() => work(count)) < 0.1 && count < 1L << 40) count *= 2;
        return count;
    }
}
