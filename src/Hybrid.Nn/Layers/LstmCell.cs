using System.Numerics.Tensors;
using Hybrid.Nn.Kernels;

namespace Hybrid.Nn.Layers;

/// <summary>
/// An LSTM cell (Hochreiter and Schmidhuber 1997, with forget gate) unrolled over T steps, with
/// backpropagation through time. Gate order i, f, g, o as in PyTorch's nn.LSTM:
/// <code>
/// [a_i a_f a_g a_o] = x_t Wx + h_{t-1} Wh + b
/// i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
/// c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)
/// </code>
/// Parameters: Wx [in, 4H], Wh [H, 4H], b [4H]. An unroll may cross episode boundaries: where a lane's episode
/// begins at step t, its state entering t is zero (h_{t-1} and c_{t-1} are multiplied by 0, so no gradient flows
/// back across the boundary). The forward pass keeps the gates, the states entering each step and the cell states
/// of the unroll for <see cref="BackwardSequence"/>; one instance belongs to one thread.
/// </summary>
public sealed class LstmCell
{
    float[] _gates = [];      // [T, B, 4H] post-activation i, f, g, o
    float[] _cells = [];      // [T, B, H] c_t
    float[] _cellTanh = [];   // [T, B, H] tanh(c_t)
    float[] _hIn = [];        // [T, B, H] the state entering step t: h_{t-1}, or 0 where a reset came before t
    float[] _cIn = [];        // [T, B, H] c_{t-1} likewise
    bool[] _resets = [];      // [T, B] the last forward pass's resets
    float[] _gateGrads = [];  // [T, B, 4H] dL/d(gate pre-activations)
    float[] _dh = [];         // [B, H] dL/dh_t carried backwards
    float[] _dc = [];         // [B, H] dL/dc_t carried backwards
    int _steps, _batch;

    /// <summary>An LSTM cell from <paramref name="inputs"/> features to <paramref name="hidden"/> units.</summary>
    public LstmCell(int inputs, int hidden)
    {
        Guard.Positive(inputs, nameof(inputs));
        Guard.Positive(hidden, nameof(hidden));
        InputSize = inputs;
        HiddenSize = hidden;
    }

    /// <summary>Input features per step.</summary>
    public int InputSize { get; }

    /// <summary>Hidden units H.</summary>
    public int HiddenSize { get; }

    /// <summary>Wx, Wh and b.</summary>
    public int ParameterCount => (InputSize + HiddenSize + 1) * 4 * HiddenSize;

    /// <summary>This cell's slice of the model's flat parameters.</summary>
    public ParameterSlice Parameters { get; internal set; }

    int Gates => 4 * HiddenSize;

    /// <summary>U(-1/sqrt(H), 1/sqrt(H)) for every weight and bias, as PyTorch's nn.LSTM initializes.</summary>
    public void Initialize(Span<float> parameters, Rng rng)
    {
        Guard.Exactly(parameters.Length, ParameterCount, nameof(parameters));
        Init.Uniform(parameters, 1.0 / Math.Sqrt(HiddenSize), rng);
    }

