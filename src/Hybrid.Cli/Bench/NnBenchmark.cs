using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Hybrid.Nn;
using Hybrid.Nn.Kernels;
using Hybrid.Nn.Models;
using Hybrid.Nn.Optim;
using Hybrid.Training.Losses;

namespace Hybrid.Cli.Bench;

/// <summary>
/// <c>hybrid bench nn</c>: the actor-critic MLP 4 -> 64 -> 64 -> (2 logits + 1 value), tanh, on one thread
/// (the training step on more with <c>--threads</c>).
/// Measures the batch-1 forward latency and the throughput of a full batch training step (forward, backward of
/// the actor-critic loss, global-norm clip, RMSProp), each as the median of several timed blocks after a warm-up.
/// The table also runs the same network on Hybrid's scalar paths in the same process, as the baseline.
/// </summary>
public static class NnBenchmark
{
    /// <summary>Figures from one run.</summary>
    /// <param name="ForwardBatch1Microseconds">Median batch-1 forward latency.</param>
    /// <param name="TrainSamplesPerSecond">Median training throughput at <paramref name="Batch"/>.</param>
    /// <param name="Batch">Training batch size.</param>
    /// <param name="Samples">Timed blocks per figure.</param>
    /// <param name="Width">Widest vector the kernels used.</param>
    /// <param name="Threads">Cores the training step could use.</param>
    public sealed record Result(double ForwardBatch1Microseconds, double TrainSamplesPerSecond, int Batch, int Samples, SimdWidth Width, int Threads = 1);

    // Hyperparameters of the timed step; the values are ordinary A2C ones (SB3 defaults: lr 7e-4, clip 0.5,
    // value coefficient 0.5, entropy 0.01) and do not change the amount of work.
    const float LearningRate = 7e-4f, MaxGradNorm = 0.5f, ValueCoefficient = 0.5f, EntropyCoefficient = 0.01f;
    const ulong Seed = 1;

