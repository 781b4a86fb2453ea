using System.Diagnostics;
using Hybrid.Envs;
using Hybrid.Gpu.Kernels;
using Hybrid.Nn;
using Hybrid.Nn.Layers;
using Hybrid.Nn.Models;
using Hybrid.Nn.Optim;
using Hybrid.Training.Algorithms;
using Hybrid.Training.Devices;
using Hybrid.Training.Losses;
using Hybrid.Training.Metrics;
using Hybrid.Training.Runs;
using ILGPU;
using ILGPU.Runtime;

namespace Hybrid.Gpu;

/// <summary>
/// A2C with everything on an ILGPU device: the env lanes' state, the rollout, theta, the gradient and RMSProp's
/// statistics. One update is three kernel launches (the rollout kernel acts, steps, computes returns and each sample's
/// backward pass, lane by lane; then GradientKernels' tiled weight gradients per chunk of samples, and one block that
/// reduces them, takes the squared norm and applies the clipped RMSProp step), every sum in a fixed order, so a run is repeatable for its seed (the logged loss terms
/// are summed atomically and may differ in their last digits). Nothing is copied to the host but metrics: episode records and loss terms, drained
/// every few updates and before every metrics row, and handed to the run in the order the CPU stream would.
/// theta starts as the CPU stream's does (same network, same seed); actions come from per-lane counter-based streams.
/// </summary>
internal sealed class IlgpuA2cStream : ISyncStream
{
    /// <summary>Most updates between two drains of the metrics.</summary>
    const int MaxUpdatesPerDrain = 64;

    readonly IlgpuDevice _device;
    readonly A2cKernels _kernels;
    readonly A2cConfig _config;
    readonly ModelSpec _spec;
    readonly DeviceLanes _env;
    // MinAtar's composed rollout (conv torso), or null for the fused rollout kernel of classic control.
    readonly MinAtarRollout? _minAtar;
    readonly VTraceViews _targets;
    readonly List<MemoryBuffer> _buffers = [];
    readonly MemoryBuffer1D<float, Stride1D.Dense> _theta, _gradient, _statistics, _terms, _scalars;
    readonly MemoryBuffer1D<int, Stride1D.Dense> _episodeCount;
    readonly MemoryBuffer1D<DeviceEpisode, Stride1D.Dense> _episodes;
    readonly RolloutViews _rollout;
    readonly LearnViews _learn;
    readonly int _samples, _updatesPerDrain;
    readonly float[] _hostTerms, _hostTheta;
    readonly int[] _hostCount = new int[1];
    readonly DeviceEpisode[] _hostEpisodes;
    readonly EpisodeRecord[] _records;
    readonly EpisodeOrder _order;
    readonly WindowViews _window;
    readonly int[] _hostWindow = new int[EpisodeKernels.StateSize];
    int _pending, _updates;
    long _drainedInterval;
    bool _windowSolved;

    public IlgpuA2cStream(IlgpuDevice device, A2cKernels kernels, A2cConfig config) : this(device, kernels, config, Acting.ActorCriticSpec(config)) { }