    /// <summary>
    /// Runs <paramref name="steps"/> steps: x [T, B, in], h0 and c0 [B, H]; writes h [T, B, H] and the final
    /// cell state cT [B, H]. Where <paramref name="resets"/> [T, B] (may be empty: none) is true, that lane's state is
    /// zeroed before that step. Keeps what the backward pass needs.
    /// </summary>
    public void ForwardSequence(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> h0,
        ReadOnlySpan<float> c0, Span<float> h, Span<float> cT, int batch, int steps, ReadOnlySpan<bool> resets = default)
    {
        Guard.Exactly(parameters.Length, ParameterCount, nameof(parameters));
        Guard.Positive(batch, nameof(batch));
        Guard.Positive(steps, nameof(steps));
        int hb = batch * HiddenSize, gb = batch * Gates;
        Guard.AtLeast(x.Length, steps * batch * InputSize, nameof(x));
        Guard.AtLeast(h0.Length, hb, nameof(h0));
        Guard.AtLeast(c0.Length, hb, nameof(c0));
        Guard.AtLeast(h.Length, steps * hb, nameof(h));
        Guard.AtLeast(cT.Length, hb, nameof(cT));
        if (!resets.IsEmpty) Guard.AtLeast(resets.Length, steps * batch, nameof(resets));
        Grow(ref _gates, steps * gb);
        Grow(ref _cells, steps * hb);
        Grow(ref _cellTanh, steps * hb);
        Grow(ref _hIn, steps * hb);
        Grow(ref _cIn, steps * hb);
        if (_resets.Length < steps * batch) _resets = new bool[steps * batch];
        Span<bool> stepResets = _resets.AsSpan(0, steps * batch);
        if (resets.IsEmpty) stepResets.Clear(); else resets[..(steps * batch)].CopyTo(stepResets);
        (_steps, _batch) = (steps, batch);
        ReadOnlySpan<float> wx = WeightX(parameters), wh = WeightH(parameters), bias = Bias(parameters);
        int H = HiddenSize, rows = steps * batch;
        // The inputs' part of every step's gates at once, b + x_t Wx; the recurrence adds h_{t-1} Wh step by step.
        Elementwise.BroadcastRows(bias, _gates.AsSpan(0, rows * Gates), rows);
        Gemm.Multiply(x[..(rows * InputSize)], false, wx, false, _gates.AsSpan(0, rows * Gates), rows, Gates, InputSize, accumulate: true);
        for (int t = 0; t < steps; t++)
        {
            Span<float> gates = _gates.AsSpan(t * gb, gb);
            Span<float> hPrev = _hIn.AsSpan(t * hb, hb), cPrev = _cIn.AsSpan(t * hb, hb);
            (t == 0 ? h0[..hb] : h.Slice((t - 1) * hb, hb)).CopyTo(hPrev);
            (t == 0 ? c0[..hb] : _cells.AsSpan((t - 1) * hb, hb)).CopyTo(cPrev);
            for (int b = 0; b < batch; b++)
                if (stepResets[t * batch + b])
                {
                    hPrev.Slice(b * H, H).Clear();
                    cPrev.Slice(b * H, H).Clear();
                }
            Gemm.Multiply(hPrev, false, wh, false, gates, batch, Gates, H, accumulate: true);
            Span<float> c = _cells.AsSpan(t * hb, hb), cTanh = _cellTanh.AsSpan(t * hb, hb), hOut = h.Slice(t * hb, hb);
            for (int b = 0; b < batch; b++)
            {
                Span<float> row = gates.Slice(b * Gates, Gates);
                TensorPrimitives.Sigmoid(row[..(2 * H)], row[..(2 * H)]);
                TensorPrimitives.Tanh(row.Slice(2 * H, H), row.Slice(2 * H, H));
                TensorPrimitives.Sigmoid(row.Slice(3 * H, H), row.Slice(3 * H, H));
                // c = f c_prev + i g, tanh(c), h = o tanh(c): lane b's H units at once.
                Span<float> cRow = c.Slice(b * H, H), tanhRow = cTanh.Slice(b * H, H);
                TensorPrimitives.Multiply(row.Slice(H, H), cPrev.Slice(b * H, H), cRow);
                TensorPrimitives.MultiplyAdd(row[..H], row.Slice(2 * H, H), cRow, cRow);
                TensorPrimitives.Tanh(cRow, tanhRow);
                TensorPrimitives.Multiply(row.Slice(3 * H, H), tanhRow, hOut.Slice(b * H, H));
            }
        }
        _cells.AsSpan((steps - 1) * hb, hb).CopyTo(cT);
    }

