using Hybrid.Training.Algorithms;
using Hybrid.Training.Runs;

namespace Hybrid.Training.Devices;

/// <summary>
/// Hybrid's device seam, coarse on purpose (a host-device copy per layer call would cost more than the CPU's own
/// pass): a device gives a synchronous actor-critic stream, which holds a vector env whose buffers live on the device,
/// an actor that maps a batch of observations to actions, log-probabilities and values while stepping it, and a learner
/// that owns theta, the gradient and the optimizer's state where they live and performs one update from a rollout.
/// The CPU stream is Hybrid's SIMD code; Hybrid.Gpu implements the same with ILGPU kernels.
/// </summary>
public interface IComputeDevice
{
    /// <summary>Kind, name and memory.</summary>
    DeviceInfo Info { get; }

    /// <summary>A2C's stream for <paramref name="config"/> (validated), its parameters initialized from the run's seed as every device does.</summary>
    /// <exception cref="ArgumentException">The device cannot run this config (the message names the setting).</exception>
    ISyncStream OpenA2c(A2cConfig config);

    /// <summary>An actor-critic network's batched forward pass for up to <paramref name="maxRows"/> rows, as GA3C's predictor runs it.</summary>
    /// <exception cref="ArgumentException">The device cannot run this network (the message says why).</exception>
    IBatchPolicy OpenPolicy(ModelSpec spec, int maxRows);

    /// <summary>A lagged learner's gradient (IMPALA's, GA3C's) over batches of unrolls of <paramref name="shape"/>'s size.</summary>
    /// <exception cref="ArgumentException">The device cannot run this network or shape (the message says why).</exception>
    IUnrollLearner OpenLearner(ModelSpec spec, LearnerShape shape);

    /// <summary>
    /// Why this device cannot run <paramref name="work"/>, or null when it can: the checks its Open methods make, asked
    /// without opening anything (no buffers, no kernels), so that a device is chosen once.
    /// </summary>
    string? CannotRun(DeviceWork work);

    /// <summary>
    /// Gets ready for <paramref name="work"/> once it is chosen, before a run's clock starts: a device compiles the kernels
    /// it will need (they are cached for the run that follows). Nothing to do on the CPU.
    /// </summary>
    void Prepare(DeviceWork work) { }
}

/// <summary>What a run asks of its device: A2C's stream, a lagged learner's gradient, or a batched policy (GA3C's predictor).</summary>
public abstract record DeviceWork
{
    private protected DeviceWork() { }

    /// <summary>The network the work runs.</summary>
    public abstract ModelSpec Spec { get; }

    /// <summary>What the work is, for messages: training, learning or predicting.</summary>
    public abstract string Doing { get; }

    /// <summary>A2C's stream for a config (the hybrid regime's synchronous stream is one).</summary>
    public sealed record A2cStream(A2cConfig Config) : DeviceWork
    {
        /// <inheritdoc/>
        public override ModelSpec Spec => Acting.ActorCriticSpec(Config);

        /// <inheritdoc/>
        public override string Doing => "training";
    }

    /// <summary>A lagged learner's gradient over batches of <paramref name="Shape"/>.</summary>
    public sealed record Learner(ModelSpec Network, LearnerShape Shape) : DeviceWork
    {
        /// <inheritdoc/>
        public override ModelSpec Spec => Network;

        /// <inheritdoc/>
        public override string Doing => "learning";
    }

    /// <summary>A batched forward pass of the policy and value.</summary>
    public sealed record Policy(ModelSpec Network) : DeviceWork
    {
        /// <inheritdoc/>
        public override ModelSpec Spec => Network;

        /// <inheritdoc/>
        public override string Doing => "predicting";
    }
}

/// <summary>
/// What a lagged learner's update takes: <paramref name="Unrolls"/> unrolls of <paramref name="TMax"/> steps of
/// <paramref name="Lanes"/> lanes, the loss's coefficients, and V-trace's clips (Espeholt et al. 2018); a
/// <paramref name="RhoBar"/> of 0 treats the unrolls as on-policy (n-step returns, no importance weights).
/// </summary>
public readonly record struct LearnerShape(int TMax, int Lanes, int Unrolls, float ValueCoefficient, float EntropyCoefficient, float RhoBar, float CBar)
{
    /// <summary>Samples per update.</summary>
    public int Samples => TMax * Lanes * Unrolls;
}

