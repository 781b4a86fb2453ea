using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Hybrid.Envs;
using Hybrid.Envs.Simd;
using Hybrid.Gpu;

namespace Hybrid.Cli.Bench;

/// <summary>
/// <c>hybrid bench env</c>: environment steps per second for N lanes under random actions, auto-reset and the episode
/// log included (drained every step, as a trainer does). Actions come from 16 pre-drawn buffers used in turn, so the
/// timing is of the env, not of a random-number generator. The figure is the median of several timed blocks after a
/// warm-up; the table adds the same env on the scalar path and one thread, measured in the same run.
/// </summary>
public static class EnvBenchmark
{
    /// <summary>Figures from one run.</summary>
    /// <param name="Env">The env.</param>
    /// <param name="NumEnvs">Lanes, N.</param>
    /// <param name="Threads">Cores a step could use.</param>
    /// <param name="Width">Lane group width.</param>
    /// <param name="StepsPerSecond">Median lane-steps per second.</param>
    /// <param name="Samples">Timed blocks.</param>
    /// <param name="Device">cpu, or the device whose kernels stepped the lanes (then Threads and Width describe nothing).</param>
    /// <param name="CompileSeconds">Seconds the device's env kernels took to compile (0 on the CPU).</param>
    /// <param name="Interrupted">A signal stopped the measurement: the figure is over the blocks timed so far (or the calibration's).</param>
    public sealed record Result(string Env, int NumEnvs, int Threads, LaneWidth Width, double StepsPerSecond, int Samples, string Device = "cpu",
        double CompileSeconds = 0, bool Interrupted = false);

    const int ActionBuffers = 4;
    const ulong Seed = 1;
    /// <summary>Lane-steps per timed block: about 0.1 s at the fast figures, enough to swamp timer noise.</summary>
    const long LaneStepsPerBlock = 30_000_000;

