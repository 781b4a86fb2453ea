using Hybrid.Nn;
using Hybrid.Nn.Layers;

namespace Hybrid.Tests.Nn;

/// <summary>Finite-difference checks of every layer's backward pass, in parameters and inputs.</summary>
public class LayerGradientTests
{
    [Theory]
    [InlineData(1)]   // the batch-1 row kernel
    [InlineData(5)]   // GEMM with ragged tiles
    [InlineData(37)]  // several tiles, N > one panel
    public void Linear(int batch) => CheckLayer(new Linear(7, 40, InitKind.Orthogonal, 1.0), batch, kinks: false);

    [Fact]
    public void LinearNarrowOutput() => CheckLayer(new Linear(33, 3, InitKind.ScaledUniform), 50, kinks: false);

    [Fact]
    public void Tanh() => CheckLayer(new Tanh(9), 4, kinks: false, inputScale: 2f);

    [Fact]
    public void Relu() => CheckLayer(new Relu(9), 4, kinks: true, inputScale: 2f);

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    public void Conv2dStrideAndPadding(int stride, int padding) =>
        CheckLayer(new Conv2d(5, 6, 2, 3, kernel: 3, stride, padding), batch: 2, kinks: false);

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    public void Conv2dChannelsFirst(int stride, int padding) =>
        CheckLayer(new Conv2d(5, 6, 2, 3, kernel: 3, stride, padding, channelsFirst: true), batch: 2, kinks: false);

