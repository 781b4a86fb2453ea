using ILGPU;

namespace Hybrid.Gpu.Kernels;

/// <summary>
/// A convolution as the CPU's <c>Conv2d</c> computes it (Hybrid.Nn.Layers): weights [kernel row, kernel column, channel;
/// filter] row-major in theta at <see cref="Offset"/>, the filters' biases after them, zero padding, square kernel and
/// stride, the output pixel-major (filter fastest: <c>(oh * outWidth + ow) * filters + f</c>), as the dense layer after
/// it reads it.
/// </summary>
public struct ConvShape
{
    public ArrayView<float> Theta;
    public int Offset;
    public int Height;
    public int Width;
    public int Channels;
    public int Filters;
    public int Kernel;
    public int Stride;
    public int Padding;
    public int OutHeight;
    public int OutWidth;
    /// <summary>Non-zero: each input sample is [channels, height, width] (Hybrid's MinAtar observations); else [height, width, channels].</summary>
    public int ChannelsFirst;

    /// <summary>Outputs per sample.</summary>
    public readonly int Outputs => OutHeight * OutWidth * Filters;

    /// <summary>Where channel <paramref name="ch"/> of pixel (<paramref name="ih"/>, <paramref name="iw"/>) of sample <paramref name="b"/> is among row-major inputs.</summary>
    public readonly int Input(int b, int ch, int ih, int iw) =>
        b * Height * Width * Channels + (ChannelsFirst != 0 ? (ch * Height + ih) * Width + iw : (ih * Width + iw) * Channels + ch);

    /// <summary>The shape of the CPU network's <paramref name="conv"/>, its parameters in <paramref name="theta"/>.</summary>
    public static ConvShape Of(Hybrid.Nn.Layers.Conv2d conv, ArrayView<float> theta) => new()
    {
        Theta = theta, Offset = conv.Parameters.Offset, Height = conv.Height, Width = conv.Width, Channels = conv.Channels, Filters = conv.Filters,
        Kernel = conv.Kernel, Stride = conv.Stride, Padding = conv.Padding, OutHeight = conv.OutHeight, OutWidth = conv.OutWidth,
        ChannelsFirst = conv.ChannelsFirst ? 1 : 0,
    };

    /// <summary>The network's leading convolution, or null when its torso starts with a dense layer.</summary>
    public static Hybrid.Nn.Layers.Conv2d? LeadingConv(Hybrid.Nn.Models.ActorCriticNetwork net) =>
        net.Torso.Count > 0 ? net.Torso[0] as Hybrid.Nn.Layers.Conv2d : null;

    /// <summary>What the network's first dense layer takes: the observation, or its leading convolution's outputs.</summary>
    public static int DenseInputs(Hybrid.Nn.Models.ActorCriticNetwork net) => LeadingConv(net)?.OutputSize ?? net.Spec.ObservationSize;
}

/// <summary>The convolutional torso's kernels on the device.</summary>
public static class ConvKernels
{
    /// <summary>
    /// The convolution and its ReLU for <paramref name="rows"/> samples, a thread per output: inputs row-major (sample b's
    /// at <c>b * inputSize</c>), outputs feature-major into <paramref name="features"/> (output k of sample b at
    /// <c>k * capacity + b</c>), where the dense layers' kernels read their input.
    /// </summary>
    public static void ForwardRelu(Index1D index, int stride, ConvShape c, ArrayView<float> inputs, ArrayView<float> features, int rows, int capacity)
    {
        int outputs = c.Outputs, total = rows * outputs, patch = c.Kernel * c.Kernel * c.Channels;
        for (int i = index; i < total; i += stride)
        {
            int b = i / outputs, o = i - b * outputs, f = o % c.Filters, pixel = o / c.Filters, oh = pixel / c.OutWidth, ow = pixel - oh * c.OutWidth;
            float sum = c.Theta[c.Offset + patch * c.Filters + f];
            for (int kh = 0; kh < c.Kernel; kh++)
            {
                int ih = oh * c.Stride - c.Padding + kh;
                if (ih < 0 || ih >= c.Height) continue;
                for (int kw = 0; kw < c.Kernel; kw++)
                {
                    int iw = ow * c.Stride - c.Padding + kw;
                    if (iw < 0 || iw >= c.Width) continue;
                    int weight = c.Offset + (kh * c.Kernel + kw) * c.Channels * c.Filters + f;
                    for (int ch = 0; ch < c.Channels; ch++)
                    {
                        sum += inputs[c.Input(b, ch, ih, iw)] * c.Theta[weight + ch * c.Filters];
                    }
                }
            }
            features[o * capacity + b] = sum > 0f ? sum : 0f;
        }
    }

