using System.Globalization;
using Hybrid.Envs;
using Hybrid.Gpu.Kernels;
using Hybrid.Nn.Models;
using Hybrid.Training.Algorithms;

namespace Hybrid.Gpu;

/// <summary>
/// A GPU as the cost model sees it, from the vendors' data sheets: multiprocessors, boost clock, memory bandwidth and
/// fp32 throughput (a fused multiply-add counts as two operations).
/// </summary>
/// <param name="Name">The GPU.</param>
/// <param name="Multiprocessors">Streaming multiprocessors.</param>
/// <param name="ClockGHz">Boost clock.</param>
/// <param name="BytesPerSecond">Memory bandwidth.</param>
/// <param name="Fp32PerSecond">fp32 operations per second.</param>
public sealed record GpuSpec(string Name, int Multiprocessors, double ClockGHz, double BytesPerSecond, double Fp32PerSecond)
{
    /// <summary>NVIDIA H200 SXM: 132 SMs, 1.98 GHz, 4.8 TB/s HBM3e, 67 TFLOPS fp32 (NVIDIA H200 data sheet, 2024).</summary>
    public static GpuSpec H200 { get; } = new("H200", 132, 1.98, 4.8e12, 67e12);

    /// <summary>NVIDIA A100 80GB SXM: 108 SMs, 1.41 GHz, 2.039 TB/s HBM2e, 19.5 TFLOPS fp32 (NVIDIA A100 data sheet, 2021).</summary>
    public static GpuSpec A100 { get; } = new("A100", 108, 1.41, 2.039e12, 19.5e12);

    /// <summary>Threads a multiprocessor keeps resident (2,048 on both).</summary>
    public const int ThreadsPerMultiprocessor = 2048;

    /// <summary>The two GPUs the plan prints.</summary>
    public static IReadOnlyList<GpuSpec> Known { get; } = [H200, A100];
}

/// <summary>
/// One kernel's work in one A2C update (or one env step), counted from its code: bytes that must cross the memory bus,
/// multiply-adds, and on-chip load wavefronts (128-byte shared-memory or L1 transactions, one per clock per
/// multiprocessor), which bound the matrix loops that load two operands per multiply-add.
/// </summary>
/// <param name="Kernel">Class.Method.</param>
/// <param name="Launches">Launches per update.</param>
/// <param name="Bytes">Global-memory bytes moved per update.</param>
/// <param name="MultiplyAdds">fp32 multiply-adds per update.</param>
/// <param name="Wavefronts">On-chip load wavefronts per update.</param>
/// <param name="SingleBlock">The kernel is one block on one multiprocessor.</param>
/// <param name="Parts">Kernels that run one after the other and are shown as this one row (their estimates add up), or null.</param>
public sealed record KernelCost(string Kernel, int Launches, double Bytes, double MultiplyAdds, double Wavefronts, bool SingleBlock = false,
    IReadOnlyList<KernelCost>? Parts = null)
{
    /// <summary>Launch overhead per kernel, seconds: a few microseconds on every recent driver.</summary>
    public const double LaunchSeconds = 4e-6;

    /// <summary>Bytes per clock one multiprocessor can pull from L2 (the bound of a one-block kernel).</summary>
    public const double BytesPerClockOneMultiprocessor = 64;

    /// <summary>The roofline estimate on <paramref name="gpu"/>, milliseconds per update: the largest of memory, arithmetic and on-chip loads, plus launches.</summary>
    public double Milliseconds(GpuSpec gpu)
    {
        if (Parts is not null) return Parts.Sum(p => p.Milliseconds(gpu));
        (double memory, double arithmetic, double loads) = Seconds(gpu);
        return (Math.Max(memory, Math.Max(arithmetic, loads)) + Launches * LaunchSeconds) * 1e3;
    }

    /// <summary>Which bound the estimate is: memory, arithmetic or loads.</summary>
    public string Bound(GpuSpec gpu)
    {
        if (Parts is not null) return Parts.MaxBy(p => p.Milliseconds(gpu))!.Bound(gpu);
        (double memory, double arithmetic, double loads) = Seconds(gpu);
        return memory >= arithmetic && memory >= loads ? "memory" : arithmetic >= loads ? "arithmetic" : "loads";
    }

    /// <summary>Seconds each resource needs on <paramref name="gpu"/> (one multiprocessor's share for a one-block kernel).</summary>
    (double Memory, double Arithmetic, double Loads) Seconds(GpuSpec gpu)
    {
        ArgumentNullException.ThrowIfNull(gpu);
        double clock = gpu.ClockGHz * 1e9;
        return SingleBlock
            ? (Bytes / (BytesPerClockOneMultiprocessor * clock), MultiplyAdds * 2 / (gpu.Fp32PerSecond / gpu.Multiprocessors), Wavefronts / clock)
            : (Bytes / gpu.BytesPerSecond, MultiplyAdds * 2 / gpu.Fp32PerSecond, Wavefronts / (clock * gpu.Multiprocessors));
    }
}