    /// <summary>
    /// A stream whose network is built from <paramref name="spec"/> (an MLP torso; categorical or Gaussian head), as checks
    /// vary it; <paramref name="threadsPerLane"/> and <paramref name="sharedTheta"/> override the rollout's shape (<see cref="RolloutShape"/>).
    /// </summary>
    internal IlgpuA2cStream(IlgpuDevice device, A2cKernels kernels, A2cConfig config, ModelSpec spec, int? threadsPerLane = null, bool? sharedTheta = null)
    {
        _device = device;
        _kernels = kernels;
        _config = config;
        _spec = spec;
        EnvSpec env = EnvRegistry.Spec(config.Env);
        Check(device.Info.Kind, config, spec);
        int n = config.Lanes.NumEnvs, tMax = config.TMax;
        _samples = n * tMax;
        _updatesPerDrain = (int)Math.Clamp((config.LogInterval + _samples - 1) / _samples, 1, MaxUpdatesPerDrain);

        // The CPU network fixes the layout and the initial theta.
        var net = (ActorCriticNetwork)spec.Build();
        float[] theta = Acting.InitialTheta(net, config.Seed);
        bool minAtar = EnvRegistry.IsMinAtar(config.Env);
        int denseInputs = ConvShape.DenseInputs(net);
        int[] table = LayerTable(net, denseInputs, allowConv: minAtar, out int featureRows, out int deltaRows);
        int actions = net.Actions;
        bool box = spec.ActionKind == ActionKind.Box;
        // Scratch rows: a lane's own on classic control (the fused kernel bootstraps each lane in place); on MinAtar
        // every lane's next observation, then as many final observations as steps could be truncated.
        int scratchRows = minAtar ? n + _samples : n;

        Accelerator a = device.Accelerator;
        _env = DeviceEnvs.Open(device, config.Env, n, config.MinAtarSettings);
        _env.Reset((ulong)config.Seed, 0);
        _theta = Add(a.Allocate1D(theta));
        _gradient = Add(a.Allocate1D<float>(theta.Length));
        _statistics = Add(a.Allocate1D<float>(theta.Length));
        _statistics.MemSetToZero();
        _terms = Add(a.Allocate1D<float>(3 * _updatesPerDrain));
        _terms.MemSetToZero();
        _scalars = Add(a.Allocate1D<float>(1));
        _episodeCount = Add(a.Allocate1D<int>(1));
        _episodeCount.MemSetToZero();
        // A lane ends at most one episode per step.
        _episodes = Add(a.Allocate1D<DeviceEpisode>((long)_samples * _updatesPerDrain));
        var shape = new NetShape
        {
            Theta = _theta.View, Layers = Add(a.Allocate1D(table)).View, Hidden = net.Torso.Count(l => l is Linear),
            Relu = spec.Activation == Activation.Relu ? 1 : 0, Actions = actions, ObservationSize = denseInputs,
            Box = box ? 1 : 0, LogStdOffset = net.LogStd.Offset, LogStdRow = deltaRows - (box ? actions : 0),
        };
        MemoryBuffer1D<float, Stride1D.Dense> features = Add(a.Allocate1D<float>((long)featureRows * _samples));
        MemoryBuffer1D<float, Stride1D.Dense> deltas = Add(a.Allocate1D<float>((long)deltaRows * _samples));
        (ArrayView<uint> actionState, ArrayView<uint> actionStep) = _env.ActionStreams;
        _rollout = new RolloutViews
        {
            Env = _env is DeviceVectorEnv classic ? classic.Lanes : default, Net = shape, Features = features.View, Deltas = deltas.View,
            Logits = Add(a.Allocate1D<float>((long)actions * _samples)).View, Values = Samples(a), Actions = Add(a.Allocate1D<float>((long)(box ? actions : 1) * _samples)).View, Rewards = Samples(a),
            Discounts = Samples(a), Cut = Add(a.Allocate1D<int>(_samples)).View, Bootstrap = Samples(a),
            ScratchFeatures = Add(a.Allocate1D<float>((long)featureRows * scratchRows)).View, ScratchLogits = Add(a.Allocate1D<float>((long)actions * scratchRows)).View,
            ScratchValues = Add(a.Allocate1D<float>(scratchRows)).View, Gamma = config.Gamma,
            ActionState = actionState, ActionStep = actionStep, Episodes = _episodes.View, EpisodeCount = _episodeCount.View, Ended = Samples(a),
            Terms = _terms.View, TMax = tMax, Lambda = config.Advantage.GaeLambda,
            ValueCoefficient = config.ValueCoef, EntropyCoefficient = config.EntropyCoef,
            ThreadsPerLane = threadsPerLane ?? RolloutShape.ThreadsPerLane(n, device.ResidentThreads, kernels.Group),
            SharedTheta = (sharedTheta ?? RolloutShape.ThetaFits(theta.Length)) ? 1 : 0,
            AggregateAtomics = device.AggregateAtomics ? 1 : 0,
        };
        if (_rollout.ThreadsPerLane < 1 || _rollout.ThreadsPerLane > kernels.Group || kernels.Group % _rollout.ThreadsPerLane != 0)
            throw new ArgumentOutOfRangeException(nameof(threadsPerLane), _rollout.ThreadsPerLane, $"threads per lane was {_rollout.ThreadsPerLane}; expected a power of two that divides the group of {kernels.Group}.");
        if (_rollout.SharedTheta != 0 && !RolloutShape.ThetaFits(theta.Length))
            throw new ArgumentException($"theta has {theta.Length:N0} values; shared memory holds {RolloutShape.SharedFloats:N0}.", nameof(sharedTheta));
        MemoryBuffer1D<int, Stride1D.Dense> windowState = Add(a.Allocate1D<int>(EpisodeKernels.StateSize));
        windowState.MemSetToZero();
        _window = new WindowViews
        {
            Ended = _rollout.Ended, Ring = Add(a.Allocate1D<float>(EpisodeKernels.Window)).View, State = windowState.View,
            Mean = Add(a.Allocate1D<float>(1)).View, Counts = Add(a.Allocate1D<int>(kernels.Group + 1)).View, Cells = _samples,
            Threshold = (float)config.Threshold,
        };
        _learn = Learner(a, _buffers.Add, shape, table, features.View, deltas.View, _gradient.View, _statistics.View, _samples, theta.Length);
        if (minAtar)
        {
            _minAtar = new MinAtarRollout(device, (DeviceMinAtarEnv)_env, net, _theta.View, tMax, scratchRows, kernels.Group);
            _targets = new VTraceViews
            {
                ScratchValues = _rollout.ScratchValues, FinalColumn = Add(a.Allocate1D<int>(_samples)).View, Lanes = n, Unrolls = 1,
                RhoBar = 1f, CBar = 1f, OnPolicy = 1, Lambda = config.Advantage.GaeLambda,
            };
        }
        _hostTerms = new float[3 * _updatesPerDrain];
        _hostTheta = new float[theta.Length];
        _hostEpisodes = new DeviceEpisode[_samples * _updatesPerDrain];
        _records = new EpisodeRecord[_hostEpisodes.Length];
        _order = new EpisodeOrder(n, tMax * _updatesPerDrain, _hostEpisodes.Length);
    }