/// <summary>The gradient of a lagged learner's loss over a batch of unrolls, where a device computes it.</summary>
public interface IUnrollLearner : IDisposable
{
    /// <summary>
    /// The mean over <paramref name="rollouts"/> (each with its behaviour log-probabilities, and the observations after
    /// its last step in <paramref name="nextObservations"/>) of the actor-critic loss's gradient under
    /// <paramref name="theta"/>, with V-trace targets and advantages, into <paramref name="gradient"/> (overwritten, not
    /// clipped); returns the mean loss terms.
    /// </summary>
    LossTerms Gradient(ReadOnlySpan<float> theta, ReadOnlySpan<Rollout> rollouts, ReadOnlySpan<float[]> nextObservations, Span<float> gradient);
}

/// <summary>A policy network's batched forward pass where a device keeps it: theta loaded when the learner changes it, then batches of rows.</summary>
public interface IBatchPolicy : IDisposable
{
    /// <summary>Loads theta (the learner's newest).</summary>
    void SetParameters(ReadOnlySpan<float> theta);

    /// <summary>For <paramref name="rows"/> observation rows, each output row is the policy's logits, then the value.</summary>
    void Predict(ReadOnlySpan<float> observations, int rows, Span<float> outputs);
}

/// <summary>One synchronous actor-critic stream: N env lanes, the actor that steps them, and the learner.</summary>
public interface ISyncStream : IDisposable
{
    /// <summary>Threads of the host the stream keeps busy (for the summary).</summary>
    int Threads { get; }

    /// <summary>
    /// The actor: t_max steps of every lane under the current parameters, stored for the learner. Counts the steps into
    /// <paramref name="run"/>, and the episodes and loss terms that have come back from the device.
    /// </summary>
    void Collect(RunContext run);

    /// <summary>The learner: one update from the rollout just collected, at <paramref name="learningRate"/>.</summary>
    /// <exception cref="TrainingDivergedException">A loss, the gradient or theta became NaN or infinite (a device may notice it a few updates late).</exception>
    void Learn(float learningRate, RunContext run);

    /// <summary>Hands <paramref name="run"/> what is still on the device and writes the stream's end-of-run files.</summary>
    void Finish(RunContext run);

    /// <summary>Makes the stream act and take gradients with <paramref name="theta"/> (a learner elsewhere owns it: the hybrid regime).</summary>
    void SetParameters(ReadOnlySpan<float> theta);

    /// <summary>
    /// Instead of <see cref="Learn"/>, for a learner elsewhere: the gradient of the mean loss of the rollout just
    /// collected, into <paramref name="gradient"/> (not clipped), with the episodes that came back handed to
    /// <paramref name="run"/>; returns the loss terms (checked finite). The update is the caller's to count.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A loss is NaN or infinite.</exception>
    LossTerms Gradient(Span<float> gradient, RunContext run);

    /// <summary>
    /// The stream's state for a checkpoint, taken between updates: theta, the optimizer's statistics, and a section with
    /// the env lanes, the generators and the normalization, enough to continue exactly. A device first hands
    /// <paramref name="run"/> the metrics it still holds, so that the run's counters match the state.
    /// </summary>
    CheckpointData Save(RunContext run);

    /// <summary>Restores a state <see cref="Save"/> took from a stream of the same config.</summary>
    /// <exception cref="InvalidDataException">The checkpoint is of another model or kind of stream, or is damaged (the message says which).</exception>
    void Load(CheckpointData checkpoint);
}