/// <summary>
/// The cost model of Hybrid's device path: what each kernel of an A2C update moves and computes for a config, counted
/// from the kernels' code, and the roofline estimate that follows on a GPU. These are estimates, not measurements; the
/// GPU check (experiments/gpu/check.sh) times each kernel beside them.
/// </summary>
public static class CostModel
{
    const int Float = sizeof(float);

    /// <summary>
    /// The kernels of one A2C update (rollout, gradient tiles, reduction and step, solve window) for <paramref name="config"/>;
    /// on MinAtar the composed rollout's kernels as one row, and the convolution's gradient as a row after the tiles
    /// (<see cref="A2cMinAtarUpdate"/>), as the device stream times them.
    /// </summary>
    /// <exception cref="ArgumentException">The config's env has no device kernels, or its network is not one the device path runs.</exception>
    public static IReadOnlyList<KernelCost> A2cUpdate(A2cConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (EnvRegistry.IsMinAtar(config.Env)) return A2cMinAtarUpdate(config);
        DeviceEnvKind kind = DeviceEnvs.Kind(config.Env);
        EnvSpec env = EnvRegistry.Spec(config.Env);
        (ActorCriticNetwork net, int[] layers, int featureRows, int deltaRows, bool box, int[] tiles) = LayoutOf(config);
        int actions = net.Actions, parameters = net.ParameterCount, hidden = layers.Length / NetShape.Entry - 2;
        long n = config.Lanes.NumEnvs, samples = n * config.TMax;

        (long forward, long backward, long heads) = DenseWork(layers, actions);

        // Rollout: the per-sample rows it writes (F, D, logits, actions, the ended returns and six per-sample scalars), the
        // F and D rows the backward pass reads again (by then out of cache at large N), the env step's state, and theta
        // once (every group copies it into shared memory, but a few KiB read by all stay in L2).
        double rolloutBytes = samples * Float * (featureRows + deltaRows + actions + (box ? actions : 1) + 7.0)
            + samples * Float * (featureRows - env.ObservationSize + deltaRows)
            + samples * EnvStepBytes(kind)
            + (double)parameters * Float;
        double rolloutMacs = samples * (double)(forward + backward) + n * (double)forward;
        // A warp's multiply-add loads theta (one broadcast wavefront) and its lanes' input (one coalesced wavefront); the
        // hidden layers and the torso's backward pass take outputs two at a time, one input load for two multiply-adds.
        double headMacs = (samples + n) * (double)heads, pairedMacs = rolloutMacs - headMacs;
        double rolloutWaves = headMacs / 32 * 2 + pairedMacs / 32 * 1.5;

        return
        [
            new KernelCost("ActorCriticKernels.Rollout", 1, rolloutBytes, rolloutMacs, rolloutWaves),
            .. Gradient(tiles, samples, parameters),
            Window(samples),
        ];
    }