    public int Threads => 1;

    ArrayView<float> Samples(Accelerator a) => Add(a.Allocate1D<float>(_samples)).View;

    MemoryBuffer1D<T, Stride1D.Dense> Add<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer) where T : unmanaged
    {
        _buffers.Add(buffer);
        return buffer;
    }

    /// <summary>Values of the per-chunk partial gradients of a batch (what <see cref="Learner"/> allocates).</summary>
    /// <summary>
    /// Throws unless the device path can run <paramref name="config"/> with <paramref name="spec"/>'s network: an env with
    /// device kernels, no CPU-only setting, an MLP torso shared by both heads, and buffers the kernels can index. It
    /// builds the network on the host only, so the device's capability query asks it without opening anything.
    /// </summary>
    /// <exception cref="ArgumentException">The device path cannot run it (the message names the setting and the way out).</exception>
    internal static void Check(string kind, A2cConfig config, ModelSpec spec)
    {
        EnvSpec env = EnvRegistry.Spec(config.Env);
        DeviceEnvs.Require(config.Env);
        bool minAtar = EnvRegistry.IsMinAtar(config.Env);
        if (config.RmsEpsilonOutside)
            throw new ArgumentException($"device '{kind}': the device's RMSProp adds epsilon inside the square root; rms_epsilon_outside needs --device cpu.");
        if (config.NormalizeObservations || config.NormalizeRewards)
            throw new ArgumentException($"device '{kind}': normalize_observations and normalize_rewards run on the CPU path only; " +
                "set them false or use --device cpu.");
        int n = config.Lanes.NumEnvs, tMax = config.TMax, samples = n * tMax;
        var net = (ActorCriticNetwork)spec.Build();
        LayerTable(net, ConvShape.DenseInputs(net), allowConv: minAtar, out int featureRows, out int deltaRows);
        if (minAtar && ConvShape.LeadingConv(net) is null)
            throw new ArgumentException($"device '{kind}': A2C's MinAtar stream runs the conv torso (hidden auto); this network has none. Use --device cpu.");
        // Kernels index the per-sample rows with 32-bit integers (on MinAtar, the scratch rows hold lanes + samples).
        long rows = minAtar ? n + (long)samples : samples;
        long largest = Math.Max(Math.Max((long)Math.Max(featureRows, deltaRows) * rows, LearnerPartials(samples, net.ParameterCount)),
            minAtar ? (long)env.ObservationSize * rows : 0);
        if (largest > int.MaxValue)
            throw new ArgumentException($"num_envs {n} x t_max {tMax} is too many samples per update for the device path with this network " +
                $"(its buffers would hold {largest:N0} values; the kernels index at most {int.MaxValue:N0}). Use fewer lanes.");
    }

    internal static long LearnerPartials(int samples, int parameters)
    {
        int chunk = GradientKernels.ChunkFor(samples);
        return (long)((samples + chunk - 1) / chunk) * parameters;
    }

    /// <summary>
    /// The gradient's views for a batch of <paramref name="samples"/> whose F and D rows are <paramref name="features"/>
    /// and <paramref name="deltas"/>: the tile table and the per-chunk partial sums, allocated here and handed to <paramref name="keep"/>.
    /// </summary>
    internal static LearnViews Learner(Accelerator a, Action<MemoryBuffer> keep, NetShape net, int[] layerTable, ArrayView<float> features,
        ArrayView<float> deltas, ArrayView<float> gradient, ArrayView<float> statistics, int samples, int parameters)
    {
        int[] tiles = GradientKernels.TileTable(layerTable, net.LogStdOffset, net.LogStdRow, net.Box != 0 ? net.Actions : 0);
        int chunk = GradientKernels.ChunkFor(samples), chunks = (samples + chunk - 1) / chunk;
        MemoryBuffer1D<int, Stride1D.Dense> tileBuffer = a.Allocate1D(tiles);
        keep(tileBuffer);
        MemoryBuffer1D<float, Stride1D.Dense> partial = a.Allocate1D<float>((long)chunks * parameters);
        // Zero once: parameters no tile covers (a leading convolution's) keep 0 in every chunk but what their own kernels write.
        partial.MemSetToZero();
        keep(partial);
        return new LearnViews
        {
            Net = net, Tiles = tileBuffer.View, TileCount = tiles.Length / GradientKernels.TileEntry, Features = features, Deltas = deltas,
            Partial = partial.View, Gradient = gradient, Statistics = statistics, Samples = samples, Chunk = chunk, Chunks = chunks, Parameters = parameters,
        };
    }

    /// <summary>
    /// The kernels' layer table (see <see cref="NetShape"/>) from the CPU network's layout: F rows = observation, then
    /// each hidden layer's outputs; D rows = each hidden layer's deltas, then the logits', then the value's.
    /// </summary>
    internal static int[] LayerTable(ActorCriticNetwork net, int observationSize, out int featureRows, out int deltaRows) =>
        LayerTable(net, observationSize, allowConv: false, out featureRows, out deltaRows);

    /// <summary>
    /// As above; with <paramref name="allowConv"/>, a torso may start with a convolution and its ReLU (which the caller
    /// runs first, giving <paramref name="observationSize"/> inputs to the table's first dense layer).
    /// </summary>
    internal static int[] LayerTable(ActorCriticNetwork net, int observationSize, bool allowConv, out int featureRows, out int deltaRows)
    {
        if (net.Spec.SeparateValue)
            throw new ArgumentException("the device path runs one torso shared by the policy and value heads; separate_networks needs --device cpu.");
        if (net.Spec.Recurrent > 0)
            throw new ArgumentException("the device path runs feed-forward networks; recurrent lstm needs --device cpu.");
        List<Layer> torso = allowConv && net.Torso.Count > 0 && net.Torso[0] is Conv2d ? [.. net.Torso.Skip(2)] : [.. net.Torso];
        var linear = torso.OfType<Linear>().ToList();
        if (linear.Count == 0 || linear.Count != torso.Count / 2 || torso.Any(l => l is Conv2d))
            throw new ArgumentException(allowConv
                ? "the device path runs a torso of dense layers (tanh or ReLU), after one convolution at most; this network has another torso. Use --device cpu."
                : "the device path runs MLP torsos (hidden layers with tanh or ReLU) for this work; this network has another torso. Use --device cpu.");
        var table = new List<int>();
        int inRow = 0, fRow = observationSize, dRow = 0;
        foreach (Linear layer in linear)
        {
            table.AddRange([layer.Parameters.Offset, layer.InputSize, layer.OutputSize, inRow, fRow, dRow]);
            inRow = fRow;
            fRow += layer.OutputSize;
            dRow += layer.OutputSize;
        }
        int width = linear[^1].OutputSize;
        ParameterSlice policy = net.Layout.Slices.Single(s => s.Name == "policy"), value = net.Layout.Slices.Single(s => s.Name == "value");
        table.AddRange([policy.Offset, width, net.Actions, inRow, -1, dRow]);
        table.AddRange([value.Offset, width, 1, inRow, -1, dRow + net.Actions]);
        featureRows = fRow;
        // After the value's row, a Gaussian head's per-sample log-std gradients.
        deltaRows = dRow + net.Actions + 1 + (net.Spec.ActionKind == ActionKind.Box ? net.Actions : 0);
        return [.. table];
    }

    public void Collect(RunContext run)
    {
        RolloutViews r = _rollout;
        r.StepBase = _pending * _config.TMax;
        r.Slot = _pending;
        if (_minAtar is not null) _minAtar.Collect(r, _targets);
        else _kernels.Rollout(r);
        run.Metrics.AddSteps(_samples);
    }

    /// <summary>The gradient of the rollout just collected into the learner's buffers; with <paramref name="step"/>, clipped and applied.</summary>
    void GradientAndStep(float learningRate, bool step)
    {
        _kernels.Tiles(_learn);
        _minAtar?.ConvGradient(_rollout, _learn);
        _kernels.Reduce(_learn, _scalars.View, _config.MaxGradNorm, learningRate, _config.RmsAlpha, _config.RmsEpsilon, step);
    }

    public void Learn(float learningRate, RunContext run)
    {
        GradientAndStep(learningRate, step: true);
        // The solve window on the device, and its 16 bytes back: the update whose episodes first bring the last 100's
        // mean to the threshold drains at once, so the run stamps the solve at this update, not at the next drain.
        WindowViews w = _window;
        w.Update = _updates++;
        _kernels.Window(w);
        w.State.CopyToCPU(_hostWindow);
        bool solvedNow = !_windowSolved && _hostWindow[EpisodeKernels.Solved] != 0;
        _windowSolved |= solvedNow;
        // Drain when the buffers are full, and before the run writes a metrics row (a log point was crossed), so
        // that every row counts all the updates and episodes before it.
        long interval = run.Metrics.EnvSteps / _config.LogInterval;
        if (++_pending == _updatesPerDrain || interval != _drainedInterval || solvedNow) Drain(run);
    }

    /// <summary>The gradient of the rollout just collected, into the gradient buffer, and its squared norm.</summary>
    internal void ComputeGradient() => GradientAndStep(0f, step: false);

    /// <summary>
    /// Copies the metrics back: the episodes in the order they ended (step, then lane) and each update's loss terms;
    /// checks the losses and theta are finite.
    /// </summary>
    void Drain(RunContext run) => Drain(run, countUpdates: true);

    /// <summary>
    /// <see cref="Drain(RunContext)"/>; with <paramref name="countUpdates"/> false (a learner elsewhere counts them and owns
    /// theta) the updates' loss terms are checked and the last returned, and theta is not checked here.
    /// </summary>
    LossTerms Drain(RunContext run, bool countUpdates)
    {
        _drainedInterval = run.Metrics.EnvSteps / _config.LogInterval;
        if (_pending == 0) return default;
        _episodeCount.CopyToCPU(_hostCount);
        int count = _hostCount[0];
        if (count > _hostEpisodes.Length)
            throw new InvalidOperationException($"the device's episode log overflowed ({count} episodes, room for {_hostEpisodes.Length}).");
        if (count > 0) _episodes.View.BaseView.SubView(0, count).CopyToCPU(_hostEpisodes.AsSpan(0, count));
        _terms.View.BaseView.SubView(0, 3 * _pending).CopyToCPU(_hostTerms.AsSpan(0, 3 * _pending));
        _episodeCount.MemSetToZero();
        _terms.MemSetToZero();

        Span<DeviceEpisode> episodes = _hostEpisodes.AsSpan(0, count);
        _order.Sort(episodes);
        for (int i = 0; i < count; i++)
            _records[i] = new EpisodeRecord(episodes[i].Lane, episodes[i].Return, episodes[i].Length, episodes[i].Terminated != 0);
        run.Metrics.AddEpisodes(_records.AsSpan(0, count));
        float inverse = 1f / _samples;
        var terms = default(LossTerms);
        for (int u = 0; u < _pending; u++)
        {
            terms = new LossTerms(_hostTerms[3 * u] * inverse, _hostTerms[3 * u + 1] * inverse, _hostTerms[3 * u + 2] * inverse);
            UpdateRules.CheckFinite(terms, countUpdates ? "a2c" : "hybrid sync stream", run.Metrics.Updates + 1);
            if (countUpdates) run.Metrics.AddUpdate(terms);
        }
        _pending = 0;
        if (!countUpdates) return terms;
        _theta.CopyToCPU(_hostTheta);
        UpdateRules.CheckParameters(_hostTheta, "a2c", run.Metrics.Updates);
        return terms;
    }

    public void Finish(RunContext run) => Drain(run);

    public void SetParameters(ReadOnlySpan<float> theta) => _theta.View.BaseView.CopyFromCPU(theta);

    public LossTerms Gradient(Span<float> gradient, RunContext run)
    {
        ComputeGradient();
        _gradient.View.BaseView.CopyToCPU(gradient);
        // The rollout kernel wrote this update's loss sums into slot _pending; the episodes come back with them.
        _pending++;
        return Drain(run, countUpdates: false);
    }

    const string Kind = "a2c on a device";

    /// <summary>
    /// Drains the metrics into <paramref name="run"/> (the checkpoint's counters then count every update so far),
    /// then copies theta, RMSProp's statistics and the lanes' state and streams from the device.
    /// </summary>
    public CheckpointData Save(RunContext run)
    {
        Drain(run);
        var theta = new float[_learn.Parameters];
        _theta.CopyToCPU(theta);
        var statistics = new RmsProp(theta.Length, _config.RmsAlpha, _config.RmsEpsilon);
        _statistics.CopyToCPU(statistics.Statistics);
        return RunState.Save(_spec, theta, statistics, Kind, _env.SaveLanes);
    }

    public void Load(CheckpointData checkpoint)
    {
        var theta = new float[_learn.Parameters];
        var statistics = new RmsProp(theta.Length, _config.RmsAlpha, _config.RmsEpsilon);
        RunState.Load(checkpoint, _spec, theta, statistics, Kind, _env.LoadLanes);
        _theta.CopyFromCPU(theta);
        _statistics.CopyFromCPU(statistics.Statistics);
    }

    /// <summary>
    /// Milliseconds per launch of each of the update's kernels on its own, and of the whole update: each in a timed loop of
    /// launches and one synchronize, doubling the launches until the loop takes <paramref name="seconds"/>. The stream is
    /// spent afterwards (its episode log and statistics are not a run's); open a new one to train.
    /// </summary>
    internal IReadOnlyList<(string Kernel, double Milliseconds, int Launches)> TimeKernels(double seconds)
    {
        Accelerator a = _device.Accelerator;
        RolloutViews r = _rollout;
        (string, double, int) Time(string name, Action launch)
        {
            launch();
            a.Synchronize();
            for (int launches = 1; ; launches *= 2)
            {
                long start = Stopwatch.GetTimestamp();
                for (int i = 0; i < launches; i++) launch();
                a.Synchronize();
                double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
                // The episode log fills as rollouts repeat without a drain; later episodes are dropped, not written past it.
                _episodeCount.MemSetToZero();
                if (elapsed >= seconds || launches >= 1 << 16) return (name, elapsed * 1e3 / launches, launches);
            }
        }
        void Rollout()
        {
            if (_minAtar is not null) _minAtar.Collect(r, _targets);
            else _kernels.Rollout(r);
        }
        var times = new List<(string, double, int)>
        {
            Time(_minAtar is not null ? "MinAtar rollout (conv, dense, act, step, record; targets)" : "ActorCriticKernels.Rollout", Rollout),
            Time("GradientKernels.Tiles", () => _kernels.Tiles(_learn)),
        };
        if (_minAtar is not null) times.Add(Time("ConvKernels backward", () => _minAtar.ConvGradient(r, _learn)));
        times.Add(Time("GradientKernels.Reduce", () => _kernels.Reduce(_learn, _scalars.View, _config.MaxGradNorm, 0f, _config.RmsAlpha, _config.RmsEpsilon, step: true)));
        times.Add(Time("EpisodeKernels.Update", () => _kernels.Window(_window)));
        // As Learn runs it: the window's state comes back every update, which waits for the device.
        times.Add(Time("update", () =>
        {
            Rollout();
            GradientAndStep(0f, step: true);
            _kernels.Window(_window);
            _window.State.CopyToCPU(_hostWindow);
        }));
        _terms.MemSetToZero();
        return times;
    }

    /// <summary>Copies theta to the host (checks and tests).</summary>
    internal float[] Theta()
    {
        var theta = new float[_learn.Parameters];
        _theta.CopyToCPU(theta);
        return theta;
    }

    /// <summary>Copies a device buffer of the rollout or the learner to the host (tests compare them with the CPU's).</summary>
    internal static float[] Read(ArrayView<float> view)
    {
        var values = new float[view.Length];
        view.CopyToCPU(values);
        return values;
    }

    internal RolloutViews RolloutBuffers => _rollout;

    /// <summary>MinAtar's composed rollout (its row-major observations), or null on classic control.</summary>
    internal MinAtarRollout? MinAtar => _minAtar;

    /// <summary>The composed rollout's targets views (the final observations' scratch columns).</summary>
    internal VTraceViews Targets => _targets;

    /// <summary>The lanes (checks shorten MinAtar's time limit so that truncations happen).</summary>
    internal DeviceLanes Env => _env;

    internal LearnViews LearnBuffers => _learn;

    public void Dispose()
    {
        foreach (MemoryBuffer b in _buffers) b.Dispose();
        _minAtar?.Dispose();
        _env.Dispose();
    }
}

