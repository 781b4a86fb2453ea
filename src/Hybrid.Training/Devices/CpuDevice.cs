using System.Numerics.Tensors;
using Hybrid.Training.Algorithms;

namespace Hybrid.Training.Devices;

/// <summary>The CPU: Hybrid's SIMD kernels, the lanes on a pool of persistent threads.</summary>
public sealed class CpuDevice : IComputeDevice
{
    /// <summary>The one instance.</summary>
    public static CpuDevice Instance { get; } = new();

    /// <inheritdoc/>
    public DeviceInfo Info => DeviceInfo.Cpu;

    /// <inheritdoc/>
    public ISyncStream OpenA2c(A2cConfig config) => new CpuA2cStream(config);

    /// <inheritdoc/>
    public IBatchPolicy OpenPolicy(ModelSpec spec, int maxRows) => new CpuBatchPolicy(spec, maxRows);

    /// <inheritdoc/>
    public IUnrollLearner OpenLearner(ModelSpec spec, LearnerShape shape) => new CpuUnrollLearner(spec, shape);

    /// <summary>Nothing: the CPU runs every network, normalization and update Hybrid has.</summary>
    public string? CannotRun(DeviceWork work) => null;
}

/// <summary>A lagged learner's gradient on the CPU: each unroll's loss gradient (Hybrid's network), averaged over the batch.</summary>
internal sealed class CpuUnrollLearner : IUnrollLearner
{
    readonly ActorCriticUpdate _update;
    readonly LearnerShape _shape;
    readonly VTraceClip? _clip;

    public CpuUnrollLearner(ModelSpec spec, LearnerShape shape)
    {
        _shape = shape;
        _update = new ActorCriticUpdate((ActorCriticNetwork)spec.Build(), shape.TMax, shape.Lanes);
        _clip = shape.RhoBar > 0 ? new VTraceClip(shape.RhoBar, shape.CBar) : null;
    }

    public LossTerms Gradient(ReadOnlySpan<float> theta, ReadOnlySpan<Rollout> rollouts, ReadOnlySpan<float[]> nextObservations, Span<float> gradient)
    {
        gradient.Clear();
        double policy = 0, value = 0, entropy = 0;
        for (int i = 0; i < rollouts.Length; i++)
        {
            LossTerms t = _update.AddGradient(theta, rollouts[i], nextObservations[i], 1f, _shape.ValueCoefficient, _shape.EntropyCoefficient, _clip, gradient);
            (policy, value, entropy) = (policy + t.Policy, value + t.Value, entropy + t.Entropy);
        }
        TensorPrimitives.Multiply(gradient, 1f / rollouts.Length, gradient);
        return new LossTerms((float)(policy / rollouts.Length), (float)(value / rollouts.Length), (float)(entropy / rollouts.Length));
    }

    public void Dispose() { }
}

/// <summary>The policy's batched forward pass on the CPU: Hybrid's network with its own copy of theta.</summary>
internal sealed class CpuBatchPolicy : IBatchPolicy
{
    readonly ActorCriticNetwork _net;
    readonly float[] _theta;

    public CpuBatchPolicy(ModelSpec spec, int maxRows)
    {
        _net = (ActorCriticNetwork)spec.Build();
        _net.EnsureCapacity(maxRows);
        _theta = new float[_net.ParameterCount];
    }

    public void SetParameters(ReadOnlySpan<float> theta) => theta.CopyTo(_theta);

    public void Predict(ReadOnlySpan<float> observations, int rows, Span<float> outputs)
    {
        _net.Forward(_theta, observations, rows);
        ReadOnlySpan<float> logits = _net.Policy(rows), values = _net.Values(rows);
        int actions = _net.Actions, width = actions + 1;
        for (int r = 0; r < rows; r++)
        {
            logits.Slice(r * actions, actions).CopyTo(outputs.Slice(r * width, actions));
            outputs[r * width + actions] = values[r];
        }
    }

    public void Dispose() { }
}
