using Hybrid.Training.Runs;
using Hybrid.Training.Algorithms;

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

/// <summary>Opens the device a config names; the composition root (the command line) gives one that knows the GPU.</summary>
public interface IDeviceProvider
{
    /// <summary>
    /// The device for <paramref name="choice"/> (one of <see cref="DeviceInfo.Choices"/>); <paramref name="note"/> gets one
    /// line when <c>auto</c> falls back to the CPU.
    /// </summary>
    /// <exception cref="ArgumentException">The choice is unknown or that device is not present.</exception>
    IComputeDevice Open(string choice, Action<string>? note);
}

/// <summary>The devices Training knows by itself: the CPU. <c>auto</c> means the CPU here; asking for a GPU device names what is missing.</summary>
public sealed class CpuOnlyDevices : IDeviceProvider
{
    /// <summary>The one instance.</summary>
    public static CpuOnlyDevices Instance { get; } = new();

    /// <inheritdoc/>
    public IComputeDevice Open(string choice, Action<string>? note) => choice switch
    {
        "auto" or "cpu" => CpuDevice.Instance,
        "cuda" or "ilgpu-cpu" => throw new ArgumentException($"device '{choice}' needs Hybrid's GPU backend, which this program was not given; use --device cpu or auto."),
        _ => throw new ArgumentException($"device '{choice}' is unknown; expected one of {string.Join(", ", DeviceInfo.Choices)}."),
    };
}

/// <summary>Choosing A2C's device for a config, in one place for train, bench and experiments.</summary>
public static class DeviceChoice
{
    /// <summary>The device <paramref name="config"/> runs on where its algorithm has a device setting (a2c, ga3c, impala, hybrid); null for the others, which run on the CPU.</summary>
    /// <exception cref="ArgumentException">The device is unknown or absent, or cannot run the config (the message says why).</exception>
    public static IComputeDevice? For(IDeviceProvider devices, AlgoConfig config, Action<string>? note) => config switch
    {
        A2cConfig a2c => ForA2c(devices, a2c, note),
        Ga3cConfig ga3c => ForGa3c(devices, ga3c, note),
        ImpalaConfig impala => ForImpala(devices, impala, note),
        HybridConfig hybrid => ForA2c(devices, hybrid.SyncStream, note),
        _ => null,
    };

    /// <summary>
    /// The device GA3C's predictor runs on: the config's <c>device</c> opened by <paramref name="devices"/>, checked by
    /// opening its policy; under <c>auto</c> a GPU that cannot run the network gives way to the CPU, with one line.
    /// </summary>
    /// <exception cref="ArgumentException">The device is unknown or absent, or cannot run the network (the message says why).</exception>
    public static IComputeDevice ForGa3c(IDeviceProvider devices, Ga3cConfig config, Action<string>? note)
    {
        ArgumentNullException.ThrowIfNull(config);
        ModelSpec spec = Acting.ActorCriticSpec(config);
        return Checked(devices, config.Compute.Device, note, "predicting", device =>
        {
            using IBatchPolicy probe = device.OpenPolicy(spec, 1);
        });
    }

    /// <summary>
    /// The device IMPALA's learner computes its gradients on: the config's <c>device</c>, checked by opening a learner of
    /// the run's shape; under <c>auto</c> a GPU that cannot run the network gives way to the CPU, with one line.
    /// </summary>
    /// <exception cref="ArgumentException">The device is unknown or absent, or cannot run the network (the message says why).</exception>
    public static IComputeDevice ForImpala(IDeviceProvider devices, ImpalaConfig config, Action<string>? note)
    {
        ArgumentNullException.ThrowIfNull(config);
        ModelSpec spec = Acting.ActorCriticSpec(config);
        return Checked(devices, config.Compute.Device, note, "learning", device =>
        {
            using IUnrollLearner probe = device.OpenLearner(spec, config.LearnerShape);
        });
    }

    /// <summary>
    /// The device <paramref name="config"/> names, opened by <paramref name="devices"/>, having checked it can run the
    /// config (a stream is opened and closed). Under <c>auto</c> a GPU that cannot (a conv torso, normalization) gives way
    /// to the CPU, with one line to <paramref name="note"/>; a device asked for by name that cannot run it is an error.
    /// </summary>
    /// <exception cref="ArgumentException">The device is unknown or absent, or cannot run the config (the message says why).</exception>
    public static IComputeDevice ForA2c(IDeviceProvider devices, A2cConfig config, Action<string>? note)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Checked(devices, config.Compute.Device, note, "training", device =>
        {
            using ISyncStream probe = device.OpenA2c(config);
        });
    }

    /// <summary>Opens <paramref name="choice"/>; a device other than the CPU must pass <paramref name="probe"/>, or under auto gives way to the CPU.</summary>
    static IComputeDevice Checked(IDeviceProvider devices, string choice, Action<string>? note, string work, Action<IComputeDevice> probe)
    {
        ArgumentNullException.ThrowIfNull(devices);
        IComputeDevice device = devices.Open(choice, note);
        if (device is CpuDevice) return device;
        try
        {
            probe(device);
        }
        catch (ArgumentException e) when (choice == "auto")
        {
            note?.Invoke($"device auto: {device.Info.Kind} cannot run this config ({e.Message}); {work} on the CPU.");
            return CpuDevice.Instance;
        }
        return device;
    }
}
