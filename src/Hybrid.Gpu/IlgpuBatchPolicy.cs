using Hybrid.Gpu.Kernels;
using Hybrid.Nn.Models;
using Hybrid.Training.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace Hybrid.Gpu;

/// <summary>
/// GA3C's predictor on an ILGPU device: theta and the layer table live on the device; each batch's observations go up
/// feature-major (row r of sample b at r * capacity + b, as A2C's kernels lay samples out), one kernel computes every
/// row's logits and value, and they come back. The network is the CPU's, laid out the same (dense layers, tanh or ReLU,
/// a categorical head), after a convolution and its ReLU where the torso starts with one (MinAtar's): the observations
/// then go up row-major, and a kernel a thread per output writes the convolution's outputs where the dense layers read.
/// </summary>
internal sealed class IlgpuBatchPolicy : IBatchPolicy
{
    readonly IlgpuDevice _device;
    readonly PredictKernel _kernel;
    readonly MemoryBuffer1D<float, Stride1D.Dense> _theta, _features, _logits, _values, _inputs;
    readonly MemoryBuffer1D<int, Stride1D.Dense> _layers;
    readonly ConvTorso? _conv;
    readonly NetShape _shape;
    readonly int _capacity, _observationSize, _actions;
    readonly float[] _hostFeatures, _hostLogits, _hostValues;

    /// <summary>
    /// Throws unless the predictor can run <paramref name="spec"/>'s network: a categorical head on dense layers (after a
    /// convolution at most) shared by both heads.
    /// </summary>
    /// <exception cref="ArgumentException">It cannot (the message says why).</exception>
    internal static void Check(string kind, ModelSpec spec)
    {
        if (spec.ActionKind != ActionKind.Discrete)
            throw new ArgumentException($"device '{kind}': the predictor runs categorical policies; this network has a Gaussian head.");
        var net = (ActorCriticNetwork)spec.Build();
        IlgpuA2cStream.LayerTable(net, ConvShape.DenseInputs(net), allowConv: true, out _, out _);
    }

    public IlgpuBatchPolicy(IlgpuDevice device, PredictKernel kernel, ModelSpec spec, int maxRows)
    {
        Check(device.Info.Kind, spec);
        (_device, _kernel, _capacity) = (device, kernel, maxRows);
        var net = (ActorCriticNetwork)spec.Build();
        _observationSize = spec.ObservationShape.Aggregate(1, (a, b) => a * b);
        _actions = net.Actions;
        int denseInputs = ConvShape.DenseInputs(net);
        int[] table = IlgpuA2cStream.LayerTable(net, denseInputs, allowConv: true, out int featureRows, out _);
        Accelerator a = device.Accelerator;
        _theta = a.Allocate1D<float>(net.ParameterCount);
        if (ConvShape.LeadingConv(net) is not null)
        {
            _inputs = a.Allocate1D<float>((long)_observationSize * maxRows);
            _conv = new ConvTorso(device, net, _theta.View, samples: 0);
        }
        else _inputs = a.Allocate1D<float>(1);
        _layers = a.Allocate1D(table);
        _features = a.Allocate1D<float>((long)featureRows * maxRows);
        _logits = a.Allocate1D<float>((long)_actions * maxRows);
        _values = a.Allocate1D<float>(maxRows);
        _shape = new NetShape
        {
            Theta = _theta.View, Layers = _layers.View, Hidden = net.Torso.Count(l => l is Hybrid.Nn.Layers.Linear),
            Relu = spec.Activation == Activation.Relu ? 1 : 0, Actions = _actions, ObservationSize = denseInputs,
        };
        _hostFeatures = new float[_observationSize * maxRows];
        _hostLogits = new float[_actions * maxRows];
        _hostValues = new float[maxRows];
    }

    public void SetParameters(ReadOnlySpan<float> theta) => _theta.View.BaseView.CopyFromCPU(theta);

    public void Predict(ReadOnlySpan<float> observations, int rows, Span<float> outputs)
    {
        if ((uint)rows > (uint)_capacity) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"rows was {rows}; expected at most {_capacity}.");
        if (_conv is not null)
        {
            // Observations up row-major; the convolution writes its outputs feature-major where the dense layers read.
            if (rows == 0) return;
            observations[..(rows * _observationSize)].CopyTo(_hostFeatures);
            _inputs.View.BaseView.SubView(0, (long)rows * _observationSize).CopyFromCPU(_hostFeatures.AsSpan(0, rows * _observationSize));
            _conv.Forward(_inputs.View, _features.View, rows, _capacity);
        }
        else
        {
            // Observations up, feature-major: only the first observation-size rows of the features.
            for (int b = 0; b < rows; b++)
                for (int k = 0; k < _observationSize; k++) _hostFeatures[k * _capacity + b] = observations[b * _observationSize + k];
            _features.View.BaseView.SubView(0, (long)_observationSize * _capacity).CopyFromCPU(_hostFeatures);
            if (rows == 0) return;
        }
        _kernel.Launch(new PredictViews { Net = _shape, Features = _features.View, Logits = _logits.View, Values = _values.View, Rows = rows, Capacity = _capacity });
        _logits.View.BaseView.CopyToCPU(_hostLogits);
        _values.View.BaseView.CopyToCPU(_hostValues);
        int width = _actions + 1;
        for (int b = 0; b < rows; b++)
        {
            for (int j = 0; j < _actions; j++) outputs[b * width + j] = _hostLogits[j * _capacity + b];
            outputs[b * width + _actions] = _hostValues[b];
        }
    }

    public void Dispose()
    {
        foreach (MemoryBuffer buffer in new MemoryBuffer[] { _theta, _features, _logits, _values, _layers, _inputs }) buffer.Dispose();
        _conv?.Dispose();
    }
}