    /// <summary>
    /// Multiply-adds per sample of the dense layers in <paramref name="layers"/> (a layer table): forward, every layer's
    /// inputs x outputs; the heads' share of it; the torso's backward pass, the heads' gradients into the last hidden
    /// layer, then each hidden layer's weights back to the one below.
    /// </summary>
    static (long Forward, long Backward, long Heads) DenseWork(int[] layers, int actions)
    {
        int hidden = layers.Length / NetShape.Entry - 2;
        long forward = 0, backward = 0, heads = 0;
        for (int l = 0; l < hidden + 2; l++) forward += (long)layers[l * NetShape.Entry + 1] * layers[l * NetShape.Entry + 2];
        for (int l = hidden; l < hidden + 2; l++) heads += (long)layers[l * NetShape.Entry + 1] * layers[l * NetShape.Entry + 2];
        int width = layers[(hidden - 1) * NetShape.Entry + 2];
        backward += (long)width * (actions + 1);
        for (int l = hidden - 1; l > 0; l--) backward += (long)layers[l * NetShape.Entry + 1] * layers[l * NetShape.Entry + 2];
        return (forward, backward, heads);
    }

    /// <summary>The weight gradient's tiles and the reduction with the step, for <paramref name="samples"/> samples.</summary>
    static KernelCost[] Gradient(int[] tiles, long samples, int parameters)
    {
        // Gradient tiles: each tile reads its input rows and delta rows over every sample, and writes its chunk's sums.
        int tileCount = tiles.Length / GradientKernels.TileEntry;
        int chunk = GradientKernels.ChunkFor((int)Math.Min(samples, int.MaxValue));
        long chunks = (samples + chunk - 1) / chunk;
        double tileRows = 0;
        for (int t = 0; t < tileCount; t++)
        {
            int e = t * GradientKernels.TileEntry, inputs = tiles[e + 1], outputs = tiles[e + 2], k0 = tiles[e + 5], j0 = tiles[e + 6];
            tileRows += Math.Min(GradientKernels.TileRows, inputs - k0) + Math.Min(GradientKernels.TileColumns, outputs - j0);
        }
        double tileBytes = tileRows * samples * Float + chunks * (double)parameters * Float;
        double tileMacs = (double)tileCount * GradientKernels.TileRows * GradientKernels.TileColumns * samples;
        // Per sample a thread loads one input and two deltas for its two outputs: three wavefronts per two multiply-adds.
        double tileWaves = tileMacs / 32 * 1.5;

        // Reduce and step: one block reads every chunk's sums and reads and writes theta, the statistics and the gradient.
        double reduceBytes = chunks * (double)parameters * Float + 5.0 * parameters * Float;

        return
        [
            new KernelCost("GradientKernels.Tiles", 1, tileBytes, tileMacs, tileWaves),
            new KernelCost("GradientKernels.Reduce", 1, reduceBytes, chunks * (double)parameters, 0, SingleBlock: true),
        ];
    }

    /// <summary>The solve window: one group reads the rollout's per-(step, lane) returns twice (count, then place), then 16 bytes go back to the host.</summary>
    static KernelCost Window(long samples) => new("EpisodeKernels.Update", 1, 2.0 * samples * Float, 0, 0, SingleBlock: true);

