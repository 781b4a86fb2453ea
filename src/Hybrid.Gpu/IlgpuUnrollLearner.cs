using Hybrid.Gpu.Kernels;
using Hybrid.Nn.Layers;
using Hybrid.Nn.Models;
using Hybrid.Training.Devices;
using Hybrid.Training.Losses;
using Hybrid.Training.Rollouts;
using ILGPU;
using ILGPU.Runtime;

namespace Hybrid.Gpu;

/// <summary>
/// A lagged learner's gradient on an ILGPU device (IMPALA's learner): each update uploads theta and the batch's U
/// unrolls feature-major (sample b = u * T * N + t * N + lane, as A2C's kernels lay samples out), then five kernels run:
/// the forward pass of every sample, the forward pass of the rows that bootstrap (each unroll's observations after its
/// last step and the final observations of truncated steps), V-trace's targets and each sample's backward pass a
/// thread per (unroll, lane), and GradientKernels' tiled weight gradients per chunk of samples with their reduction in a fixed order.
/// The gradient (the mean over the unrolls, as the CPU's) and the loss sums come back; clipping and the optimizer step
/// stay with the caller. Buffers are allocated once, for the shape the learner was opened with.
/// </summary>
internal sealed class IlgpuUnrollLearner : IUnrollLearner
{
    readonly IlgpuDevice _device;
    readonly PredictKernel _predict;
    readonly Action<Index1D, int, RolloutViews, VTraceViews> _vtrace;
    readonly A2cKernels _kernels;
    readonly LearnerShape _shape;
    readonly List<MemoryBuffer> _buffers = [];
    readonly MemoryBuffer1D<float, Stride1D.Dense> _theta, _gradient, _terms, _scalars;
    readonly RolloutViews _rollout;
    readonly VTraceViews _vtraceViews;
    readonly LearnViews _learn;
    readonly PredictViews _samplesForward, _scratchForward;
    readonly int _samples, _observationSize, _actions, _scratchCapacity;
    readonly bool _box;
    readonly float[] _hostObservations, _hostScratch, _hostActions, _hostBehaviour, _hostRewards, _hostDiscounts, _hostTerms = new float[3];
    readonly int[] _hostCut, _hostFinal;
    // A leading convolution (MinAtar's torso), where there is one.
    readonly ConvTorso? _conv;
    readonly ArrayView<float> _convInputs, _convScratchInputs;

    /// <summary>
    /// Throws unless the device learner can run <paramref name="spec"/>'s network over batches of <paramref name="shape"/>:
    /// V-trace's clips above 0, a shape of at least one of each, an MLP torso shared by both heads, and buffers the
    /// kernels can index. Host-side only, so the capability query asks it without opening anything.
    /// </summary>
    /// <exception cref="ArgumentException">The device learner cannot run it (the message says why).</exception>
    internal static void Check(string kind, ModelSpec spec, LearnerShape shape)
    {
        if (shape.RhoBar <= 0 || shape.CBar <= 0)
            throw new ArgumentException($"device '{kind}': the device learner computes V-trace targets (rho_bar and c_bar above 0); on-policy updates run on the CPU.");
        if (shape.TMax < 1 || shape.Lanes < 1 || shape.Unrolls < 1)
            throw new ArgumentException($"the learner's shape was {shape.Unrolls} unrolls of {shape.TMax} steps of {shape.Lanes} lanes; expected each at least 1.");
        var net = (ActorCriticNetwork)spec.Build();
        IlgpuA2cStream.LayerTable(net, ConvShape.DenseInputs(net), allowConv: true, out int featureRows, out int deltaRows);
        int samples = shape.Samples, scratch = shape.Unrolls * shape.Lanes + samples;
        long largest = Math.Max((long)Math.Max(featureRows, deltaRows) * scratch, IlgpuA2cStream.LearnerPartials(samples, net.ParameterCount));
        if (largest > int.MaxValue)
            throw new ArgumentException($"{shape.Unrolls} unrolls of {shape.TMax} steps of {shape.Lanes} lanes are too many samples per update for the device learner with this network " +
                $"(its buffers would hold {largest:N0} values; the kernels index at most {int.MaxValue:N0}). Use a smaller batch.");
    }