    /// <summary>
    /// The loss's gradient at each convolution output of <paramref name="samples"/> samples: the first dense layer's
    /// deltas (rows 0 to <paramref name="denseOutputs"/> - 1 of <paramref name="deltas"/>, feature-major) through its
    /// weights (at <paramref name="denseOffset"/>, [inputs, outputs] row-major), where the ReLU passed (the output in
    /// <paramref name="features"/> is above 0). A thread per (output, sample), samples fastest.
    /// </summary>
    public static void InputDeltas(Index1D index, int stride, ConvShape c, ArrayView<float> features, ArrayView<float> deltas, ArrayView<float> convDeltas,
        int denseOffset, int denseOutputs, int samples)
    {
        int total = c.Outputs * samples;
        for (int i = index; i < total; i += stride)
        {
            int k = i / samples, b = i - k * samples;
            float sum = 0f;
            if (features[k * samples + b] > 0f)
                for (int j = 0; j < denseOutputs; j++) sum += c.Theta[denseOffset + k * denseOutputs + j] * deltas[j * samples + b];
            convDeltas[k * samples + b] = sum;
        }
    }

    /// <summary>Samples a thread of <see cref="WeightPartials"/> sums over: enough threads for a GPU, few partials to reduce.</summary>
    public const int SamplesPerChunk = 32;

    /// <summary>
    /// The convolution's weight and bias gradients in two fixed-order passes: here a thread per (parameter, chunk of
    /// <see cref="SamplesPerChunk"/> samples) sums its chunk's products over the samples and output pixels, from the
    /// inputs (row-major) and the outputs' deltas (feature-major, <see cref="InputDeltas"/>), into
    /// <paramref name="partials"/> (chunk-major); <see cref="ReducePartials"/> then adds the chunks in order.
    /// </summary>
    public static void WeightPartials(Index1D index, int stride, ConvShape c, ArrayView<float> inputs, ArrayView<float> convDeltas, ArrayView<float> partials, int samples)
    {
        int patch = c.Kernel * c.Kernel * c.Channels, weights = patch * c.Filters, parameters = weights + c.Filters;
        int chunks = (samples + SamplesPerChunk - 1) / SamplesPerChunk, total = parameters * chunks;
        for (int i = index; i < total; i += stride)
        {
            int chunk = i / parameters, w = i - chunk * parameters, first = chunk * SamplesPerChunk, last = first + SamplesPerChunk < samples ? first + SamplesPerChunk : samples;
            float sum = 0f;
            if (w >= weights)
            {
                int f = w - weights;
                for (int b = first; b < last; b++)
                    for (int pixel = 0; pixel < c.OutHeight * c.OutWidth; pixel++) sum += convDeltas[(pixel * c.Filters + f) * samples + b];
            }
            else
            {
                int p = w / c.Filters, f = w - p * c.Filters, kh = p / (c.Kernel * c.Channels), kw = p / c.Channels % c.Kernel, ch = p % c.Channels;
                for (int b = first; b < last; b++)
                    for (int oh = 0; oh < c.OutHeight; oh++)
                    {
                        int ih = oh * c.Stride - c.Padding + kh;
                        if (ih < 0 || ih >= c.Height) continue;
                        for (int ow = 0; ow < c.OutWidth; ow++)
                        {
                            int iw = ow * c.Stride - c.Padding + kw;
                            if (iw < 0 || iw >= c.Width) continue;
                            sum += convDeltas[((oh * c.OutWidth + ow) * c.Filters + f) * samples + b] * inputs[c.Input(b, ch, ih, iw)];
                        }
                    }
            }
            partials[i] = sum;
        }
    }

    /// <summary>Adds each parameter's chunk partials in chunk order into <paramref name="gradient"/> at the convolution's offset, a thread per parameter.</summary>
    public static void ReducePartials(Index1D index, int stride, ConvShape c, ArrayView<float> partials, ArrayView<float> gradient, int samples)
    {
        int parameters = c.Kernel * c.Kernel * c.Channels * c.Filters + c.Filters, chunks = (samples + SamplesPerChunk - 1) / SamplesPerChunk;
        for (int w = index; w < parameters; w += stride)
        {
            float sum = 0f;
            for (int chunk = 0; chunk < chunks; chunk++) sum += partials[chunk * parameters + w];
            gradient[c.Offset + w] = sum;
        }
    }
}