    /// <summary>
    /// One A2C update on MinAtar (the composed rollout): five rows, as the device stream times them. The rollout: the
    /// observations rendered once, then per step the convolution and the dense layers over the lanes (and once more over
    /// the bootstrap rows), the actions sampled, the games stepped and the step recorded; then the targets and the dense
    /// torso's backward pass a thread per lane. Then the dense layers' gradient tiles, the convolution's gradient (its
    /// output deltas, weight partials and their sum), the reduction with the step, and the solve window. The bootstrap
    /// rows are counted as the lanes' next observations alone (truncations are rare: 108,000 steps).
    /// </summary>
    /// <exception cref="ArgumentException">The game has no device kernels.</exception>
    public static IReadOnlyList<KernelCost> A2cMinAtarUpdate(A2cConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        DeviceGame game = DeviceMinAtarEnv.GameOf(config.Env, out _, out _);
        ModelSpec spec = Acting.ActorCriticSpec(config);
        var net = (ActorCriticNetwork)spec.Build();
        int[] layers = IlgpuA2cStream.LayerTable(net, ConvShape.DenseInputs(net), allowConv: true, out int featureRows, out int deltaRows);
        int[] tiles = GradientKernels.TileTable(layers, net.LogStd.Offset, deltaRows, 0);
        int actions = net.Actions, parameters = net.ParameterCount, observation = EnvRegistry.Spec(config.Env).ObservationSize, t = config.TMax;
        long n = config.Lanes.NumEnvs, samples = n * t, rows = samples + n;
        (long forward, long backward, _) = DenseWork(layers, actions);
        IReadOnlyList<KernelCost> conv = ConvLearner(spec, (int)Math.Min(samples, int.MaxValue), (int)n);
        int denseInputs = ConvShape.DenseInputs(net);

        // The dense forward pass of every row: its inputs read, the hidden outputs, logits and value written (theta stays in L2).
        double predictBytes = rows * Float * ((double)featureRows + actions + 1) + (double)parameters * Float;
        // Act: a lane's logits read, its action written twice (the rollout's and the game's), its action stream read and written.
        double actBytes = samples * Float * (actions + 2 + 3.0);
        // Record: reward, two flags and the ended return read per lane; reward, discount, cut, ended return and final column written per sample.
        double recordBytes = samples * Float * (4 + 5.0);
        // Targets: per sample the value, reward, discount, cut, action, logits read, the heads' deltas written; the torso's
        // backward pass reads the hidden outputs and writes the hidden deltas.
        double targetBytes = samples * Float * (5.0 + actions + actions + 1 + 2.0 * (featureRows - denseInputs) + (deltaRows - actions - 1));
        KernelCost[] rollout =
        [
            new("MinAtarKernels.ObserveAll", 1, n * (2.0 * MinAtarKernels.Variables(game) * Float + observation * Float), 0, 0),
            conv[0] with { Launches = t + 1 },
            new("ActorCriticKernels.Predict", t + 1, predictBytes, rows * (double)forward, rows * (double)forward / 32 * 1.5),
            new("ActorCriticKernels.Act", t, actBytes, 0, 0),
            new("MinAtarKernels.Step", t, samples * (double)MinAtarStepBytes(game), 0, 0),
            new("ActorCriticKernels.Record", t, recordBytes, 0, 0),
            new("ActorCriticKernels.VTrace", 1, targetBytes, samples * (double)backward, 0),
        ];
        return
        [
            Sum("MinAtar rollout", rollout),
            Gradient(tiles, samples, parameters)[0],
            Sum("ConvKernels backward", conv.Skip(1)),
            Gradient(tiles, samples, parameters)[1],
            Window(samples),
        ];
    }

    /// <summary>Kernels that run one after the other as one row: their launches, bytes, multiply-adds and wavefronts added, their estimates summed.</summary>
    static KernelCost Sum(string name, IEnumerable<KernelCost> parts)
    {
        KernelCost[] all = [.. parts];
        return new KernelCost(name, all.Sum(p => p.Launches), all.Sum(p => p.Bytes), all.Sum(p => p.MultiplyAdds), all.Sum(p => p.Wavefronts), Parts: all);
    }

    /// <summary>
    /// One step of <paramref name="lanes"/> lanes with random actions (EnvKernels.Step, as bench env runs it): the state
    /// read and written, elapsed steps and return read and written, the action stream, the observation, reward and flags.
    /// </summary>
    public static KernelCost EnvStep(string envId, int lanes)
    {
        ArgumentNullException.ThrowIfNull(envId);
        if (EnvRegistry.IsMinAtar(envId))
            return new KernelCost("MinAtarKernels.Step", 1, (double)lanes * MinAtarStepBytes(DeviceMinAtarEnv.GameOf(envId, out _, out _)), 0, 0);
        DeviceEnvKind kind = DeviceEnvs.Kind(envId);
        return new KernelCost("EnvKernels.Step", 1, (double)lanes * EnvStepBytes(kind), 0, 0);
    }