    /// <summary>
    /// Backpropagation through the unroll of the last <see cref="ForwardSequence"/> (same parameters and x; the states
    /// and resets are the ones it kept).
    /// dh [T, B, H] is dL/dh_t from above; dhT and dcT (may be empty: zero) are gradients flowing into the
    /// final state. Adds into <paramref name="gradients"/>; writes dx [T, B, in], dh0 and dc0 [B, H] unless empty.
    /// </summary>
    /// <exception cref="InvalidOperationException">The shapes differ from the last forward pass.</exception>
    public void BackwardSequence(ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, ReadOnlySpan<float> dh, ReadOnlySpan<float> dhT,
        ReadOnlySpan<float> dcT, Span<float> dx, Span<float> dh0, Span<float> dc0, Span<float> gradients, int batch, int steps)
    {
        Guard.Exactly(parameters.Length, ParameterCount, nameof(parameters));
        Guard.Exactly(gradients.Length, ParameterCount, nameof(gradients));
        if (steps != _steps || batch != _batch)
            throw new InvalidOperationException(
                $"BackwardSequence got batch {batch}, steps {steps}; the last ForwardSequence ran batch {_batch}, steps {_steps}.");
        int hb = batch * HiddenSize, gb = batch * Gates, H = HiddenSize;
        Guard.AtLeast(dh.Length, steps * hb, nameof(dh));
        Guard.AtLeast(x.Length, steps * batch * InputSize, nameof(x));
        if (!dx.IsEmpty) Guard.AtLeast(dx.Length, steps * batch * InputSize, nameof(dx));
        Grow(ref _gateGrads, steps * gb);
        Grow(ref _dh, hb);
        Grow(ref _dc, hb);
        Span<float> dhNext = _dh.AsSpan(0, hb), dcNext = _dc.AsSpan(0, hb);
        if (dhT.IsEmpty) dhNext.Clear(); else dhT[..hb].CopyTo(dhNext);
        if (dcT.IsEmpty) dcNext.Clear(); else dcT[..hb].CopyTo(dcNext);
        ReadOnlySpan<float> wx = WeightX(parameters), wh = WeightH(parameters);
        int wxCount = InputSize * Gates, whCount = H * Gates;
        Span<float> dWx = gradients[..wxCount], dWh = gradients.Slice(wxCount, whCount), dBias = gradients[(wxCount + whCount)..];
        for (int t = steps - 1; t >= 0; t--)
        {
            ReadOnlySpan<float> gates = _gates.AsSpan(t * gb, gb), cTanh = _cellTanh.AsSpan(t * hb, hb);
            ReadOnlySpan<float> cPrev = _cIn.AsSpan(t * hb, hb), hPrev = _hIn.AsSpan(t * hb, hb);
            ReadOnlySpan<float> dhStep = dh.Slice(t * hb, hb);
            Span<float> dGates = _gateGrads.AsSpan(t * gb, gb);
            for (int b = 0; b < batch; b++)
            {
                ReadOnlySpan<float> row = gates.Slice(b * Gates, Gates);
                Span<float> dRow = dGates.Slice(b * Gates, Gates);
                for (int j = 0; j < H; j++)
                {
                    int k = b * H + j;
                    float i = row[j], f = row[H + j], g = row[2 * H + j], o = row[3 * H + j];
                    float dhTotal = dhStep[k] + dhNext[k];
                    float dc = dcNext[k] + dhTotal * o * (1f - cTanh[k] * cTanh[k]);
                    dRow[j] = dc * g * i * (1f - i);
                    dRow[H + j] = dc * cPrev[k] * f * (1f - f);
                    dRow[2 * H + j] = dc * i * (1f - g * g);
                    dRow[3 * H + j] = dhTotal * cTanh[k] * o * (1f - o);
                    dcNext[k] = dc * f;
                }
            }
            // Only the recurrence is step by step; the weights' gradients and dx take every step at once below.
            Gemm.Multiply(dGates, false, wh, true, dhNext, batch, H, Gates, accumulate: false);
            // A lane reset before step t took zeros, not the previous step's state: nothing flows back across it.
            for (int b = 0; b < batch; b++)
                if (_resets[t * batch + b])
                {
                    dhNext.Slice(b * H, H).Clear();
                    dcNext.Slice(b * H, H).Clear();
                }
        }
        // dWx += x^T dG, dWh += h_in^T dG and db += the column sums of dG over all T * B rows; dx = dG Wx^T.
        int rows = steps * batch;
        ReadOnlySpan<float> allGates = _gateGrads.AsSpan(0, rows * Gates);
        Gemm.Multiply(x[..(rows * InputSize)], true, allGates, false, dWx, InputSize, Gates, rows, accumulate: true);
        Gemm.Multiply(_hIn.AsSpan(0, rows * H), true, allGates, false, dWh, H, Gates, rows, accumulate: true);
        Elementwise.AddColumnSums(allGates, rows, dBias);
        if (!dx.IsEmpty) Gemm.Multiply(allGates, false, wx, true, dx[..(rows * InputSize)], rows, InputSize, Gates, accumulate: false);
        if (!dh0.IsEmpty) dhNext.CopyTo(dh0);
        if (!dc0.IsEmpty) dcNext.CopyTo(dc0);
    }

    /// <summary>The cell states c_t [T, B, H] of the last <see cref="ForwardSequence"/>.</summary>
    public ReadOnlySpan<float> CellStates => _cells.AsSpan(0, _steps * _batch * HiddenSize);

    ReadOnlySpan<float> WeightX(ReadOnlySpan<float> p) => p[..(InputSize * Gates)];
    ReadOnlySpan<float> WeightH(ReadOnlySpan<float> p) => p.Slice(InputSize * Gates, HiddenSize * Gates);
    ReadOnlySpan<float> Bias(ReadOnlySpan<float> p) => p[((InputSize + HiddenSize) * Gates)..];

    static void Grow(ref float[] buffer, int length)
    {
        if (buffer.Length < length) buffer = new float[length];
    }
}