    internal static Command BuildCommand()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON line instead of a table." };
        var samples = new Option<int>("--samples") { Description = "Timed blocks per figure; the median is reported.", DefaultValueFactory = _ => 7 }.AtLeastOne();
        var batch = new Option<int>("--batch") { Description = "Training batch size.", DefaultValueFactory = _ => 1024 }.AtLeastOne();
        var threads = new Option<int>("--threads")
        {
            Description = "Cores the batched training step may use (GEMMs split by rows). The figures in docs/figures.md are for 1.",
            DefaultValueFactory = _ => 1,
        }.AtLeastOne();
        var command = new Command("nn", "Numeric core: batch-1 forward latency and batch training throughput of the actor-critic MLP (one thread unless --threads).")
        {
            json, samples, batch, threads,
        };
        command.SetAction(parse =>
        {
            int b = parse.GetValue(batch), n = parse.GetValue(samples), t = parse.GetValue(threads);
            return BenchReport.Print(parse.GetValue(json), $"bench nn: measuring with {Simd.Best}, then the scalar baseline...",
                () => Run(b, n, Simd.Best, t), () => Run(b, n, SimdWidth.Scalar, t), ToJson, ToTable);
        });
        return command;
    }

    /// <summary>One JSON line: <c>{"bench":"nn","forward_batch1_us":..,"train_batch1024_samples_per_s":..}</c>.</summary>
    public static string ToJson(Result r) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"bench\":\"nn\",\"forward_batch1_us\":{r.ForwardBatch1Microseconds:0.000},\"train_batch{r.Batch}_samples_per_s\":{r.TrainSamplesPerSecond:0}}}");

    static string ToTable(Result r, Result scalar) => string.Create(CultureInfo.InvariantCulture, $"""
        bench nn: actor-critic MLP 4 -> 64 -> 64 -> (2 logits + 1 value), tanh; forward on 1 thread, training on {r.Threads}; median of {r.Samples} timed blocks
        {"measure",-38} {r.Width,14} {"scalar paths",14} {"speedup",8}  {"target",12}
        {"forward, batch 1 (us)",-38} {r.ForwardBatch1Microseconds,14:0.000} {scalar.ForwardBatch1Microseconds,14:0.000} {scalar.ForwardBatch1Microseconds / r.ForwardBatch1Microseconds,7:0.0}x  {"<= 1",12}
        {$"train step, batch {r.Batch} (samples/s)",-38} {r.TrainSamplesPerSecond,14:N0} {scalar.TrainSamplesPerSecond,14:N0} {r.TrainSamplesPerSecond / scalar.TrainSamplesPerSecond,7:0.0}x  {">= 1,000,000",12}
        The scalar column is the same network on Hybrid's scalar kernels, measured in this run.
        For scale, PyTorch 1.13.1 on CPU, 1 thread, on Hybrid's 2-core development machine (2026-11-21): 31.5 us and 106,000 samples/s.
        """);

    /// <summary>Runs both measurements with kernels no wider than <paramref name="width"/>; training on <paramref name="threads"/> cores.</summary>
    public static Result Run(int batch, int samples, SimdWidth width, int threads = 1)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, $"threads was {threads}; expected at least 1.");
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch was {batch}; expected at least 1.");
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"samples was {samples}; expected at least 1.");
        var network = (ActorCriticNetwork)ModelSpec.CartPoleActorCritic.Build();
        network.VectorWidth = width;
        network.Threads = threads; // batched passes only: the batch-1 forward never splits
        ParameterArena arena = network.CreateArena();
        network.Initialize(arena.Parameters, new Rng(Seed));
        var rng = new Rng(Seed, 1);
        double forward = MeasureForward(network, arena.Parameters, rng, samples);
        double train = MeasureTraining(network, arena, rng, batch, samples, width);
        return new Result(forward, train, batch, samples, Simd.Clamp(width), threads);
    }

    static double MeasureForward(ActorCriticNetwork network, float[] theta, Rng rng, int samples)
    {
        var observation = new float[4];
        for (int i = 0; i < 4; i++) observation[i] = rng.NextFloat(-0.05f, 0.05f);
        network.EnsureCapacity(1);
        const int CallsPerBlock = 20_000;
        // Warm-up: long enough for tiered compilation to reach its optimized code.
        RunForward(network, theta, observation, 200_000);
        var perCall = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            long start = Stopwatch.GetTimestamp();
            RunForward(network, theta, observation, CallsPerBlock);
            perCall[s] = Stopwatch.GetElapsedTime(start).TotalMicroseconds / CallsPerBlock;
        }
        return BenchReport.Median(perCall);
    }

    static void RunForward(ActorCriticNetwork network, float[] theta, float[] observation, int calls)
    {
        for (int i = 0; i < calls; i++)
        {
            network.Forward(theta, observation, 1);
            // Feed an output back so the calls form a chain the JIT cannot drop.
            observation[0] = network.Values(1)[0] * 1e-3f;
        }
    }

    static double MeasureTraining(ActorCriticNetwork network, ParameterArena arena, Rng rng, int batch, int samples, SimdWidth width)
    {
        var step = new TrainStep(network, arena, rng, batch, width);
        // About 200,000 samples a block on the vector paths; a tenth of that on the slower scalar ones.
        int stepsPerBlock = Math.Max(1, (width == SimdWidth.Scalar ? 20_000 : 200_000) / batch);
        for (int i = 0; i < 4 * stepsPerBlock; i++) step.Run();
        var rates = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < stepsPerBlock; i++) step.Run();
            rates[s] = (double)stepsPerBlock * batch / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
        return BenchReport.Median(rates);
    }

    /// <summary>One A2C-style update on a fixed synthetic batch (CartPole-sized observations, random actions and returns).</summary>
    internal sealed class TrainStep
    {
        readonly ActorCriticNetwork _network;
        readonly ParameterArena _arena;
        readonly RmsProp _optimizer;
        readonly int _batch;
        readonly float[] _observations, _advantages, _returns, _policyGradient, _valueGradient;
        readonly int[] _actions;

        public TrainStep(ActorCriticNetwork network, ParameterArena arena, Rng rng, int batch, SimdWidth width)
        {
            (_network, _arena, _batch) = (network, arena, batch);
            _optimizer = new RmsProp(arena.Parameters.Length) { VectorWidth = width };
            _observations = new float[batch * 4];
            for (int i = 0; i < _observations.Length; i++) _observations[i] = rng.NextFloat(-1f, 1f);
            _actions = new int[batch];
            _returns = new float[batch];
            _advantages = new float[batch];
            for (int b = 0; b < batch; b++)
            {
                _actions[b] = rng.NextInt(2);
                _returns[b] = rng.NextFloat(0f, 10f);
            }
            _policyGradient = new float[batch * 2];
            _valueGradient = new float[batch];
            network.EnsureCapacity(batch);
        }

        public LossTerms Run()
        {
            float[] theta = _arena.Parameters;
            _arena.ZeroGradients();
            _network.Forward(theta, _observations, _batch);
            ReadOnlySpan<float> values = _network.Values(_batch);
            for (int b = 0; b < _batch; b++) _advantages[b] = _returns[b] - values[b];
            LossTerms terms = ActorCriticLoss.Categorical(_network.Policy(_batch), 2, _actions, _advantages, _returns, values,
                ValueCoefficient, EntropyCoefficient, _policyGradient, _valueGradient);
            _network.Backward(theta, _observations, _policyGradient, _valueGradient, _arena.Gradients, _batch);
            GradientTools.ClipGlobalNorm(_arena.Gradients, MaxGradNorm);
            _optimizer.Step(theta, _arena.Gradients, LearningRate);
            return terms;
        }
    }
}
