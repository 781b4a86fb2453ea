using ILGPU;

namespace Hybrid.Gpu.Kernels;

/// <summary>
/// The actor-critic MLP as kernels see it. Theta is laid out exactly as the CPU network's (each linear layer's weights
/// [in, out] row-major, then its biases; the torso, then the policy head, then the value head). Per-sample values are
/// stored feature-major, row r of sample b at <c>r * stride + b</c>: the feature rows F hold the observation, then every
/// hidden layer's output; the delta rows D hold every hidden layer's pre-activation gradient, then the logits', then
/// the value's, then (Gaussian head) the log-stds'. Layer l's table entry (6 ints): parameter offset, inputs, outputs, input row in F, output row in F
/// (hidden layers), delta row in D.
/// </summary>
internal struct NetShape
{
    public const int Entry = 6;
    public ArrayView<float> Theta;
    public ArrayView<int> Layers;
    /// <summary>Hidden (torso) layers; the policy head's entry is number Hidden, the value head's Hidden + 1.</summary>
    public int Hidden;
    /// <summary>0 tanh, 1 ReLU.</summary>
    public int Relu;
    /// <summary>Discrete actions (categorical head), or action dimensions D (Gaussian head).</summary>
    public int Actions;
    public int ObservationSize;
    /// <summary>Non-zero for a diagonal-Gaussian head: the policy head gives the means, theta's last D values are the log-stds.</summary>
    public int Box;
    public int LogStdOffset;
    /// <summary>D rows of the per-sample log-std gradients (Gaussian head).</summary>
    public int LogStdRow;

    public readonly int Offset(int layer) => Layers[layer * Entry];
    public readonly int Inputs(int layer) => Layers[layer * Entry + 1];
    public readonly int Outputs(int layer) => Layers[layer * Entry + 2];
    public readonly int InputRow(int layer) => Layers[layer * Entry + 3];
    public readonly int OutputRow(int layer) => Layers[layer * Entry + 4];
    public readonly int DeltaRow(int layer) => Layers[layer * Entry + 5];

    /// <summary>The torso's activation (tanh as Hybrid's CPU kernels compute it, so both paths agree to rounding).</summary>
    public readonly float Activate(float x) => Relu != 0 ? (x > 0f ? x : 0f) : DeviceMath.Tanh(x);

    /// <summary>The activation's derivative from its output y.</summary>
    public readonly float Derivative(float y) => Relu != 0 ? (y > 0f ? 1f : 0f) : 1f - y * y;

    /// <summary>
    /// Forward pass of one sample whose observation is in <paramref name="features"/>' first rows at column
    /// <paramref name="column"/>: hidden outputs into the following rows, logits into <paramref name="logits"/>; returns V.
    /// </summary>
    public readonly float Forward(ArrayView<float> features, ArrayView<float> logits, int stride, int column)
    {
        for (int l = 0; l < Hidden; l++)
        {
            int offset = Offset(l), inputs = Inputs(l), outputs = Outputs(l), inRow = InputRow(l), outRow = OutputRow(l);
            int bias = offset + inputs * outputs;
            for (int j = 0; j < outputs; j++)
            {
                float s = Theta[bias + j];
                for (int k = 0; k < inputs; k++) s += features[(inRow + k) * stride + column] * Theta[offset + k * outputs + j];
                features[(outRow + j) * stride + column] = Activate(s);
            }
        }
        int policy = Hidden, value = Hidden + 1;
        int width = Inputs(policy), hRow = InputRow(policy), pOffset = Offset(policy), vOffset = Offset(value);
        for (int a = 0; a < Actions; a++)
        {
            float s = Theta[pOffset + width * Actions + a];
            for (int k = 0; k < width; k++) s += features[(hRow + k) * stride + column] * Theta[pOffset + k * Actions + a];
            logits[a * stride + column] = s;
        }
        float v = Theta[vOffset + width];
        for (int k = 0; k < width; k++) v += features[(hRow + k) * stride + column] * Theta[vOffset + k];
        return v;
    }
}