/// <summary>A2C's kernels and the gradient's, compiled once per accelerator.</summary>
internal sealed class A2cKernels
{
    readonly Action<KernelConfig, LearnViews> _tiles;
    readonly Action<Index1D, int, LearnViews> _flat;
    readonly int _threads;
    readonly Action<KernelConfig, RolloutViews> _rollout;
    readonly Action<KernelConfig, WindowViews> _window;
    readonly Action<KernelConfig, LearnViews, ArrayView<float>, float, float, float, float, int> _reduce;

    public A2cKernels(IlgpuDevice device)
    {
        var clock = Stopwatch.StartNew();
        Accelerator a = device.Accelerator;
        Group = device.Group;
        _rollout = a.LoadStreamKernel<RolloutViews>(ActorCriticKernels.Rollout);
        _window = a.LoadStreamKernel<WindowViews>(EpisodeKernels.Update);
        _tiles = a.LoadStreamKernel<LearnViews>(GradientKernels.Tiles);
        _flat = a.LoadAutoGroupedStreamKernel<Index1D, int, LearnViews>(GradientKernels.Flat);
        _threads = device.Threads;
        FlatTiles = !device.SharedMemoryKernels;
        _reduce = a.LoadStreamKernel<LearnViews, ArrayView<float>, float, float, float, float, int>(GradientKernels.Reduce);
        CompileSeconds = clock.Elapsed.TotalSeconds;
    }

