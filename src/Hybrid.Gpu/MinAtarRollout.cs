using Hybrid.Gpu.Kernels;
using Hybrid.Nn.Models;
using ILGPU;
using ILGPU.Runtime;

namespace Hybrid.Gpu;

/// <summary>
/// A2C's rollout on MinAtar, composed of kernels (a game's step does not fit beside a conv network in one kernel): each
/// of the t_max steps renders or keeps the lanes' observations row-major in the samples' input rows, runs the
/// convolution and the dense layers over the lanes, samples the actions, steps the games and records the step; then
/// the bootstrap rows (the observations after the last step, and the final observation of every truncated step) go
/// through the network, and the targets kernel computes GAE(lambda), each sample's heads' gradient and the dense
/// torso's backward pass a thread per lane. The convolution's gradient follows the dense layers' in
/// <see cref="ConvGradient"/>. Nothing leaves the device but one count per update (the truncated steps', which sizes
/// the bootstrap's forward pass). The kernels' sums are fixed-order, so an update is the same for a seed on every run.
/// </summary>
internal sealed class MinAtarRollout : IDisposable
{
    readonly IlgpuDevice _device;
    readonly DeviceMinAtarEnv _env;
    readonly ConvTorso _conv;
    readonly PredictKernel _predict;
    readonly Action<Index1D, int, RolloutViews, ArrayView<int>, int, int> _act;
    readonly Action<Index1D, int, RolloutViews, VTraceViews, StepRecord> _record;
    readonly Action<Index1D, int, RolloutViews, VTraceViews> _targets;
    readonly MemoryBuffer1D<float, Stride1D.Dense> _inputs, _scratchInputs;
    readonly MemoryBuffer1D<int, Stride1D.Dense> _scratchCount;
    readonly int[] _hostCount = new int[1];
    readonly int _lanes, _samples, _observationSize, _scratchRows;

    /// <summary>
    /// The rollout of <paramref name="env"/>'s lanes over <paramref name="tMax"/> steps through <paramref name="net"/>
    /// (a leading convolution), its parameters in <paramref name="theta"/>; <paramref name="scratchRows"/> is the
    /// capacity of the rollout's scratch rows (lanes plus samples: every step might be truncated).
    /// </summary>
    public MinAtarRollout(IlgpuDevice device, DeviceMinAtarEnv env, ActorCriticNetwork net, ArrayView<float> theta, int tMax, int scratchRows, int group)
    {
        (_device, _env, _lanes, _scratchRows) = (device, env, env.NumEnvs, scratchRows);
        _samples = _lanes * tMax;
        _observationSize = env.Spec.ObservationSize;
        Accelerator a = device.Accelerator;
        _conv = new ConvTorso(device, net, theta, _samples);
        _predict = new PredictKernel(a, group, device.ResidentThreads);
        _act = a.LoadAutoGroupedStreamKernel<Index1D, int, RolloutViews, ArrayView<int>, int, int>(ActorCriticKernels.Act);
        _record = a.LoadAutoGroupedStreamKernel<Index1D, int, RolloutViews, VTraceViews, StepRecord>(ActorCriticKernels.Record);
        _targets = a.LoadAutoGroupedStreamKernel<Index1D, int, RolloutViews, VTraceViews>(ActorCriticKernels.VTrace);
        _inputs = a.Allocate1D<float>((long)_observationSize * _samples);
        _scratchInputs = a.Allocate1D<float>((long)_observationSize * scratchRows);
        _scratchCount = a.Allocate1D<int>(1);
    }

    /// <summary>The convolution's kernels (tests switch them between the tiled and the plain ones).</summary>
    public ConvTorso Conv => _conv;

    /// <summary>The samples' observations, row-major (sample b = t * N + lane at b * observation size).</summary>
    public ArrayView<float> Inputs => _inputs.View;

    /// <summary>The scratch rows' observations: rows 0 to N - 1 after the last step, then truncated steps' final observations.</summary>
    public ArrayView<float> ScratchInputs => _scratchInputs.View;

    /// <summary>
    /// One rollout into <paramref name="r"/>'s sample arrays and F and D rows (the dense torso's backward pass done),
    /// with <paramref name="v"/>'s scratch values and final columns.
    /// </summary>
    public void Collect(in RolloutViews r, in VTraceViews v)
    {
        int n = _lanes, obs = _observationSize, threads = _device.ThreadsFor(n);
        _scratchCount.MemSetToZero();
        _env.ObserveInto(_inputs.View.SubView(0, (long)n * obs));
        int steps = _samples / n;
        for (int t = 0; t < steps; t++)
        {
            int column = t * n;
            ArrayView<float> features = From(r.Features, column);
            _conv.Forward(From(_inputs.View, (long)column * obs), features, n, _samples);
            _predict.Launch(new PredictViews
            {
                Net = r.Net, Features = features, Logits = From(r.Logits, column), Values = From(r.Values, column), Rows = n, Capacity = _samples,
            });
            _act(threads, threads, r, _env.ActionInputs, column, n);
            ArrayView<float> next = t + 1 < steps ? _inputs.View.SubView((long)(column + n) * obs, (long)n * obs) : _scratchInputs.View.SubView(0, (long)n * obs);
            _env.StepOnDevice(next, r.Episodes, r.EpisodeCount, r.StepBase + t);
            _record(threads, threads, r, v, _env.Recorded(_scratchInputs.View, _scratchCount.View, column));
        }
        // The bootstrap rows: every lane's next observation, then the truncated steps' final observations.
        _scratchCount.CopyToCPU(_hostCount);
        int rows = n + _hostCount[0];
        _conv.Forward(_scratchInputs.View, r.ScratchFeatures, rows, _scratchRows);
        _predict.Launch(new PredictViews
        {
            Net = r.Net, Features = r.ScratchFeatures, Logits = r.ScratchLogits, Values = r.ScratchValues, Rows = rows, Capacity = _scratchRows,
        });
        _targets(threads, threads, r, v);
    }

    /// <summary>The view from <paramref name="start"/> to the end: a step's columns of feature-major rows (their stride stays the samples').</summary>
    static ArrayView<float> From(ArrayView<float> view, long start) => view.SubView(start, view.Length - start);

    /// <summary>
    /// The convolution's gradient, after the dense layers' tiles (<see cref="A2cKernels.Tiles"/>): into the first chunk's
    /// row of <paramref name="learn"/>'s partial sums, so that the reduction adds it to the gradient, its norm and the step.
    /// </summary>
    public void ConvGradient(in RolloutViews r, in LearnViews learn) => _conv.Backward(_inputs.View, r.Features, r.Deltas, learn.Partial);

    /// <inheritdoc/>
    public void Dispose()
    {
        _conv.Dispose();
        _inputs.Dispose();
        _scratchInputs.Dispose();
        _scratchCount.Dispose();
    }
}