/// <summary>Everything one A2C rollout and its gradient touch on the device.</summary>
internal struct RolloutViews
{
    public EnvLanes Env;
    public NetShape Net;
    /// <summary>F rows of every sample [rows * B], B = T * N, sample b = t * N + lane.</summary>
    public ArrayView<float> Features;
    /// <summary>D rows of every sample.</summary>
    public ArrayView<float> Deltas;
    public ArrayView<float> Logits;
    public ArrayView<float> Values;
    public ArrayView<float> Actions;
    public ArrayView<float> Rewards;
    public ArrayView<float> Discounts;
    public ArrayView<int> Cut;
    public ArrayView<float> Bootstrap;
    /// <summary>Per lane: F rows and logits for the forward passes that are not samples (V of s_T and of final observations).</summary>
    public ArrayView<float> ScratchFeatures;
    public ArrayView<float> ScratchLogits;
    public ArrayView<uint> ActionState;
    public ArrayView<uint> ActionStep;
    public ArrayView<DeviceEpisode> Episodes;
    public ArrayView<int> EpisodeCount;
    /// <summary>Loss sums (policy, value, entropy) of each update since the last drain, 3 per update.</summary>
    public ArrayView<float> Terms;
    public int TMax;
    public float Gamma;
    public float Lambda;
    public float ValueCoefficient;
    public float EntropyCoefficient;
    /// <summary>Vector steps since the episode log was drained, at this rollout's first step.</summary>
    public int StepBase;
    /// <summary>This update's slot in Terms.</summary>
    public int Slot;
}

/// <summary>
/// What a lagged learner's V-trace pass adds to <see cref="RolloutViews"/> (whose sample arrays then hold a batch of U
/// unrolls, sample b = u * T * N + t * N + lane): the behaviour policy's log-probabilities, and the values of the rows
/// that are not samples (each unroll's observations after its last step at column u * N + lane, then the final
/// observations of truncated steps, which <see cref="FinalColumn"/> points at).
/// </summary>
internal struct VTraceViews
{
    public ArrayView<float> Behaviour;
    public ArrayView<float> ScratchValues;
    /// <summary>Per sample: the scratch column of its final observation when the step was truncated, else -1.</summary>
    public ArrayView<int> FinalColumn;
    public int Lanes;
    public int Unrolls;
    public float RhoBar;
    public float CBar;
}

/// <summary>GA3C's predictor on the device: a batch of observation rows (feature-major, at stride Capacity) in Features.</summary>
internal struct PredictViews
{
    public NetShape Net;
    public ArrayView<float> Features;
    public ArrayView<float> Logits;
    public ArrayView<float> Values;
    public int Rows;
    public int Capacity;
}

/// <summary>The learner's buffers: per-chunk partial gradients, the gradient, RMSProp's statistics.</summary>
internal struct LearnViews
{
    public NetShape Net;
    /// <summary>The gradient's tiles (GradientKernels.TileTable), TileCount of them.</summary>
    public ArrayView<int> Tiles;
    public int TileCount;
    public ArrayView<float> Features;
    public ArrayView<float> Deltas;
    public ArrayView<float> Partial;
    public ArrayView<float> Gradient;
    public ArrayView<float> Statistics;
    /// <summary>Samples B, the stride of F and D.</summary>
    public int Samples;
    /// <summary>Samples per partial sum (GradientKernels.ChunkFor).</summary>
    public int Chunk;
    public int Chunks;
    /// <summary>Parameters of the linear layers (theta's length).</summary>
    public int Parameters;
}

/// <summary>A2C's kernels: one rollout kernel per update (acting, env steps, returns, loss and per-sample backward, lane by lane); the gradient and the optimizer step are GradientKernels'.</summary>
internal static class ActorCriticKernels
{
    /// <summary>GA3C's batched forward pass: the logits and the value of every row, a row per thread.</summary>
    public static void Predict(Index1D index, int stride, PredictViews p)
    {
        for (int b = index; b < p.Rows; b += stride) p.Values[b] = p.Net.Forward(p.Features, p.Logits, p.Capacity, b);
    }