    /// <summary>
    /// Bytes one MinAtar lane-step moves with random actions: the game's state read and written (all of it: an upper
    /// bound for Seaquest, whose object lists are mostly empty), elapsed steps, return, the env and action streams and
    /// the last action read and written, the action map read, the whole observation written (C x 100 floats), the
    /// reward and two flags.
    /// </summary>
    public static int MinAtarStepBytes(DeviceGame game) =>
        2 * MinAtarKernels.Variables(game) * Float + 2 * Float + 2 * Float + 2 * 3 * Float + 2 * Float + Float
        + MinAtarKernels.Channels(game) * 100 * Float + 3 * Float;

    /// <summary>Bytes one lane-step moves: state r/w, elapsed r/w, return r/w, the action stream (state r/w, step), observation, reward, two flags.</summary>
    public static int EnvStepBytes(DeviceEnvKind kind) =>
        2 * EnvDynamics.StateSize(kind) * Float + 2 * Float + 2 * Float + 3 * Float + EnvDynamics.ObservationSize(kind) * Float + 3 * Float;

    /// <summary>
    /// What a learner update's convolution kernels move and compute for <paramref name="spec"/>'s conv torso, with
    /// <paramref name="samples"/> samples and <paramref name="bootstrapRows"/> rows that only go forward (each unroll's
    /// next observations and the final observations of truncated steps), counted from the kernels' code: the forward
    /// pass reads each input and writes each output once (the weights stay in cache), the output deltas read the first
    /// dense layer's weights and deltas, and the weight gradients read the inputs and deltas per 32-sample chunk.
    /// </summary>
    /// <exception cref="ArgumentException">The network has no leading convolution.</exception>
    public static IReadOnlyList<KernelCost> ConvLearner(ModelSpec spec, int samples, int bootstrapRows)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var net = (ActorCriticNetwork)spec.Build();
        Hybrid.Nn.Layers.Conv2d conv = ConvShape.LeadingConv(net) ?? throw new ArgumentException($"the network '{spec}' has no convolution.", nameof(spec));
        int inputs = conv.InputSize, outputs = conv.OutputSize, patch = conv.Kernel * conv.Kernel * conv.Channels, parameters = conv.ParameterCount;
        int dense = net.Torso.OfType<Hybrid.Nn.Layers.Linear>().First().OutputSize, pixels = conv.OutHeight * conv.OutWidth;
        long rows = (long)samples + bootstrapRows, chunks = (samples + ConvKernels.SamplesPerChunk - 1) / ConvKernels.SamplesPerChunk;
        return
        [
            new KernelCost("ConvKernels.ForwardRelu", 2, (double)rows * (inputs + outputs) * Float + parameters * Float, (double)rows * outputs * patch, 0),
            new KernelCost("ConvKernels.InputDeltas", 1, (double)samples * (2 * outputs + dense) * Float + (double)outputs * dense * Float,
                (double)samples * outputs * dense, 0),
            new KernelCost("ConvKernels.WeightPartials", 1, (double)samples * (inputs + outputs) * Float + chunks * (double)parameters * Float,
                (double)samples * pixels * (parameters - conv.Filters), 0),
            new KernelCost("ConvKernels.ReducePartials", 1, chunks * (double)parameters * Float + parameters * Float, 0, 0),
        ];
    }

    /// <summary>The parameters of <paramref name="config"/>'s network.</summary>
    public static int Parameters(A2cConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Acting.ActorCriticSpec(config).Build().ParameterCount;
    }

    /// <summary>The network of <paramref name="config"/> as the kernels lay it out: the layer table, its F and D rows, and the gradient's tiles.</summary>
    static (ActorCriticNetwork Net, int[] Layers, int FeatureRows, int DeltaRows, bool Box, int[] Tiles) LayoutOf(A2cConfig config)
    {
        var net = (ActorCriticNetwork)Acting.ActorCriticSpec(config).Build();
        int[] layers = IlgpuA2cStream.LayerTable(net, EnvRegistry.Spec(config.Env).ObservationSize, out int featureRows, out int deltaRows);
        bool box = net.Spec.ActionKind == ActionKind.Box;
        int logStds = box ? net.Actions : 0;
        return (net, layers, featureRows, deltaRows, box, GradientKernels.TileTable(layers, net.LogStd.Offset, deltaRows - logStds, logStds));
    }

    /// <summary>The launch shape of A2C's kernels on <paramref name="gpu"/> for <paramref name="config"/>, in words.</summary>
    public static IReadOnlyList<string> A2cLaunches(A2cConfig config, GpuSpec gpu)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(gpu);
        const int group = 256;
        var inv = CultureInfo.InvariantCulture;
        if (EnvRegistry.IsMinAtar(config.Env))
        {
            IReadOnlyList<KernelCost> kernels = A2cMinAtarUpdate(config);
            return
            [
                string.Create(inv, $"{kernels[0].Launches} launches: per step conv, dense, act, game step, record; 4 bytes back"),
                string.Create(inv, $"{kernels[1].Launches} launch of 16 x 16 tiles per chunk"),
                string.Create(inv, $"{kernels[2].Launches} launches: 16 x 32 tiles, 32-sample chunks, the sum"),
                string.Create(inv, $"1 x {group}"),
                string.Create(inv, $"1 x {group}, 16 bytes back"),
            ];
        }
        (ActorCriticNetwork net, _, _, _, _, int[] tileTable) = LayoutOf(config);
        int parts = RolloutShape.ThreadsPerLane(config.Lanes.NumEnvs, (long)gpu.Multiprocessors * GpuSpec.ThreadsPerMultiprocessor, group);
        long tiles = (config.Lanes.NumEnvs + group / parts - 1) / (group / parts);
        int samples = config.Lanes.NumEnvs * config.TMax, chunk = GradientKernels.ChunkFor(samples), chunks = (samples + chunk - 1) / chunk;
        int gradientTiles = tileTable.Length / GradientKernels.TileEntry;
        return
        [
            string.Create(inv, $"{tiles:N0} x {group}, {parts} threads/lane, theta {(RolloutShape.ThetaFits(net.ParameterCount) ? $"{net.ParameterCount * 4 / 1024.0:F1} KiB shared" : "global")}"),
            string.Create(inv, $"{gradientTiles * (long)chunks:N0} x {GradientKernels.TilePairs} ({gradientTiles} tiles x {chunks} chunks of {chunk})"),
            string.Create(inv, $"1 x {group}"),
            string.Create(inv, $"1 x {group}, 16 bytes back"),
        ];
    }
}