    [Fact]
    public void Conv2dChannelsFirstEqualsChannelsLastOnTheTransposedInput()
    {
        const int H = 10, W = 10, C = 4, Batch = 3;
        var last = new Conv2d(H, W, C, 16, kernel: 3);
        var first = new Conv2d(H, W, C, 16, kernel: 3, channelsFirst: true);
        var rng = new Rng(7);
        var parameters = new float[last.ParameterCount];
        last.Initialize(parameters, rng);
        float[] hwc = GradientCheck.Random(rng, Batch * H * W * C);
        var chw = new float[hwc.Length];
        for (int b = 0; b < Batch; b++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    for (int c = 0; c < C; c++)
                        chw[((b * C + c) * H + y) * W + x] = hwc[((b * H + y) * W + x) * C + c];
        var expected = new float[Batch * last.OutputSize];
        var actual = new float[expected.Length];
        last.Forward(parameters, hwc, expected, Batch);
        first.Forward(parameters, chw, actual, Batch);
        Assert.Equal(expected, actual);
    }

    static void CheckLayer(Layer layer, int batch, bool kinks, float inputScale = 1f)
    {
        var rng = new Rng(12345, (ulong)batch);
        float[] parameters = new float[layer.ParameterCount];
        layer.Initialize(parameters, rng);
        // Perturb the initialization so biases are not all zero.
        for (int i = 0; i < parameters.Length; i++) parameters[i] += rng.NextFloat(-0.1f, 0.1f);
        float[] x = GradientCheck.Random(rng, batch * layer.InputSize, inputScale);
        float[] w = GradientCheck.Random(rng, batch * layer.OutputSize);
        var y = new float[batch * layer.OutputSize];
        var dx = new float[batch * layer.InputSize];
        var gradients = new float[layer.ParameterCount];

        layer.Forward(parameters, x, y, batch);
        layer.Backward(parameters, x, y, w, dx, gradients, batch);

        double Loss()
        {
            var yy = new float[y.Length];
            layer.Forward(parameters, x, yy, batch);
            return GradientCheck.Dot(yy, w);
        }
        GradientCheck.Assert(parameters, gradients, Loss, $"{layer} parameters", kinks: kinks);
        GradientCheck.Assert(x, dx, Loss, $"{layer} input", kinks: kinks);
    }

    [Fact]
    public void BackwardAccumulatesIntoGradients()
    {
        var layer = new Linear(3, 4);
        var rng = new Rng(5);
        float[] p = GradientCheck.Random(rng, layer.ParameterCount), x = GradientCheck.Random(rng, 6), dy = GradientCheck.Random(rng, 8);
        var y = new float[8];
        var once = new float[layer.ParameterCount];
        layer.Forward(p, x, y, 2);
        layer.Backward(p, x, y, dy, default, once, 2);
        var twice = (float[])once.Clone();
        layer.Backward(p, x, y, dy, default, twice, 2);
        for (int i = 0; i < once.Length; i++) Assert.Equal(2 * once[i], twice[i], 5);
    }

    [Fact]
    public void LstmOverSeveralSteps() => CheckLstmUnroll(steps: 4, resets: null, seed: 777);

    [Fact]
    public void LstmUnrollWithAResetInTheMiddle()
    {
        // Lane 0's episode ends after step 1 (its state is zeroed entering step 2); lane 1's after step 2.
        const int steps = 5, batch = 2, inputs = 3, hidden = 4;
        bool[] resets = new bool[steps * batch];
        resets[2 * batch + 0] = true;
        resets[3 * batch + 1] = true;
        (float[] parameters, float[] x, float[] h, float[] dh0) = CheckLstmUnroll(steps, resets, seed: 778);

        // Nothing crosses a reset: from step 2 on, lane 0 computes what a fresh unroll from a zero state computes.
        var hFresh = new float[3 * batch * hidden];
        new LstmCell(inputs, hidden).ForwardSequence(parameters, x[(2 * batch * inputs)..], new float[batch * hidden], new float[batch * hidden],
            hFresh, new float[batch * hidden], batch, 3);
        for (int t = 0; t < 3; t++)
            for (int j = 0; j < hidden; j++)
                Assert.Equal(hFresh[(t * batch + 0) * hidden + j], h[((t + 2) * batch + 0) * hidden + j]);
        Assert.Contains(dh0[..hidden], v => v != 0); // before the reset, the initial state still counts
    }

    /// <summary>
    /// An LSTM of 3 inputs and 4 units over 2 lanes: L = sum W . h_{1..T} + sum U . c_T, its gradients in the parameters,
    /// x, h0 and c0 against finite differences, with <paramref name="resets"/> (null: none). Returns what the caller may check further.
    /// </summary>
    static (float[] Parameters, float[] X, float[] H, float[] DH0) CheckLstmUnroll(int steps, bool[]? resets, ulong seed)
    {
        const int inputs = 3, hidden = 4, batch = 2;
        var cell = new LstmCell(inputs, hidden);
        var rng = new Rng(seed);
        var parameters = new float[cell.ParameterCount];
        cell.Initialize(parameters, rng);
        for (int i = 0; i < parameters.Length; i++) parameters[i] *= 2f; // larger weights: gates away from 0.5
        float[] x = GradientCheck.Random(rng, steps * batch * inputs);
        float[] h0 = GradientCheck.Random(rng, batch * hidden, 0.5f), c0 = GradientCheck.Random(rng, batch * hidden, 0.5f);
        float[] w = GradientCheck.Random(rng, steps * batch * hidden), u = GradientCheck.Random(rng, batch * hidden);
        var h = new float[steps * batch * hidden];
        var cT = new float[batch * hidden];
        cell.ForwardSequence(parameters, x, h0, c0, h, cT, batch, steps, resets);
        var gradients = new float[cell.ParameterCount];
        var dx = new float[x.Length];
        var dh0 = new float[h0.Length];
        var dc0 = new float[c0.Length];
        cell.BackwardSequence(parameters, x, w, default, u, dx, dh0, dc0, gradients, batch, steps);

        double Loss()
        {
            var hh = new float[h.Length];
            var cc = new float[cT.Length];
            new LstmCell(inputs, hidden).ForwardSequence(parameters, x, h0, c0, hh, cc, batch, steps, resets);
            return GradientCheck.Dot(hh, w) + GradientCheck.Dot(cc, u);
        }
        GradientCheck.Assert(parameters, gradients, Loss, "lstm parameters");
        GradientCheck.Assert(x, dx, Loss, "lstm x");
        GradientCheck.Assert(h0, dh0, Loss, "lstm h0");
        GradientCheck.Assert(c0, dc0, Loss, "lstm c0");
        return (parameters, x, h, dh0);
    }

    [Fact]
    public void LstmBackwardRejectsShapeOtherThanForward()
    {
        var cell = new LstmCell(2, 3);
        var p = new float[cell.ParameterCount];
        cell.ForwardSequence(p, new float[2 * 2 * 2], new float[6], new float[6], new float[2 * 6], new float[6], batch: 2, steps: 2);
        var ex = Assert.Throws<InvalidOperationException>(() => cell.BackwardSequence(p, new float[12],
            new float[18], default, default, default, default, default, new float[cell.ParameterCount], batch: 2, steps: 3));
        Assert.Contains("steps 3", ex.Message);
    }

    [Fact]
    public void LayersValidateArguments()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Linear(0, 3));
        Assert.Equal("inputs", ex.ParamName);
        Assert.Contains("was 0", ex.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Conv2d(3, 3, 1, 4, kernel: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Tanh(-1));
        var layer = new Linear(2, 2);
        var shortX = Assert.Throws<ArgumentException>(() => layer.Forward(new float[6], new float[3], new float[4], 2));
        Assert.Equal("x", shortX.ParamName);
        var badParameters = Assert.Throws<ArgumentException>(() => layer.Forward(new float[5], new float[4], new float[4], 2));
        Assert.Equal("parameters", badParameters.ParamName);
    }
}