    /// <summary>One rollout: a group per tile of lanes (the group over the threads per lane), theta in dynamic shared memory when asked.</summary>
    public void Rollout(in RolloutViews r)
    {
        int lanesPerGroup = Group / r.ThreadsPerLane, tiles = (r.Env.Lanes + lanesPerGroup - 1) / lanesPerGroup;
        SharedMemoryConfig shared = r.SharedTheta != 0 ? SharedMemoryConfig.RequestDynamic<float>((int)r.Net.Theta.Length) : default;
        _rollout(new KernelConfig(new Index1D(tiles), new Index1D(Group), shared), r);
    }

    /// <summary>Threads per group of the explicitly grouped kernels: the device's (<see cref="IlgpuDevice.Group"/>).</summary>
    public int Group { get; }

    /// <summary>Seconds the kernels took to compile.</summary>
    public double CompileSeconds { get; }

    /// <summary>This rollout's episodes into the solve window (EpisodeKernels.Update): one group.</summary>
    public void Window(in WindowViews w) => _window(new KernelConfig(1, Group), w);

    /// <summary>
    /// The per-chunk partial sums of the weight gradients: GradientKernels.Tiles, a group per tile and chunk; on ILGPU's
    /// CPU accelerator (<see cref="IlgpuDevice.SharedMemoryKernels"/> false), GradientKernels.Flat, the same sums without barriers.
    /// </summary>
    public void Tiles(in LearnViews v)
    {
        if (FlatTiles)
        {
            int threads = (int)Math.Clamp((long)v.TileCount * GradientKernels.TileRows * GradientKernels.TileColumns * v.Chunks, 1, _threads);
            _flat(threads, threads, v);
        }
        else _tiles(new KernelConfig(v.TileCount * v.Chunks, TileGroup), v);
    }