/// <summary>
/// The devices a program has; the composition root (the command line) gives one that knows the GPU. It opens a
/// device by name; what <c>auto</c> means is <see cref="DeviceChoice"/>'s to decide.
/// </summary>
public interface IDeviceProvider
{
    /// <summary>The device <paramref name="kind"/> names (not auto); <paramref name="note"/> hears which device it is.</summary>
    /// <exception cref="ArgumentException">That device is not present (the message says why), or the kind is auto.</exception>
    IComputeDevice Open(DeviceKind kind, Action<string>? note);

    /// <summary>The GPU (cuda), or null with why there is none in <paramref name="missing"/>.</summary>
    IComputeDevice? TryOpenGpu(Action<string>? note, out string missing);
}

/// <summary>The devices Training knows by itself: the CPU. Asking for a GPU device names what is missing.</summary>
public sealed class CpuOnlyDevices : IDeviceProvider
{
    /// <summary>The one instance.</summary>
    public static CpuOnlyDevices Instance { get; } = new();

    /// <inheritdoc/>
    public IComputeDevice Open(DeviceKind kind, Action<string>? note) => kind switch
    {
        DeviceKind.Cpu => CpuDevice.Instance,
        DeviceKind.Auto => throw new ArgumentException("device auto is DeviceChoice's to decide; open a named device."),
        _ => throw new ArgumentException($"device '{DeviceInfo.NameOf(kind)}' needs Hybrid's GPU backend, which this program was not given; use --device cpu or auto."),
    };

    /// <inheritdoc/>
    public IComputeDevice? TryOpenGpu(Action<string>? note, out string missing)
    {
        missing = "this program has no GPU backend";
        return null;
    }
}

/// <summary>
/// Choosing the device a run works on, in one place for train, bench, experiments and the device tools: a named device
/// is opened and must be able to run the work; <c>auto</c> takes the GPU when there is one that can run it (asked through
/// <see cref="IComputeDevice.CannotRun"/>, nothing opened on trial), else the CPU, with one line saying why.
/// </summary>
public static class DeviceChoice
{
    /// <summary>The device <paramref name="config"/> runs on where its algorithm has a device setting (a2c, ga3c, impala, hybrid); null for the others, which run on the CPU.</summary>
    /// <exception cref="ArgumentException">The device is absent, or cannot run the config (the message says why).</exception>
    public static IComputeDevice? For(IDeviceProvider devices, AlgoConfig config, Action<string>? note) => Work(config) is { } work
        ? Choose(devices, work.Kind, work.Work, note)
        : null;

    /// <summary>The device setting and the work of an algorithm that has them (its row in <see cref="Trainer.Registry"/> says); null for the CPU-only methods.</summary>
    public static (DeviceKind Kind, DeviceWork Work)? Work(AlgoConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Trainer.Named(config.Algo).Device is { } device ? device(config) : null;
    }

    /// <summary>
    /// The device for <paramref name="kind"/>: a named one, opened, that can run <paramref name="work"/> (null: any
    /// work); for auto, the GPU if there is one that can, else the CPU, with one line to <paramref name="note"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A named device is absent or cannot run the work (the message says why).</exception>
    public static IComputeDevice Choose(IDeviceProvider devices, DeviceKind kind, DeviceWork? work, Action<string>? note)
    {
        ArgumentNullException.ThrowIfNull(devices);
        string doing = work?.Doing ?? "running";
        if (kind != DeviceKind.Auto)
        {
            IComputeDevice named = devices.Open(kind, note);
            if (work is not null && named.CannotRun(work) is string why) throw new ArgumentException(why);
            if (work is not null) named.Prepare(work);
            return named;
        }
        IComputeDevice? gpu = devices.TryOpenGpu(note, out string missing);
        if (gpu is null)
        {
            note?.Invoke($"device auto: {missing}; {doing} on the CPU (Hybrid's SIMD kernels).");
            return CpuDevice.Instance;
        }
        if (work is not null && gpu.CannotRun(work) is string cannot)
        {
            note?.Invoke($"device auto: {gpu.Info.Kind} cannot run this config ({cannot}); {doing} on the CPU.");
            return CpuDevice.Instance;
        }
        if (work is not null) gpu.Prepare(work);
        return gpu;
    }
}