    public IlgpuUnrollLearner(IlgpuDevice device, A2cKernels kernels, PredictKernel predict,
        Action<Index1D, int, RolloutViews, VTraceViews> vtrace, ModelSpec spec, LearnerShape shape)
    {
        Check(device.Info.Kind, spec, shape);
        (_device, _kernels, _predict, _vtrace, _shape) = (device, kernels, predict, vtrace, shape);
        var net = (ActorCriticNetwork)spec.Build();
        _observationSize = spec.ObservationShape.Aggregate(1, (a, b) => a * b);
        _actions = net.Actions;
        _box = spec.ActionKind == ActionKind.Box;
        int denseInputs = ConvShape.DenseInputs(net);
        int[] table = IlgpuA2cStream.LayerTable(net, denseInputs, allowConv: true, out int featureRows, out int deltaRows);
        _samples = shape.Samples;
        int columns = shape.Unrolls * shape.Lanes, parameters = net.ParameterCount;
        // Scratch rows: every unroll's lanes after the last step, then at most one final observation per sample.
        _scratchCapacity = columns + _samples;

        Accelerator a = device.Accelerator;
        _theta = Add(a.Allocate1D<float>(parameters));
        _gradient = Add(a.Allocate1D<float>(parameters));
        _terms = Add(a.Allocate1D<float>(3));
        var shapeViews = new NetShape
        {
            Theta = _theta.View, Layers = Add(a.Allocate1D(table)).View, Hidden = net.Torso.Count(l => l is Hybrid.Nn.Layers.Linear),
            Relu = spec.Activation == Activation.Relu ? 1 : 0, Actions = _actions, ObservationSize = denseInputs,
            Box = _box ? 1 : 0, LogStdOffset = net.LogStd.Offset, LogStdRow = deltaRows - (_box ? _actions : 0),
        };
        ArrayView<float> features = Floats(a, (long)featureRows * _samples), deltas = Floats(a, (long)deltaRows * _samples);
        ArrayView<float> logits = Floats(a, (long)_actions * _samples), values = Floats(a, _samples);
        ArrayView<float> scratchFeatures = Floats(a, (long)featureRows * _scratchCapacity), scratchLogits = Floats(a, (long)_actions * _scratchCapacity);
        ArrayView<float> scratchValues = Floats(a, _scratchCapacity);
        _rollout = new RolloutViews
        {
            Net = shapeViews, Features = features, Deltas = deltas, Logits = logits, Values = values,
            Actions = Floats(a, (long)(_box ? _actions : 1) * _samples), Rewards = Floats(a, _samples), Discounts = Floats(a, _samples),
            Cut = Add(a.Allocate1D<int>(_samples)).View, Terms = _terms.View, TMax = shape.TMax,
            ValueCoefficient = shape.ValueCoefficient, EntropyCoefficient = shape.EntropyCoefficient,
        };
        _vtraceViews = new VTraceViews
        {
            Behaviour = Floats(a, _samples), ScratchValues = scratchValues, FinalColumn = Add(a.Allocate1D<int>(_samples)).View,
            Lanes = shape.Lanes, Unrolls = shape.Unrolls, RhoBar = shape.RhoBar, CBar = shape.CBar, Lambda = 1f,
        };
        _learn = IlgpuA2cStream.Learner(a, _buffers.Add, shapeViews, table, features, deltas, _gradient.View, default, _samples, parameters);
        if (ConvShape.LeadingConv(net) is not null)
        {
            // MinAtar's torso: observations go up row-major; the convolution writes the dense layers' input; after the
            // dense layers' gradients, its outputs' deltas and its own weights' gradients follow.
            _conv = new ConvTorso(device, net, _theta.View, _samples);
            _convInputs = Floats(a, (long)_observationSize * _samples);
            _convScratchInputs = Floats(a, (long)_observationSize * _scratchCapacity);
        }
        _scalars = Add(a.Allocate1D<float>(1));
        _samplesForward = new PredictViews { Net = shapeViews, Features = features, Logits = logits, Values = values, Rows = _samples, Capacity = _samples };
        _scratchForward = new PredictViews { Net = shapeViews, Features = scratchFeatures, Logits = scratchLogits, Values = scratchValues, Capacity = _scratchCapacity };
        _hostObservations = new float[_observationSize * _samples];
        _hostScratch = new float[_observationSize * _scratchCapacity];
        _hostActions = new float[(_box ? _actions : 1) * _samples];
        (_hostBehaviour, _hostRewards, _hostDiscounts) = (new float[_samples], new float[_samples], new float[_samples]);
        (_hostCut, _hostFinal) = (new int[_samples], new int[_samples]);
    }

    ArrayView<float> Floats(Accelerator a, long length) => Add(a.Allocate1D<float>(length)).View;