/// <summary>Each kernel of Hybrid's device path timed on its own on a device (a timed loop of launches and one synchronize).</summary>
public static class KernelTiming
{
    /// <summary>
    /// Milliseconds per launch of A2C's rollout, gradient tiles and reduction, and of a whole update, for
    /// <paramref name="config"/> on <paramref name="device"/>, each loop taking about <paramref name="seconds"/>.
    /// </summary>
    public static IReadOnlyList<(string Kernel, double Milliseconds, int Launches)> A2cUpdate(IlgpuComputeDevice device, A2cConfig config, double seconds)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seconds);
        config.Validate();
        using var stream = new IlgpuA2cStream(device.Device, device.Kernels, config);
        return stream.TimeKernels(seconds);
    }

    /// <summary>Milliseconds per step of <paramref name="lanes"/> lanes of <paramref name="envId"/> with random actions (EnvKernels.Step).</summary>
    public static (double Milliseconds, int Launches) EnvStep(IlgpuComputeDevice device, string envId, int lanes, double seconds)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seconds);
        using var env = new DeviceVectorEnv(device.Device, envId, lanes);
        env.Reset(1, 0);
        env.StepRandom(1);
        env.Synchronize();
        for (int steps = 1; ; steps *= 2)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            env.StepRandom(steps);
            env.Synchronize();
            double elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (elapsed >= seconds || steps >= 1 << 16) return (elapsed * 1e3 / steps, steps);
        }
    }
}