    /// <summary>
    /// t_max steps of every lane: observe, forward, sample, step the env (episode log, auto-reset, the value of a
    /// truncated episode's final observation); then the bootstrap V(s_T), GAE(lambda) backwards, and for every sample
    /// the loss's gradient with respect to the logits and V, back through the torso into D.
    /// </summary>
    public static void Rollout(Index1D index, int stride, RolloutViews r)
    {
        int n = r.Env.Lanes, samples = n * r.TMax;
        for (int lane = index; lane < n; lane += stride)
        {
            uint state = r.ActionState[lane], step = r.ActionStep[lane];
            EnvKernels.Observe(r.Env, lane, r.Features, samples, lane);
            for (int t = 0; t < r.TMax; t++)
            {
                int b = t * n + lane;
                r.Values[b] = r.Net.Forward(r.Features, r.Logits, samples, b);

                float action = r.Net.Box != 0 ? SampleGaussian(r, b, samples, ref state, step) : SampleCategorical(r, b, samples, ref state, step);
                bool terminated = EnvKernels.StepLane(r.Env, lane, action, r.ScratchFeatures, n, lane, r.Episodes, r.EpisodeCount,
                    r.StepBase + t, true, out float reward, out bool truncated);
                r.Rewards[b] = reward;
                r.Discounts[b] = terminated ? 0f : r.Gamma;
                bool cut = truncated && !terminated;
                r.Cut[b] = cut ? 1 : 0;
                r.Bootstrap[b] = cut ? r.Net.Forward(r.ScratchFeatures, r.ScratchLogits, n, lane) : 0f;
                if (t + 1 < r.TMax) EnvKernels.Observe(r.Env, lane, r.Features, samples, b + n);
            }
            r.ActionState[lane] = state;

            // V(s_T), then advantages backwards (Returns.Gae's recursion) and each sample's gradient.
            EnvKernels.Observe(r.Env, lane, r.ScratchFeatures, n, lane);
            float last = r.Net.Forward(r.ScratchFeatures, r.ScratchLogits, n, lane);
            float next = 0f, policyLoss = 0f, valueLoss = 0f, entropySum = 0f, inverseBatch = 1f / samples;
            for (int t = r.TMax - 1; t >= 0; t--)
            {
                int b = t * n + lane;
                bool cut = r.Cut[b] != 0, continues = t < r.TMax - 1 && !cut;
                float v = r.Values[b], discount = r.Discounts[b];
                float successor = continues ? r.Values[b + n] : cut ? r.Bootstrap[b] : last;
                float delta = r.Rewards[b] + discount * successor - v;
                next = delta + (continues ? discount * r.Lambda * next : 0f);
                float advantage = next, target = next + v;
                SampleGradient(r, b, samples, advantage, target, v, inverseBatch, ref policyLoss, ref valueLoss, ref entropySum);
            }
            Atomic.Add(ref r.Terms[r.Slot * 3], policyLoss);
            Atomic.Add(ref r.Terms[r.Slot * 3 + 1], valueLoss);
            Atomic.Add(ref r.Terms[r.Slot * 3 + 2], entropySum);
        }
    }

    static float XMax(float a, float b) => a > b ? a : b;

    static float XMin(float a, float b) => a < b ? a : b;

    /// <summary>
    /// A lagged learner's targets and per-sample gradients, a thread per (unroll, lane), after <see cref="Predict"/> has
    /// run over the samples and the scratch rows: backwards over the unroll, V-trace's (Returns.VTrace's recursion)
    /// rho_t = min(rho_bar, pi/mu), c_t = min(c_bar, pi/mu), v_s = V(x_s) + delta_s + discount_s c_s (v_s+1 - V(x_s+1)) while
    /// the episode continues, advantage rho_s (r_s + discount_s q_s - V(x_s)) with q_s = v_s+1 (or the successor's value
    /// where the unroll or the episode is cut); then each sample's gradient as A2C's kernel takes it, over all U T N samples.
    /// </summary>
    public static void VTrace(Index1D index, int stride, RolloutViews r, VTraceViews v)
    {
        int n = v.Lanes, steps = n * r.TMax, samples = steps * v.Unrolls, columns = n * v.Unrolls;
        float inverseBatch = 1f / samples;
        for (int g = index; g < columns; g += stride)
        {
            int u = g / n, first = u * steps + (g - u * n);
            float correction = 0f, vsNext = 0f, policyLoss = 0f, valueLoss = 0f, entropySum = 0f;
            for (int t = r.TMax - 1; t >= 0; t--)
            {
                int b = first + t * n;
                bool cut = r.Cut[b] != 0, continues = t < r.TMax - 1 && !cut;
                float value = r.Values[b], discount = r.Discounts[b], reward = r.Rewards[b];
                float successor = continues ? r.Values[b + n] : cut ? v.ScratchValues[v.FinalColumn[b]] : v.ScratchValues[g];
                float ratio = MathF.Exp(LogProbability(r, b, samples) - v.Behaviour[b]);
                float rho = XMin(v.RhoBar, ratio), c = XMin(v.CBar, ratio);
                correction = rho * (reward + discount * successor - value) + (continues ? discount * c * correction : 0f);
                float target = value + correction;
                float advantage = rho * (reward + discount * (continues ? vsNext : successor) - value);
                SampleGradient(r, b, samples, advantage, target, value, inverseBatch, ref policyLoss, ref valueLoss, ref entropySum);
                vsNext = target;
            }
            Atomic.Add(ref r.Terms[r.Slot * 3], policyLoss);
            Atomic.Add(ref r.Terms[r.Slot * 3 + 1], valueLoss);
            Atomic.Add(ref r.Terms[r.Slot * 3 + 2], entropySum);
        }
    }

