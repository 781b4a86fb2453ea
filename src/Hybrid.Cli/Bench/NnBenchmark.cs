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
/// <c>hybrid bench nn</c>: an actor-critic network with a categorical head (by default the MLP 4 -> 64 -> 64 -> (2
/// logits + 1 value), tanh; with <c>--model</c> any model spec, or the network A2C builds for an env, e.g. MinAtar's
/// conv torso) on one thread (the training step on more with <c>--threads</c>).
/// Measures the batch-1 forward latency and the throughput of a full batch training step (forward, backward of
/// the actor-critic loss, global-norm clip, RMSProp), each as the median of several timed blocks after a warm-up. A
/// network with an LSTM (<c>lstm=N</c> in its spec) acts one step from a carried state, and trains on the batch cut into
/// unrolls of <see cref="UnrollSteps"/> steps (A3C's t_max), backpropagated through each.
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
    /// <param name="Model">The network timed (its spec's text); null for the default MLP.</param>
    public sealed record Result(double ForwardBatch1Microseconds, double TrainSamplesPerSecond, int Batch, int Samples, SimdWidth Width, int Threads = 1,
        string? Model = null);

    // Hyperparameters of the timed step; the values are ordinary A2C ones (SB3 defaults: lr 7e-4, clip 0.5,
    // value coefficient 0.5, entropy 0.01) and do not change the amount of work.
    const float LearningRate = 7e-4f, MaxGradNorm = 0.5f, ValueCoefficient = 0.5f, EntropyCoefficient = 0.01f;
    const ulong Seed = 1;

    /// <summary>Steps per unroll in a recurrent network's training step (the batch is this many steps of batch / this many lanes).</summary>
    public const int UnrollSteps = 20;

    /// <summary>The default network's size, which the blocks' lengths were chosen for.</summary>
    static readonly int CartPoleParameters = ModelSpec.CartPoleActorCritic.Build().ParameterCount;

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
        var model = new Option<string?>("--model")
        {
            Description = "The network to time: a model spec ('actor-critic obs=4x10x10 layout=chw conv=16x3s1p0 hidden=128 act=relu actions=discrete:3'), " +
                "or an env id for the network A2C builds for it (MinAtar/Breakout-v1). Default: the CartPole MLP.",
        };
        var command = new Command("nn", "Numeric core: batch-1 forward latency and batch training throughput of an actor-critic network (the CartPole MLP unless --model; one thread unless --threads).")
        {
            json, samples, batch, threads, model,
        };
        command.SetAction(parse =>
        {
            int b = parse.GetValue(batch), n = parse.GetValue(samples), t = parse.GetValue(threads);
            ModelSpec spec;
            try
            {
                spec = ModelOf(parse.GetValue(model));
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                Console.Error.WriteLine($"bench nn: {ErrorText.Of(e)}");
                return 2;
            }
            return BenchReport.Print(parse.GetValue(json), $"bench nn: measuring with {Simd.Best}, then the scalar baseline...",
                () => Run(b, n, Simd.Best, t, spec), () => Run(b, n, SimdWidth.Scalar, t, spec), ToJson, ToTable);
        });
        return command;
    }

    /// <summary>
    /// The network <paramref name="text"/> names: a model spec, or an env id (the actor-critic network A2C builds for
    /// that env with its defaults); the CartPole MLP when null.
    /// </summary>
    /// <exception cref="FormatException">A spec that does not parse.</exception>
    /// <exception cref="ArgumentException">An unknown env, or a network the benchmark cannot time (the message says why).</exception>
    public static ModelSpec ModelOf(string? text)
    {
        if (text is null) return ModelSpec.CartPoleActorCritic;
        ModelSpec spec = text.StartsWith("actor-critic", StringComparison.Ordinal) || text.StartsWith("q ", StringComparison.Ordinal)
            ? ModelSpec.Parse(text)
            : Hybrid.Training.Algorithms.Acting.ActorCriticSpec(new Hybrid.Training.Algorithms.A2cConfig { Env = text });
        if (spec.Kind != ModelKind.ActorCritic || spec.ActionKind != ActionKind.Discrete)
            throw new ArgumentException($"--model was '{text}'; bench nn times actor-critic networks with a categorical head (discrete actions).");
        return spec;
    }

    /// <summary>One JSON line: <c>{"bench":"nn","forward_batch1_us":..,"train_batch1024_samples_per_s":..}</c>, with <c>"model":..</c> when not the default.</summary>
    public static string ToJson(Result r) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"bench\":\"nn\",{(r.Model is null ? "" : $"\"model\":\"{r.Model}\",")}\"forward_batch1_us\":{r.ForwardBatch1Microseconds:0.000},\"train_batch{r.Batch}_samples_per_s\":{r.TrainSamplesPerSecond:0}}}");

    static string ToTable(Result r, Result scalar) => string.Create(CultureInfo.InvariantCulture, $"""
        bench nn: {r.Model ?? "actor-critic MLP 4 -> 64 -> 64 -> (2 logits + 1 value), tanh"}; forward on 1 thread, training on {r.Threads}; median of {r.Samples} timed blocks
        {"measure",-38} {r.Width,14} {"scalar paths",14} {"speedup",8}  {"target",12}
        {"forward, batch 1 (us)",-38} {r.ForwardBatch1Microseconds,14:0.000} {scalar.ForwardBatch1Microseconds,14:0.000} {scalar.ForwardBatch1Microseconds / r.ForwardBatch1Microseconds,7:0.0}x  {(r.Model is null ? "<= 1" : "-"),12}
        {$"train step, batch {r.Batch} (samples/s)",-38} {r.TrainSamplesPerSecond,14:N0} {scalar.TrainSamplesPerSecond,14:N0} {r.TrainSamplesPerSecond / scalar.TrainSamplesPerSecond,7:0.0}x  {(r.Model is null ? ">= 1,000,000" : "-"),12}
        The scalar column is the same network on Hybrid's scalar kernels, measured in this run{(r.Model?.Contains("lstm=", StringComparison.Ordinal) == true ? $" (an LSTM's own products run on the vector kernels in both; training takes unrolls of {UnrollSteps} steps)" : "")}.
        {(r.Model is null
            ? "For scale, PyTorch 1.13.1 on CPU, 1 thread, on Hybrid's 2-core development machine (2026-11-21): 31.5 us and 106,000 samples/s."
            : r.Model.Contains("lstm=", StringComparison.Ordinal) ? $"A training step of batch {r.Batch} takes {r.Batch / r.TrainSamplesPerSecond * 1e3:0.000} ms."
            : $"A training step of batch {r.Batch} takes {r.Batch / r.TrainSamplesPerSecond * 1e3:0.000} ms. For scale, the MinAtar network (16 3x3 filters, dense 128) in PyTorch 1.13 with OpenBLAS, 1 thread, on Hybrid's 2-core development machine: 1.80 ms a training step at batch 40, 8.69 ms at batch 320.")}
        """);

    /// <summary>Runs both measurements with kernels no wider than <paramref name="width"/>; training on <paramref name="threads"/> cores; the CartPole MLP unless <paramref name="spec"/>.</summary>
    public static Result Run(int batch, int samples, SimdWidth width, int threads = 1, ModelSpec? spec = null)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, $"threads was {threads}; expected at least 1.");
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch was {batch}; expected at least 1.");
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, $"samples was {samples}; expected at least 1.");
        spec ??= ModelSpec.CartPoleActorCritic;
        if (spec.Recurrent > 0 && batch % UnrollSteps != 0)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch was {batch}; a network with an LSTM trains on unrolls of {UnrollSteps} steps, so expected a multiple of {UnrollSteps}.");
        var network = (ActorCriticNetwork)spec.Build();
        network.VectorWidth = width;
        network.Threads = threads; // batched passes only: the batch-1 forward never splits
        ParameterArena arena = network.CreateArena();
        network.Initialize(arena.Parameters, new Rng(Seed));
        var rng = new Rng(Seed, 1);
        double forward = MeasureForward(network, arena.Parameters, rng, samples);
        double train = MeasureTraining(network, arena, rng, batch, samples, width);
        return new Result(forward, train, batch, samples, Simd.Clamp(width), threads, ReferenceEquals(spec, ModelSpec.CartPoleActorCritic) ? null : spec.ToString());
    }

    static double MeasureForward(ActorCriticNetwork network, float[] theta, Rng rng, int samples)
    {
        var observation = new float[network.Spec.ObservationSize];
        for (int i = 0; i < observation.Length; i++) observation[i] = rng.NextFloat(-0.05f, 0.05f);
        network.EnsureCapacity(1);
        float[] hidden = new float[network.RecurrentSize], cell = new float[network.RecurrentSize];
        // About 20,000 calls a block for the CartPole MLP; fewer for larger networks (the same work per block).
        int callsPerBlock = Math.Max(100, (int)(20_000L * CartPoleParameters / Math.Max(CartPoleParameters, network.ParameterCount)));
        // Warm-up: long enough for tiered compilation to reach its optimized code.
        RunForward(network, theta, observation, hidden, cell, 10 * callsPerBlock);
        var perCall = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            long start = Stopwatch.GetTimestamp();
            RunForward(network, theta, observation, hidden, cell, callsPerBlock);
            perCall[s] = Stopwatch.GetElapsedTime(start).TotalMicroseconds / callsPerBlock;
        }
        return BenchReport.Median(perCall);
    }

    static void RunForward(ActorCriticNetwork network, float[] theta, float[] observation, float[] hidden, float[] cell, int calls)
    {
        for (int i = 0; i < calls; i++)
        {
            if (network.RecurrentSize > 0) network.Step(theta, observation, hidden, cell, 1);
            else network.Forward(theta, observation, 1);
            // Feed an output back so the calls form a chain the JIT cannot drop.
            observation[0] = network.Values(1)[0] * 1e-3f;
        }
    }

    static double MeasureTraining(ActorCriticNetwork network, ParameterArena arena, Rng rng, int batch, int samples, SimdWidth width)
    {
        var step = new TrainStep(network, arena, rng, batch, width);
        // About 200,000 samples a block on the vector paths for the CartPole MLP, a tenth of that on the slower scalar
        // ones; proportionally fewer for a larger network.
        double scale = (double)CartPoleParameters / Math.Max(CartPoleParameters, network.ParameterCount);
        int stepsPerBlock = Math.Max(1, (int)((width == SimdWidth.Scalar ? 20_000 : 200_000) * scale) / batch);
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

    /// <summary>One A2C-style update on a fixed synthetic batch (the network's observations, random actions and returns).</summary>
    internal sealed class TrainStep
    {
        readonly ActorCriticNetwork _network;
        readonly ParameterArena _arena;
        readonly RmsProp _optimizer;
        readonly int _batch, _actionCount;
        readonly float[] _observations, _advantages, _returns, _policyGradient, _valueGradient, _hidden0, _cell0;
        readonly int[] _actions;

        public TrainStep(ActorCriticNetwork network, ParameterArena arena, Rng rng, int batch, SimdWidth width)
        {
            (_network, _arena, _batch) = (network, arena, batch);
            _optimizer = new RmsProp(arena.Parameters.Length) { VectorWidth = width };
            _actionCount = network.Spec.Actions;
            _observations = new float[batch * network.Spec.ObservationSize];
            for (int i = 0; i < _observations.Length; i++) _observations[i] = rng.NextFloat(-1f, 1f);
            _actions = new int[batch];
            _returns = new float[batch];
            _advantages = new float[batch];
            for (int b = 0; b < batch; b++)
            {
                _actions[b] = rng.NextInt(_actionCount);
                _returns[b] = rng.NextFloat(0f, 10f);
            }
            _policyGradient = new float[batch * _actionCount];
            _valueGradient = new float[batch];
            int lanes = network.RecurrentSize > 0 ? batch / UnrollSteps : 0;
            (_hidden0, _cell0) = (new float[lanes * network.RecurrentSize], new float[lanes * network.RecurrentSize]);
            network.EnsureCapacity(batch);
        }

        public LossTerms Run()
        {
            float[] theta = _arena.Parameters;
            _arena.ZeroGradients();
            bool recurrent = _network.RecurrentSize > 0;
            if (recurrent) _network.ForwardSequence(theta, _observations, _hidden0, _cell0, default, _batch / UnrollSteps, UnrollSteps);
            else _network.Forward(theta, _observations, _batch);
            ReadOnlySpan<float> values = _network.Values(_batch);
            for (int b = 0; b < _batch; b++) _advantages[b] = _returns[b] - values[b];
            LossTerms terms = ActorCriticLoss.Categorical(_network.Policy(_batch), _actionCount, _actions, _advantages, _returns, values,
                ValueCoefficient, EntropyCoefficient, _policyGradient, _valueGradient);
            if (recurrent) _network.BackwardSequence(theta, _observations, _policyGradient, _valueGradient, _arena.Gradients, _batch / UnrollSteps, UnrollSteps);
            else _network.Backward(theta, _observations, _policyGradient, _valueGradient, _arena.Gradients, _batch);
            GradientTools.ClipGlobalNorm(_arena.Gradients, MaxGradNorm);
            _optimizer.Step(theta, _arena.Gradients, LearningRate);
            return terms;
        }
    }
}
