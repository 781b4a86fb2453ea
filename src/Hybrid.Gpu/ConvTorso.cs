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
    readonly Action<KernelConfig, ConvShape, ArrayView<float>, ArrayView<float>, int, int, int> _forwardTiled;
    readonly Action<KernelConfig, ConvShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? _inputDeltasTiled;
    readonly Action<KernelConfig, ConvShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _weightPartialsTiled;
    // Samples per group of the tiled forward pass and per shared-memory load of the tiled weight gradients (0: the plain kernel).
    readonly int _forwardTile, _gradientSub;
    readonly bool _deltasFit;

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
        _forwardTiled = a.LoadStreamKernel<ConvShape, ArrayView<float>, ArrayView<float>, int, int, int>(ConvKernels.ForwardTiled);
        int inputSize = conv.InputSize, shared = RolloutShape.SharedFloats;
        _forwardTile = LargestTile(ConvKernels.DeltaTileSamples, t => Parameters + t * inputSize <= shared);
        Tiled = device.SharedMemoryKernels;
        if (samples <= 0) return;
        Linear first = net.Torso.OfType<Linear>().First();
        (_denseOffset, _denseOutputs) = (first.Parameters.Offset, first.OutputSize);
        _deltasFit = ConvKernels.DeltaTileFloats(_denseOutputs) <= shared;
        _gradientSub = (Parameters + device.Group - 1) / device.Group <= ConvKernels.MaxOwnedWeights
            ? LargestTile(ConvKernels.SamplesPerChunk, t => t * (inputSize + _shape.Outputs) <= shared) : 0;
        _inputDeltasTiled = a.LoadStreamKernel<ConvShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(ConvKernels.InputDeltasTiled);
        _weightPartialsTiled = a.LoadStreamKernel<ConvShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ConvKernels.WeightPartialsTiled);
        _deltas = a.Allocate1D<float>((long)_shape.Outputs * samples);
        _partials = a.Allocate1D<float>((long)Parameters * ((samples + ConvKernels.SamplesPerChunk - 1) / ConvKernels.SamplesPerChunk));
        _inputDeltas = a.LoadAutoGroupedStreamKernel<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(ConvKernels.InputDeltas);
        _weightPartials = a.LoadAutoGroupedStreamKernel<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(ConvKernels.WeightPartials);
        _reduce = a.LoadAutoGroupedStreamKernel<Index1D, int, ConvShape, ArrayView<float>, ArrayView<float>, int>(ConvKernels.ReducePartials);
    }

    /// <summary>The largest power of two up to <paramref name="most"/> that <paramref name="fits"/> (0 when not even 1 does).</summary>
    static int LargestTile(int most, Func<int, bool> fits)
    {
        int tile = most;
        while (tile > 0 && !fits(tile)) tile /= 2;
        return tile;
    }

    /// <summary>Whether the tiled kernels run (on a GPU by default); tests set it to compare them with the plain ones.</summary>
    public bool Tiled { get; set; }

    /// <summary>Groups for <paramref name="tiles"/> tiles: one each, at most as many as the device keeps resident.</summary>
    int Groups(long tiles) => (int)Math.Clamp(tiles, 1, Math.Max(1, _device.Threads / _device.Group));

    /// <summary>The convolution's outputs per sample (the dense layers' inputs).</summary>
    public int Outputs => _shape.Outputs;

    /// <summary>The convolution's parameters (weights and biases).</summary>
    public int Parameters => ConvKernels.Parameters(_shape);

    /// <summary>
    /// The convolution and its ReLU for <paramref name="rows"/> row-major <paramref name="inputs"/>, output k of row b
    /// into <paramref name="features"/>[k * <paramref name="capacity"/> + b].
    /// </summary>
    public void Forward(ArrayView<float> inputs, ArrayView<float> features, int rows, int capacity)
    {
        if (rows == 0) return;
        if (Tiled && _forwardTile > 0)
        {
            int floats = Parameters + _forwardTile * _shape.Height * _shape.Width * _shape.Channels;
            var config = new KernelConfig(new Index1D(Groups((rows + _forwardTile - 1) / _forwardTile)), new Index1D(_device.Group), SharedMemoryConfig.RequestDynamic<float>(floats));
            _forwardTiled(config, _shape, inputs, features, rows, capacity, _forwardTile);
            return;
        }
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
        if (Tiled && _deltasFit && _inputDeltasTiled is not null)
        {
            long tiles = (long)((_shape.Outputs + ConvKernels.DeltaTileOutputs - 1) / ConvKernels.DeltaTileOutputs)
                * ((_samples + ConvKernels.DeltaTileSamples - 1) / ConvKernels.DeltaTileSamples);
            var config = new KernelConfig(new Index1D(Groups(tiles)), new Index1D(_device.Group),
                SharedMemoryConfig.RequestDynamic<float>(ConvKernels.DeltaTileFloats(_denseOutputs)));
            _inputDeltasTiled(config, _shape, features, deltas, _deltas.View, _denseOffset, _denseOutputs, _samples);
        }
        else
        {
            int deltaThreads = _device.ThreadsFor((long)_shape.Outputs * _samples);
            _inputDeltas(deltaThreads, deltaThreads, _shape, features, deltas, _deltas.View, _denseOffset, _denseOutputs, _samples);
        }
        if (Tiled && _gradientSub > 0 && _weightPartialsTiled is not null)
        {
            int chunks = (_samples + ConvKernels.SamplesPerChunk - 1) / ConvKernels.SamplesPerChunk;
            int floats = _gradientSub * (_shape.Height * _shape.Width * _shape.Channels + _shape.Outputs);
            var config = new KernelConfig(new Index1D(Groups(chunks)), new Index1D(_device.Group), SharedMemoryConfig.RequestDynamic<float>(floats));
            _weightPartialsTiled(config, _shape, inputs, _deltas.View, _partials.View, _samples, _gradientSub);
        }
        else
        {
            int partialThreads = _device.ThreadsFor(_partials.Length);
            _weightPartials(partialThreads, partialThreads, _shape, inputs, _deltas.View, _partials.View, _samples);
        }
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
