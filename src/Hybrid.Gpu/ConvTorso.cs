using Hybrid.Gpu.Kernels;
using Hybrid.Nn.Layers;
using Hybrid.Nn.Models;
using ILGPU;
using ILGPU.Runtime;

namespace Hybrid.Gpu;

/// <summary>
/// A network's leading convolution on the device (MinAtar's torso), as GA3C's predictor, IMPALA's learner and A2C's
/// MinAtar stream run it: the forward pass writes the convolution's outputs, after its ReLU, feature-major where the
/// dense layers' kernels read their input; the backward pass takes the first dense layer's deltas back to the
/// convolution's outputs and sums its weights' gradients in a fixed order. Inputs are row-major observations.
/// </summary>
internal sealed class ConvTorso : IDisposable
{
    readonly IlgpuDevice _device;
    readonly ConvShape _shape;
    readonly int _denseOffset, _denseOutputs, _samples;
    readonly MemoryBuffer1D<float, Stride1D.Dense>? _deltas, _partials;
    readonly Action<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, int, int> _forward;
    readonly Action<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? _inputDeltas;
    readonly Action<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _weightPartials;
    readonly Action<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, int>? _reduce;

    /// <summary>
    /// The torso of <paramref name="net"/> (which must start with a convolution), its parameters in <paramref name="theta"/>;
    /// with <paramref name="samples"/> above 0, the buffers of a backward pass over that many samples.
    /// </summary>
    public ConvTorso(IlgpuDevice device, ActorCriticNetwork net, ArrayView<float> theta, int samples)
    {
        Conv2d conv = ConvShape.LeadingConv(net) ?? throw new ArgumentException("the network's torso does not start with a convolution.", nameof(net));
        (_device, _shape, _samples) = (device, ConvShape.Of(conv, theta), samples);
        Accelerator a = device.Accelerator;
        _forward = a.LoadAutoGroupedStreamKernel<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, int, int>(ConvKernels.ForwardRelu);
        if (samples <= 0) return;
        Linear first = net.Torso.OfType<Linear>().First();
        (_denseOffset, _denseOutputs) = (first.Parameters.Offset, first.OutputSize);
        _deltas = a.Allocate1D<float>((long)_shape.Outputs * samples);
        _partials = a.Allocate1D<float>((long)Parameters * ((samples + ConvKernels.SamplesPerChunk - 1) / ConvKernels.SamplesPerChunk));
        _inputDeltas = a.LoadAutoGroupedStreamKernel<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(ConvKernels.InputDeltas);
        _weightPartials = a.LoadAutoGroupedStreamKernel<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(ConvKernels.WeightPartials);
        _reduce = a.LoadAutoGroupedStreamKernel<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, int>(ConvKernels.ReducePartials);
    }

    /// <summary>The convolution's outputs per sample (the dense layers' inputs).</summary>
    public int Outputs => _shape.Outputs;

    /// <summary>The convolution's parameters (weights and biases).</summary>
    public int Parameters => _shape.Kernel * _shape.Kernel * _shape.Channels * _shape.Filters + _shape.Filters;

    /// <summary>
    /// The convolution and its ReLU for <paramref name="rows"/> row-major <paramref name="inputs"/>, output k of row b
    /// into <paramref name="features"/>[k * <paramref name="capacity"/> + b].
    /// </summary>
    public void Forward(ArrayView<float> inputs, ArrayView<float> features, int rows, int capacity)
    {
        if (rows == 0) return;
        int threads = _device.ThreadsFor((long)rows * _shape.Outputs);
        _forward(threads, threads, _shape, inputs, features, rows, capacity);
    }

    /// <summary>
    /// The convolution's gradient over the samples the torso was opened for, after the dense layers' backward pass: the
    /// deltas at its outputs (from <paramref name="deltas"/>' first dense layer's rows, where <paramref name="features"/>'
    /// outputs passed the ReLU), then its weights' and biases' gradients from the row-major <paramref name="inputs"/>,
    /// written at the convolution's offset in <paramref name="gradient"/>.
    /// </summary>
    public void Backward(ArrayView<float> inputs, ArrayView<float> features, ArrayView<float> deltas, ArrayView<float> gradient)
    {
        if (_inputDeltas is null || _weightPartials is null || _reduce is null || _deltas is null || _partials is null)
            throw new InvalidOperationException("this convolution was opened for forward passes only.");
        int deltaThreads = _device.ThreadsFor((long)_shape.Outputs * _samples);
        _inputDeltas(deltaThreads, deltaThreads, _shape, features, deltas, _deltas.View, _denseOffset, _denseOutputs, _samples);
        int partialThreads = _device.ThreadsFor(_partials.Length);
        _weightPartials(partialThreads, partialThreads, _shape, inputs, _deltas.View, _partials.View, _samples);
        int reduceThreads = _device.ThreadsFor(Parameters);
        _reduce(reduceThreads, reduceThreads, _shape, _partials.View, gradient, _samples);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _deltas?.Dispose();
        _partials?.Dispose();
    }
}