    /// <summary>Whether <see cref="Tiles"/> runs GradientKernels.Flat (where the device does not take shared-memory kernels: the CPU accelerator); tests set it to compare the two.</summary>
    public bool FlatTiles { get; set; }

    /// <summary>Threads per group of the tiles: one per pair of a tile's outputs (128), or the group where it is smaller.</summary>
    public int TileGroup => Math.Min(Group, GradientKernels.TilePairs);

    /// <summary>The chunks' sum, the squared norm and (with <paramref name="step"/>) the clipped RMSProp step (GradientKernels.Reduce): one group.</summary>
    public void Reduce(in LearnViews v, ArrayView<float> scalars, float maxNorm, float learningRate, float alpha, float epsilon, bool step) =>
        _reduce(new KernelConfig(1, Group), v, scalars, maxNorm, learningRate, alpha, epsilon, step ? 1 : 0);
}

/// <summary>The batched forward pass (<see cref="ActorCriticKernels.Predict"/>), laid out for its rows at each launch.</summary>
internal sealed class PredictKernel
{
    readonly Action<KernelConfig, PredictViews> _kernel;
    readonly int _group;
    readonly long _resident;

    public PredictKernel(Accelerator a, int group, long residentThreads)
    {
        _kernel = a.LoadStreamKernel<PredictViews>(ActorCriticKernels.Predict);
        (_group, _resident) = (group, residentThreads);
    }