    /// <summary>log pi(a_b | s_b) under the logits just computed: the categorical's log-softmax at the action, or the diagonal Gaussian's density.</summary>
    static float LogProbability(in RolloutViews r, int b, int samples)
    {
        NetShape net = r.Net;
        if (net.Box != 0)
        {
            const float halfLogTwoPi = 0.9189385332046727f; // DiagonalGaussian.HalfLogTwoPi
            float sum = 0f;
            for (int d = 0; d < net.Actions; d++)
            {
                float logStd = net.Theta[net.LogStdOffset + d];
                float z = (r.Actions[d * samples + b] - r.Logits[d * samples + b]) * MathF.Exp(-logStd);
                sum += -0.5f * z * z - logStd - halfLogTwoPi;
            }
            return sum;
        }
        float max = r.Logits[b];
        for (int a = 1; a < net.Actions; a++) max = XMax(max, r.Logits[a * samples + b]);
        float total = 0f;
        for (int a = 0; a < net.Actions; a++) total += MathF.Exp(r.Logits[a * samples + b] - max);
        return r.Logits[(int)r.Actions[b] * samples + b] - max - MathF.Log(total);
    }

    /// <summary>a ~ softmax(logits) by inverting the CDF with one uniform draw (as Categorical.Sample does); stored as a float.</summary>
    static float SampleCategorical(in RolloutViews r, int b, int samples, ref uint state, uint step)
    {
        int actions = r.Net.Actions;
        float max = r.Logits[b];
        for (int a = 1; a < actions; a++) max = XMax(max, r.Logits[a * samples + b]);
        float sum = 0f;
        for (int a = 0; a < actions; a++) sum += MathF.Exp(r.Logits[a * samples + b] - max);
        float u = DeviceMath.Uniform(ref state, step, 0f, 1f) * sum;
        int action = actions - 1;
        for (int a = 0; a < actions - 1; a++)
        {
            u -= MathF.Exp(r.Logits[a * samples + b] - max);
            if (u < 0f)
            {
                action = a;
                break;
            }
        }
        r.Actions[b] = action;
        return action;
    }

    /// <summary>
    /// a = mu + sigma * N(0, 1) per dimension (Box-Muller from two uniform draws, cosine by DeviceMath), unclipped as the
    /// CPU samples it (the env clips what it executes); returns dimension 0, the action the classic box envs take.
    /// </summary>
    static float SampleGaussian(in RolloutViews r, int b, int samples, ref uint state, uint step)
    {
        for (int d = 0; d < r.Net.Actions; d++)
        {
            float u1 = 1f - DeviceMath.Uniform(ref state, step, 0f, 1f), u2 = DeviceMath.Uniform(ref state, step, 0f, 1f);
            DeviceMath.SinCos(2f * MathF.PI * u2, out _, out float cos);
            float normal = MathF.Sqrt(-2f * MathF.Log(u1)) * cos;
            r.Actions[d * samples + b] = r.Logits[d * samples + b] + MathF.Exp(r.Net.Theta[r.Net.LogStdOffset + d]) * normal;
        }
        return r.Actions[b];
    }

