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
        int outputs = c.Outputs, total = rows * outputs;
        for (int i = index; i < total; i += stride)
        {
            int b = i / outputs, o = i - b * outputs;
            features[o * capacity + b] = Output(c, inputs, b, o);
        }
    }

    /// <summary>
    /// Output <paramref name="o"/> of sample <paramref name="b"/> after the ReLU: the bias, then the kernel's rows,
    /// columns and channels in order (every kernel here sums in this order, so they agree bit for bit).
    /// </summary>
    static float Output(in ConvShape c, ArrayView<float> inputs, int b, int o)
    {
        int patch = c.Kernel * c.Kernel * c.Channels, f = o % c.Filters, pixel = o / c.Filters, oh = pixel / c.OutWidth, ow = pixel - oh * c.OutWidth;
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
                for (int ch = 0; ch < c.Channels; ch++) sum += inputs[c.Input(b, ch, ih, iw)] * c.Theta[weight + ch * c.Filters];
            }
        }
        return sum > 0f ? sum : 0f;
    }

    /// <summary>
    /// <see cref="ForwardRelu"/> shaped for a GPU: a group per tile of <paramref name="tile"/> samples copies the
    /// convolution's weights once and each tile's inputs (contiguous: row-major samples side by side) into dynamic
    /// shared memory (weights first, then the tile), and its threads take the tile's outputs with the samples fastest,
    /// so a warp writes consecutive samples of one output row. Sums as <see cref="ForwardRelu"/>'s, bit for bit.
    /// </summary>
    [Kernel]
    public static void ForwardTiled(ConvShape c, ArrayView<float> inputs, ArrayView<float> features, int rows, int capacity, int tile)
    {
        ArrayView<float> shared = SharedMemory.GetDynamic<float>();
        int group = Group.DimX, thread = Group.IdxX, outputs = c.Outputs, inputSize = c.Height * c.Width * c.Channels, parameters = Parameters(c);
        ArrayView<float> xs = shared.SubView(parameters, tile * inputSize);
        for (int i = thread; i < parameters; i += group) shared[i] = c.Theta[c.Offset + i];
        ConvShape local = c;
        local.Theta = shared.SubView(0, parameters);
        local.Offset = 0;
        int tiles = (rows + tile - 1) / tile;
        for (int t = Grid.IdxX; t < tiles; t += Grid.DimX)
        {
            int first = t * tile, count = rows - first < tile ? rows - first : tile;
            Group.Barrier();
            for (int i = thread; i < count * inputSize; i += group) xs[i] = inputs[first * inputSize + i];
            Group.Barrier();
            for (int e = thread; e < tile * outputs; e += group)
            {
                int o = e / tile, s = e - o * tile;
                if (s < count) features[o * capacity + first + s] = Output(local, xs, s, o);
            }
        }
    }

    /// <summary>The convolution's parameters: weights, then the filters' biases.</summary>
    public static int Parameters(in ConvShape c) => c.Kernel * c.Kernel * c.Channels * c.Filters + c.Filters;

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
            convDeltas[k * samples + b] = features[k * samples + b] > 0f ? Dot(c.Theta, denseOffset + k * denseOutputs, deltas, b, samples, denseOutputs) : 0f;
        }
    }

    /// <summary>sum_j w[wFirst + j] d[dFirst + j dStride] over j = 0 .. count - 1, in order.</summary>
    static float Dot(ArrayView<float> w, int wFirst, ArrayView<float> d, int dFirst, int dStride, int count)
    {
        float sum = 0f;
        for (int j = 0; j < count; j++) sum += w[wFirst + j] * d[dFirst + j * dStride];
        return sum;
    }

    /// <summary>Outputs of a tile of <see cref="InputDeltasTiled"/>.</summary>
    public const int DeltaTileOutputs = 16;
    /// <summary>Samples of a tile of <see cref="InputDeltasTiled"/> (a warp's worth).</summary>
    public const int DeltaTileSamples = 32;

    /// <summary>Floats of dynamic shared memory <see cref="InputDeltasTiled"/> takes for a dense layer of <paramref name="denseOutputs"/>.</summary>
    public static int DeltaTileFloats(int denseOutputs) => denseOutputs * (DeltaTileOutputs + DeltaTileSamples + 1);

    /// <summary>
    /// <see cref="InputDeltas"/> as a tiled product: a group per tile of 16 convolution outputs and 32 samples copies the
    /// tile's 16 rows of the dense layer's weights (contiguous) and its 32 samples of the dense layer's deltas (a
    /// coalesced row each, padded to 33 floats) into dynamic shared memory; each thread then sums one (output, sample)
    /// from there, samples fastest across the threads. Sums as <see cref="InputDeltas"/>'s, bit for bit.
    /// </summary>
    [Kernel]
    public static void InputDeltasTiled(ConvShape c, ArrayView<float> features, ArrayView<float> deltas, ArrayView<float> convDeltas,
        int denseOffset, int denseOutputs, int samples)
    {
        ArrayView<float> shared = SharedMemory.GetDynamic<float>();
        const int padded = DeltaTileSamples + 1;
        int group = Group.DimX, thread = Group.IdxX, outputs = c.Outputs, j = denseOutputs;
        ArrayView<float> ws = shared.SubView(0, DeltaTileOutputs * j), ds = shared.SubView(DeltaTileOutputs * j, j * padded);
        int outputTiles = (outputs + DeltaTileOutputs - 1) / DeltaTileOutputs, tiles = outputTiles * ((samples + DeltaTileSamples - 1) / DeltaTileSamples);
        for (int t = Grid.IdxX; t < tiles; t += Grid.DimX)
        {
            int k0 = t % outputTiles * DeltaTileOutputs, b0 = t / outputTiles * DeltaTileSamples;
            Group.Barrier();
            for (int i = thread; i < DeltaTileOutputs * j; i += group)
            {
                int k = k0 + i / j;
                ws[i] = k < outputs ? c.Theta[denseOffset + k0 * j + i] : 0f;
            }
            for (int i = thread; i < j * DeltaTileSamples; i += group)
            {
                int row = i / DeltaTileSamples, s = i - row * DeltaTileSamples;
                ds[row * padded + s] = b0 + s < samples ? deltas[row * samples + b0 + s] : 0f;
            }
            Group.Barrier();
            for (int e = thread; e < DeltaTileOutputs * DeltaTileSamples; e += group)
            {
                int kk = e / DeltaTileSamples, s = e - kk * DeltaTileSamples, k = k0 + kk, b = b0 + s;
                if (k >= outputs || b >= samples) continue;
                convDeltas[k * samples + b] = features[k * samples + b] > 0f ? Dot(ws, kk * j, ds, s, padded, j) : 0f;
            }
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
        int parameters = Parameters(c), chunks = (samples + SamplesPerChunk - 1) / SamplesPerChunk, total = parameters * chunks;
        for (int i = index; i < total; i += stride)
        {
            int chunk = i / parameters, w = i - chunk * parameters, first = chunk * SamplesPerChunk, last = first + SamplesPerChunk < samples ? first + SamplesPerChunk : samples;
            float sum = 0f;
            for (int b = first; b < last; b++) sum = WeightTerm(c, inputs, b, convDeltas, b, samples, w, sum);
            partials[i] = sum;
        }
    }

    /// <summary>
    /// <paramref name="sum"/> plus one sample's share of parameter <paramref name="w"/>'s gradient: over the output pixels
    /// in order, the output's delta (at <paramref name="deltaColumn"/> of feature-major rows of stride
    /// <paramref name="deltaStride"/>) times the input it saw (sample <paramref name="b"/> of row-major
    /// <paramref name="inputs"/>), or the delta alone for a bias.
    /// </summary>
    static float WeightTerm(in ConvShape c, ArrayView<float> inputs, int b, ArrayView<float> deltas, int deltaColumn, int deltaStride, int w, float sum)
    {
        int weights = Parameters(c) - c.Filters;
        if (w >= weights)
        {
            int f = w - weights;
            for (int pixel = 0; pixel < c.OutHeight * c.OutWidth; pixel++) sum += deltas[(pixel * c.Filters + f) * deltaStride + deltaColumn];
            return sum;
        }
        int p = w / c.Filters, g = w - p * c.Filters, kh = p / (c.Kernel * c.Channels), kw = p / c.Channels % c.Kernel, ch = p % c.Channels;
        for (int oh = 0; oh < c.OutHeight; oh++)
        {
            int ih = oh * c.Stride - c.Padding + kh;
            if (ih < 0 || ih >= c.Height) continue;
            for (int ow = 0; ow < c.OutWidth; ow++)
            {
                int iw = ow * c.Stride - c.Padding + kw;
                if (iw < 0 || iw >= c.Width) continue;
                sum += deltas[((oh * c.OutWidth + ow) * c.Filters + g) * deltaStride + deltaColumn] * inputs[c.Input(b, ch, ih, iw)];
            }
        }
        return sum;
    }

    /// <summary>Parameters a thread of <see cref="WeightPartialsTiled"/> may own (the host takes the plain kernel beyond).</summary>
    public const int MaxOwnedWeights = 384;

    /// <summary>
    /// <see cref="WeightPartials"/> through shared memory: a group per chunk of <see cref="SamplesPerChunk"/> samples
    /// walks it <paramref name="sub"/> samples at a time, copying their inputs (contiguous) and their outputs' deltas (a
    /// coalesced run of each feature-major row) into dynamic shared memory, and each thread adds them into the
    /// parameters it owns (thread, thread + group, ...), held in registers across the chunk. Sums as
    /// <see cref="WeightPartials"/>'s, sample by sample in order, bit for bit.
    /// </summary>
    [Kernel]
    public static void WeightPartialsTiled(ConvShape c, ArrayView<float> inputs, ArrayView<float> convDeltas, ArrayView<float> partials, int samples, int sub)
    {
        ArrayView<float> shared = SharedMemory.GetDynamic<float>();
        ArrayView<float> owned = LocalMemory.Allocate<float>(MaxOwnedWeights);
        int group = Group.DimX, thread = Group.IdxX, outputs = c.Outputs, inputSize = c.Height * c.Width * c.Channels, parameters = Parameters(c);
        int mine = (parameters + group - 1) / group, chunks = (samples + SamplesPerChunk - 1) / SamplesPerChunk;
        ArrayView<float> xs = shared.SubView(0, sub * inputSize), ds = shared.SubView(sub * inputSize, sub * outputs);
        for (int chunk = Grid.IdxX; chunk < chunks; chunk += Grid.DimX)
        {
            for (int q = 0; q < mine; q++) owned[q] = 0f;
            int first = chunk * SamplesPerChunk, last = first + SamplesPerChunk < samples ? first + SamplesPerChunk : samples;
            for (int b0 = first; b0 < last; b0 += sub)
            {
                int count = last - b0 < sub ? last - b0 : sub;
                Group.Barrier();
                for (int i = thread; i < count * inputSize; i += group) xs[i] = inputs[b0 * inputSize + i];
                for (int i = thread; i < outputs * count; i += group)
                {
                    int o = i / count, s = i - o * count;
                    ds[o * sub + s] = convDeltas[o * samples + b0 + s];
                }
                Group.Barrier();
                for (int q = 0; q < mine; q++)
                {
                    int w = thread + q * group;
                    if (w >= parameters) break;
                    float sum = owned[q];
                    for (int s = 0; s < count; s++) sum = WeightTerm(c, xs, s, ds, s, sub, w, sum);
                    owned[q] = sum;
                }
            }
            for (int q = 0; q < mine; q++)
            {
                int w = thread + q * group;
                if (w < parameters) partials[chunk * parameters + w] = owned[q];
            }
        }
    }

    /// <summary>Adds each parameter's chunk partials in chunk order into <paramref name="gradient"/> at the convolution's offset, a thread per parameter.</summary>
    public static void ReducePartials(Index1D index, int stride, ConvShape c, ArrayView<float> partials, ArrayView<float> gradient, int samples)
    {
        int parameters = Parameters(c), chunks = (samples + SamplesPerChunk - 1) / SamplesPerChunk;
        for (int w = index; w < parameters; w += stride)
        {
            float sum = 0f;
            for (int chunk = 0; chunk < chunks; chunk++) sum += partials[chunk * parameters + w];
            gradient[c.Offset + w] = sum;
        }
    }
}