    /// <summary>Logits and values of <paramref name="v"/>'s rows (at least one).</summary>
    public void Launch(PredictViews v)
    {
        v.ThreadsPerRow = RolloutShape.ThreadsPerLane(v.Rows, _resident, _group);
        int parameters = (int)v.Net.Theta.Length, rowsPerGroup = _group / v.ThreadsPerRow;
        v.SharedTheta = RolloutShape.ThetaFits(parameters) ? 1 : 0;
        SharedMemoryConfig shared = v.SharedTheta != 0 ? SharedMemoryConfig.RequestDynamic<float>(parameters) : default;
        _kernel(new KernelConfig(new Index1D((v.Rows + rowsPerGroup - 1) / rowsPerGroup), new Index1D(_group), shared), v);
    }
}

/// <summary>How the rollout kernel is laid out on a device.</summary>
internal static class RolloutShape
{
    /// <summary>Floats of dynamic shared memory a group may ask for without an opt-in: 48 KiB on every CUDA GPU.</summary>
    public const int SharedFloats = 48 * 1024 / sizeof(float);

    /// <summary>Whether theta fits in a group's shared memory.</summary>
    public static bool ThetaFits(int parameters) => parameters <= SharedFloats;

    /// <summary>
    /// Threads per lane: the largest power of two, at most 32 and at most the group, for which the lanes' threads still
    /// fit in the device's resident threads (an H200: 132 multiprocessors of 2,048 threads; 4,096 lanes get 32 threads
    /// each, 65,536 lanes 4), so every multiprocessor is busy at few lanes; 1 when the lanes alone fill the device.
    /// </summary>
    public static int ThreadsPerLane(int lanes, long residentThreads, int group)
    {
        int parts = 1;
        while (parts < 32 && parts * 2 <= group && (long)lanes * parts * 2 <= residentThreads) parts *= 2;
        return parts;
    }
}