    /// <summary>
    /// One sample's part of the loss's gradient: the policy head's (categorical or Gaussian) and dL/dV = c_v (V - R) / B
    /// into D, then back through the torso (the hidden layers' pre-activation gradients).
    /// </summary>
    static void SampleGradient(in RolloutViews r, int b, int samples, float advantage, float target, float v, float inverseBatch,
        ref float policyLoss, ref float valueLoss, ref float entropySum)
    {
        NetShape net = r.Net;
        int actions = net.Actions, policy = net.Hidden, value = net.Hidden + 1;
        int pRow = net.DeltaRow(policy), vRow = net.DeltaRow(value);
        if (net.Box != 0) GaussianHead(r, b, samples, advantage, inverseBatch, ref policyLoss, ref entropySum);
        else CategoricalHead(r, b, samples, advantage, inverseBatch, ref policyLoss, ref entropySum);
        float error = v - target;
        valueLoss += 0.5f * error * error;
        float dv = r.ValueCoefficient * error * inverseBatch;
        r.Deltas[vRow * samples + b] = dv;

        // The last hidden layer gets the heads' gradients; each earlier one its successor's through the weights.
        int top = net.Hidden - 1, width = net.Outputs(top), pOffset = net.Offset(policy), vOffset = net.Offset(value);
        int hRow = net.OutputRow(top), dRow = net.DeltaRow(top);
        for (int j = 0; j < width; j++)
        {
            float g = dv * net.Theta[vOffset + j];
            for (int a = 0; a < actions; a++) g += r.Deltas[(pRow + a) * samples + b] * net.Theta[pOffset + j * actions + a];
            r.Deltas[(dRow + j) * samples + b] = g * net.Derivative(r.Features[(hRow + j) * samples + b]);
        }
        for (int l = top; l > 0; l--)
        {
            int offset = net.Offset(l), inputs = net.Inputs(l), outputs = net.Outputs(l), inRow = net.InputRow(l);
            int lRow = net.DeltaRow(l), below = net.DeltaRow(l - 1);
            for (int k = 0; k < inputs; k++)
            {
                float g = 0f;
                for (int j = 0; j < outputs; j++) g += r.Deltas[(lRow + j) * samples + b] * net.Theta[offset + k * outputs + j];
                r.Deltas[(below + k) * samples + b] = g * net.Derivative(r.Features[(inRow + k) * samples + b]);
            }
        }
    }

    /// <summary>The categorical part of ActorCriticLoss.Categorical for one sample: dL/dz into D, the policy loss and entropy into the sums.</summary>
    static void CategoricalHead(in RolloutViews r, int b, int samples, float advantage, float inverseBatch, ref float policyLoss, ref float entropySum)
    {
        int actions = r.Net.Actions, pRow = r.Net.DeltaRow(r.Net.Hidden);
        float max = r.Logits[b];
        for (int a = 1; a < actions; a++) max = XMax(max, r.Logits[a * samples + b]);
        float sum = 0f;
        for (int a = 0; a < actions; a++) sum += MathF.Exp(r.Logits[a * samples + b] - max);
        float logSum = MathF.Log(sum), entropy = 0f;
        for (int a = 0; a < actions; a++)
        {
            float logPi = r.Logits[a * samples + b] - max - logSum;
            entropy -= MathF.Exp(logPi) * logPi;
        }
        int taken = (int)r.Actions[b];
        policyLoss -= (r.Logits[taken * samples + b] - max - logSum) * advantage;
        entropySum += entropy;
        for (int a = 0; a < actions; a++)
        {
            float logPi = r.Logits[a * samples + b] - max - logSum, pi = MathF.Exp(logPi);
            float policyTerm = (pi - (a == taken ? 1f : 0f)) * advantage;
            r.Deltas[(pRow + a) * samples + b] = (policyTerm + r.EntropyCoefficient * pi * (logPi + entropy)) * inverseBatch;
        }
    }

    /// <summary>
    /// ActorCriticLoss.Gaussian for one sample, z = (a - mu) / sigma: dL/dmu = -z / sigma A / B into D; this sample's share
    /// of dL/dlog sigma, -(z^2 - 1) A / B - c_e / B (the batch's sum is the CPU's), into the log-std rows.
    /// </summary>
    static void GaussianHead(in RolloutViews r, int b, int samples, float advantage, float inverseBatch, ref float policyLoss, ref float entropySum)
    {
        NetShape net = r.Net;
        int pRow = net.DeltaRow(net.Hidden);
        const float halfLogTwoPi = 0.9189385332046727f; // DiagonalGaussian.HalfLogTwoPi
        float logProbability = 0f, entropy = 0f;
        for (int d = 0; d < net.Actions; d++)
        {
            float logStd = net.Theta[net.LogStdOffset + d], inverseSigma = MathF.Exp(-logStd);
            float z = (r.Actions[d * samples + b] - r.Logits[d * samples + b]) * inverseSigma;
            logProbability += -0.5f * z * z - logStd - halfLogTwoPi;
            entropy += logStd + 0.5f + halfLogTwoPi;
            r.Deltas[(pRow + d) * samples + b] = -z * inverseSigma * advantage * inverseBatch;
            r.Deltas[(net.LogStdRow + d) * samples + b] = (-(z * z - 1f) * advantage - r.EntropyCoefficient) * inverseBatch;
        }
        policyLoss -= logProbability * advantage;
        entropySum += entropy;
    }
}