    MemoryBuffer1D<T, Stride1D.Dense> Add<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer) where T : unmanaged
    {
        _buffers.Add(buffer);
        return buffer;
    }

    public LossTerms Gradient(ReadOnlySpan<float> theta, ReadOnlySpan<Rollout> rollouts, ReadOnlySpan<float[]> nextObservations, Span<float> gradient)
    {
        int unrolls = _shape.Unrolls, n = _shape.Lanes, steps = _shape.TMax * n, obs = _observationSize;
        if (rollouts.Length != unrolls || nextObservations.Length != unrolls)
            throw new ArgumentException($"the device learner was opened for {unrolls} unrolls per update; it was given {rollouts.Length}.", nameof(rollouts));
        int columns = unrolls * n, finals = 0;
        for (int u = 0; u < unrolls; u++)
        {
            Rollout r = rollouts[u];
            if (r.Count != steps || r.Lanes != n)
                throw new ArgumentException($"unroll {u} holds {r.Steps} steps of {r.Lanes} lanes; the device learner was opened for {_shape.TMax} of {n}.", nameof(rollouts));
            int first = u * steps;
            for (int i = 0; i < steps; i++)
            {
                int b = first + i;
                if (_conv is not null) r.Observations.AsSpan(i * obs, obs).CopyTo(_hostObservations.AsSpan(b * obs, obs));
                else for (int k = 0; k < obs; k++) _hostObservations[k * _samples + b] = r.Observations[i * obs + k];
                if (_box)
                    for (int d = 0; d < _actions; d++) _hostActions[d * _samples + b] = r.BoxActions[i * _actions + d];
                else _hostActions[b] = r.DiscreteActions[i];
                (_hostBehaviour[b], _hostRewards[b], _hostDiscounts[b]) = (r.LogProbabilities[i], r.Rewards[i], r.Discounts[i]);
                _hostCut[b] = r.Truncated[i] ? 1 : 0;
                _hostFinal[b] = -1;
            }
            float[] next = nextObservations[u];
            for (int lane = 0; lane < n; lane++)
                for (int k = 0; k < obs; k++) _hostScratch[Scratch(k, u * n + lane)] = next[lane * obs + k];
            for (int j = 0; j < r.TruncatedCount; j++)
            {
                int column = columns + finals++;
                _hostFinal[first + r.TruncatedIndices[j]] = column;
                for (int k = 0; k < obs; k++) _hostScratch[Scratch(k, column)] = r.FinalObservations[j * obs + k];
            }
        }

        _theta.View.BaseView.CopyFromCPU(theta);
        if (_conv is not null)
        {
            _convInputs.CopyFromCPU(_hostObservations);
            _convScratchInputs.CopyFromCPU(_hostScratch);
        }
        else
        {
            _rollout.Features.SubView(0, (long)obs * _samples).CopyFromCPU(_hostObservations);
            _scratchForward.Features.SubView(0, (long)obs * _scratchCapacity).CopyFromCPU(_hostScratch);
        }
        _rollout.Actions.CopyFromCPU(_hostActions);
        _rollout.Rewards.CopyFromCPU(_hostRewards);
        _rollout.Discounts.CopyFromCPU(_hostDiscounts);
        _rollout.Cut.CopyFromCPU(_hostCut);
        _vtraceViews.Behaviour.CopyFromCPU(_hostBehaviour);
        _vtraceViews.FinalColumn.CopyFromCPU(_hostFinal);
        _terms.MemSetToZero();

        if (_conv is not null)
        {
            _conv.Forward(_convInputs, _rollout.Features, _samples, _samples);
            _conv.Forward(_convScratchInputs, _scratchForward.Features, columns + finals, _scratchCapacity);
        }
        _predict.Launch(_samplesForward);
        PredictViews scratch = _scratchForward;
        scratch.Rows = columns + finals;
        _predict.Launch(scratch);
        int threads = _device.ThreadsFor(columns);
        _vtrace(threads, threads, _rollout, _vtraceViews);
        // The dense layers' partial sums, then the convolution's gradient into the first chunk's row (the other chunks'
        // are zero there), so the reduction sums every parameter.
        _kernels.Tiles(_learn);
        _conv?.Backward(_convInputs, _rollout.Features, _rollout.Deltas, _learn.Partial);
        _kernels.Reduce(_learn, _scalars.View, 0f, 0f, 0f, 0f, step: false);
        _gradient.View.BaseView.CopyToCPU(gradient);
        _terms.CopyToCPU(_hostTerms);
        float inverse = 1f / _samples;
        return new LossTerms(_hostTerms[0] * inverse, _hostTerms[1] * inverse, _hostTerms[2] * inverse);
    }

    /// <summary>Where value <paramref name="k"/> of scratch row <paramref name="column"/> goes up: row-major for a convolution, else feature-major.</summary>
    int Scratch(int k, int column) => _conv is not null ? column * _observationSize + k : k * _scratchCapacity + column;

    public void Dispose()
    {
        foreach (MemoryBuffer b in _buffers) b.Dispose();
        _conv?.Dispose();
    }
}