    internal static Command BuildCommand()
    {
        var env = new Option<string>("--env") { Description = $"Env to step: {string.Join(", ", EnvRegistry.Names)}.", DefaultValueFactory = _ => "CartPole-v1" };
        var numEnvs = new Option<int>("--num-envs") { Description = "Lanes stepped together, N.", DefaultValueFactory = _ => 16384 };
        var threads = new Option<int>("--threads")
        {
            Description = $"Cores a step may use; lanes are split in chunks of at least {VectorEnv.MinLanesPerThread}. Default: all cores.",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var samples = new Option<int>("--samples") { Description = "Timed blocks; the median is reported.", DefaultValueFactory = _ => 7 };
        var width = new Option<LaneWidth>("--width") { Description = "Lane group width.", DefaultValueFactory = _ => LaneWidth.Auto };
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of a table." };
        var device = new Option<string>("--device")
        {
            Description = "cpu (default), or cuda / ilgpu-cpu: the env kernels stepping the lanes with random actions drawn on the device, nothing copied back; the baseline row is then the CPU path on all cores.",
            DefaultValueFactory = _ => "cpu",
        };
        foreach (Option<int> o in new[] { numEnvs, threads, samples }) o.AtLeastOne();
        env.Validators.Add(r =>
        {
            string id = r.GetValueOrDefault<string>() ?? "";
            if (!EnvRegistry.Names.Contains(id)) r.AddError(EnvRegistry.UnknownMessage(id, "--env"));
        });
        var command = new Command("env", "Environment steps per second for N lanes under random actions (auto-reset and episode log included).")
        {
            env, numEnvs, threads, samples, width, json, device,
        };
        command.SetAction(parse =>
        {
            string id = parse.GetValue(env)!;
            int n = parse.GetValue(numEnvs), t = parse.GetValue(threads), k = parse.GetValue(samples);
            LaneWidth w = parse.GetValue(width);
            string where = parse.GetValue(device)!;
            if (where != "cpu")
            {
                IlgpuDevice? onDevice = null;
                try
                {
                    if (GpuDevices.Instance.Open(where, Console.Error.WriteLine) is not IlgpuComputeDevice ilgpu) where = "cpu";
                    else onDevice = ilgpu.Device;
                    DeviceEnvs.Require(id);
                }
                catch (ArgumentException e)
                {
                    Console.Error.WriteLine($"bench env: {ErrorText.Of(e)}");
                    return 2;
                }
                if (onDevice is not null)
                {
                    // A signal (Ctrl-C, or a time limit's SIGINT) ends the timed blocks; the figure so far is printed.
                    bool stopped = false;
                    using var signals = new StopSignals(_ => Volatile.Write(ref stopped, true));
                    int code = BenchReport.Print(parse.GetValue(json), $"bench env: {id}, N = {n} on {where}: measuring, then the CPU path...",
                        () => RunOnDevice(id, n, k, onDevice, () => Volatile.Read(ref stopped)), () => Run(id, n, Environment.ProcessorCount, k), ToJson, ToTable);
                    return signals.Signal != 0 ? 128 + signals.Signal : code;
                }
            }
            return BenchReport.Print(parse.GetValue(json), $"bench env: {id}, N = {n}: measuring, then the scalar one-thread baseline...",
                () => Run(id, n, t, k, w), () => Run(id, n, 1, k, LaneWidth.Scalar), ToJson, ToTable);
        });
        return command;
    }

    /// <summary>One JSON line: <c>{"bench":"env","env":..,"num_envs":..,"threads":..,"steps_per_second":..}</c>.</summary>
    public static string ToJson(Result r) => r.Device == "cpu"
        ? string.Create(CultureInfo.InvariantCulture,
            $"{{\"bench\":\"env\",\"env\":\"{r.Env}\",\"num_envs\":{r.NumEnvs},\"threads\":{r.Threads},\"steps_per_second\":{r.StepsPerSecond:0}}}")
        : string.Create(CultureInfo.InvariantCulture,
            $"{{\"bench\":\"env\",\"env\":\"{r.Env}\",\"num_envs\":{r.NumEnvs},\"device\":\"{r.Device}\",\"steps_per_second\":{r.StepsPerSecond:0},\"compile_seconds\":{r.CompileSeconds:0.###}{(r.Interrupted ? $",\"interrupted\":true,\"samples\":{r.Samples}" : "")}}}");

    static string ToTable(Result r, Result scalar)
    {
        // MinAtar lanes run the same per-lane code at every width, so only the thread count distinguishes the rows.
        bool minAtar = EnvRegistry.IsMinAtar(r.Env);
        string path = r.Device != "cpu" ? $"{r.Device} kernels" : minAtar ? $"{r.Threads} thread(s)" : $"{r.Width}, {r.Threads} thread(s)";
        string baseline = r.Device != "cpu" ? $"cpu {scalar.Width}, {scalar.Threads} thread(s)" : minAtar ? "1 thread" : "scalar, 1 thread";
        string scale = minAtar
            ? "For scale, the reference MinAtar Python package stepping one env on Hybrid's 2-core development machine (Nov 2026):\n" +
              "147k steps/s (Breakout), 125k (Asterix), 106k (Seaquest), 70k (Freeway) and 23k (Space Invaders)."
            : "For scale, Gymnasium 0.29.1 (numpy 1.24) on Hybrid's 2-core development machine (2026-11-21), CartPole-v1: 29.7M\n" +
              "steps/s for its numpy CartPoleVectorEnv at N = 16384 and 223k for one gym.make env.";
        return string.Create(CultureInfo.InvariantCulture, $"""
            bench env: {r.Env}, N = {r.NumEnvs}, random actions, median of {r.Samples} timed blocks
            {"path",-28} {"steps/s",16} {"speedup",8}
            {path,-28} {r.StepsPerSecond,16:N0} {r.StepsPerSecond / scalar.StepsPerSecond,7:0.0##}x
            {baseline,-28} {scalar.StepsPerSecond,16:N0} {1,7:0.0}x{(r.Device != "cpu" ? $"\n{r.Device} env kernels compiled in {r.CompileSeconds:F2} s (not timed)." : "")}
            {scale}
            """);
    }

    /// <summary>Measures <paramref name="envId"/> with <paramref name="numEnvs"/> lanes, about <paramref name="laneStepsPerBlock"/> lane-steps per timed block.</summary>
    /// <exception cref="ArgumentException">Unknown env, or numEnvs, threads or samples below 1.</exception>
    public static Result Run(string envId, int numEnvs, int threads, int samples, LaneWidth width = LaneWidth.Auto,
        long laneStepsPerBlock = LaneStepsPerBlock)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"samples was {samples}; expected at least 1.");
        VectorEnv env = EnvRegistry.Make(envId, numEnvs, width);
        env.Threads = threads;
        env.Reset(Seed);
        var stepper = new Stepper(env);
        long stepsPerBlock = Math.Max(10, laneStepsPerBlock / numEnvs / (width == LaneWidth.Scalar ? 8 : 1));
        stepper.Run(Math.Max(stepsPerBlock / 2, 20)); // warm-up: tiered compilation reaches its optimized code
        var rates = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            long start = Stopwatch.GetTimestamp();
            stepper.Run(stepsPerBlock);
            rates[s] = stepsPerBlock * (double)numEnvs / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        return new Result(envId, numEnvs, threads, env.Width, BenchReport.Median(rates), samples);
    }

    /// <summary>
    /// The env kernels on <paramref name="device"/>: N lanes stepped with random actions drawn on the device and nothing
    /// copied back, each timed block long enough (at least 0.2 s, found by doubling) to swamp launch and timer noise.
    /// </summary>
    public static Result RunOnDevice(string envId, int numEnvs, int samples, IlgpuDevice device, Func<bool>? stopped = null)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"samples was {samples}; expected at least 1.");
        stopped ??= static () => false;
        long compileStart = Stopwatch.GetTimestamp();
        using DeviceLanes env = DeviceEnvs.Open(device, envId, numEnvs);
        double compile = Stopwatch.GetElapsedTime(compileStart).TotalSeconds;
        env.Reset(Seed, 0);
        int steps = 1;
        double calibration;
        for (; ; steps *= 2)
        {
            long start = Stopwatch.GetTimestamp();
            env.StepRandom(steps);
            env.Synchronize();
            double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
            calibration = steps * (double)numEnvs / elapsed;
            if (elapsed >= 0.2 || steps >= 1 << 20 || stopped()) break;
        }
        var rates = new List<double>(samples);
        for (int s = 0; s < samples && !stopped(); s++)
        {
            long start = Stopwatch.GetTimestamp();
            env.StepRandom(steps);
            env.Synchronize();
            rates.Add(steps * (double)numEnvs / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        double rate = rates.Count > 0 ? BenchReport.Median([.. rates]) : calibration;
        return new Result(envId, numEnvs, 1, LaneWidth.Scalar, rate, rates.Count, device.Info.Kind, compile, Interrupted: rates.Count < samples);
    }

    /// <summary>Steps an env with pre-drawn random actions.</summary>
    sealed class Stepper
    {
        readonly VectorEnv _env;
        readonly int[][] _discrete = [];
        readonly float[][] _continuous = [];
        int _next;

        public Stepper(VectorEnv env)
        {
            _env = env;
            var random = new Random(1);
            int n = env.NumEnvs;
            if (env.Spec.ActionSpace is DiscreteSpace d)
            {
                _discrete = new int[ActionBuffers][];
                for (int b = 0; b < ActionBuffers; b++)
                {
                    _discrete[b] = new int[n];
                    for (int i = 0; i < n; i++) _discrete[b][i] = random.Next(d.N);
                }
            }
            else
            {
                var box = (BoxSpace)env.Spec.ActionSpace;
                _continuous = new float[ActionBuffers][];
                for (int b = 0; b < ActionBuffers; b++)
                {
                    _continuous[b] = new float[n * box.Size];
                    for (int k = 0; k < _continuous[b].Length; k++)
                        _continuous[b][k] = box.Low[k % box.Size] + (box.High[k % box.Size] - box.Low[k % box.Size]) * random.NextSingle();
                }
            }
        }

        public void Run(long steps)
        {
            for (long s = 0; s < steps; s++)
            {
                int b = _next++ % ActionBuffers;
                if (_discrete.Length > 0) _env.Step(_discrete[b]);
                else _env.Step(_continuous[b]);
                _env.Episodes.Clear();
            }
        }
    }
}
