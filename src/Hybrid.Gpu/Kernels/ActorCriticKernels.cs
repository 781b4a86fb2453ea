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
public struct NetShape
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

    /// <summary>
    /// This network with theta copied into the group's dynamic shared memory (sized to theta at launch), which every
    /// thread of the group reads from then on; every thread of the group must call it.
    /// </summary>
    public readonly NetShape InSharedMemory()
    {
        ArrayView<float> shared = SharedMemory.GetDynamic<float>();
        int parameters = (int)Theta.Length;
        for (int i = Group.IdxX; i < parameters; i += Group.DimX) shared[i] = Theta[i];
        Group.Barrier();
        NetShape copy = this;
        copy.Theta = shared.SubView(0, parameters);
        return copy;
    }

    /// <summary>The activation's derivative from its output y.</summary>
    public readonly float Derivative(float y) => Relu != 0 ? (y > 0f ? 1f : 0f) : 1f - y * y;

    /// <summary>
    /// Forward pass of one sample whose observation is in <paramref name="features"/>' first rows at column
    /// <paramref name="column"/>: hidden outputs into the following rows, logits into <paramref name="logits"/>, V into
    /// <paramref name="values"/>[column]. Thread <paramref name="part"/> of the <paramref name="parts"/> that share the
    /// sample computes the pairs of outputs 2 part, 2 part + 1, then 2 (part + parts), ... of each hidden layer, and
    /// outputs part, part + parts, ... of the heads (the logits, then V); with more than one part, a group barrier separates the layers, so every thread of the group must call
    /// this, <paramref name="active"/> false for those without a sample. Each output is summed by one thread in input
    /// order, so the values are the same whatever the parts.
    /// </summary>
    public readonly void Forward(ArrayView<float> features, ArrayView<float> logits, ArrayView<float> values, int stride, int column,
        int part, int parts, bool active)
    {
        for (int l = 0; l < Hidden; l++)
        {
            int offset = Offset(l), inputs = Inputs(l), outputs = Outputs(l), inRow = InputRow(l), outRow = OutputRow(l);
            int bias = offset + inputs * outputs;
            // Outputs two at a time: each input loaded once serves both sums (an odd last output is summed twice, the
            // same value written twice by the same thread).
            for (int j = 2 * part; active && j < outputs; j += 2 * parts)
            {
                int second = j + 1 < outputs ? j + 1 : j;
                float s = Theta[bias + j], t = Theta[bias + second];
                for (int k = 0; k < inputs; k++)
                {
                    float x = features[(inRow + k) * stride + column];
                    s += x * Theta[offset + k * outputs + j];
                    t += x * Theta[offset + k * outputs + second];
                }
                features[(outRow + j) * stride + column] = Activate(s);
                features[(outRow + second) * stride + column] = Activate(t);
            }
            if (parts > 1) Group.Barrier();
        }
        int policy = Hidden, value = Hidden + 1;
        int width = Inputs(policy), hRow = InputRow(policy), pOffset = Offset(policy), vOffset = Offset(value);
        for (int a = part; active && a <= Actions; a += parts)
        {
            if (a < Actions)
            {
                float s = Theta[pOffset + width * Actions + a];
                for (int k = 0; k < width; k++) s += features[(hRow + k) * stride + column] * Theta[pOffset + k * Actions + a];
                logits[a * stride + column] = s;
            }
            else
            {
                float v = Theta[vOffset + width];
                for (int k = 0; k < width; k++) v += features[(hRow + k) * stride + column] * Theta[vOffset + k];
                values[column] = v;
            }
        }
        if (parts > 1) Group.Barrier();
    }

    /// <summary>
    /// The torso's backward pass for <paramref name="count"/> samples (columns first, first + step, ...), after their
    /// heads' gradients are in D: the last hidden layer's pre-activation gradients from the heads', then each earlier
    /// layer's from its successor's through the weights. Parts share a layer's outputs as in <see cref="Forward"/>, a
    /// group barrier between layers when there is more than one; the sums' order is the same whatever the parts.
    /// </summary>
    public readonly void Backward(ArrayView<float> features, ArrayView<float> deltas, int stride, int first, int step, int count,
        int part, int parts, bool active)
    {
        int policy = Hidden, value = Hidden + 1;
        int pRow = DeltaRow(policy), vRow = DeltaRow(value);
        int top = Hidden - 1, width = Outputs(top), pOffset = Offset(policy), vOffset = Offset(value);
        int hRow = OutputRow(top), dRow = DeltaRow(top);
        for (int t = 0; active && t < count; t++)
        {
            int b = first + t * step;
            float dv = deltas[vRow * stride + b];
            // Two at a time, as the forward pass: each delta loaded once serves both sums.
            for (int j = 2 * part; j < width; j += 2 * parts)
            {
                int second = j + 1 < width ? j + 1 : j;
                float g = dv * Theta[vOffset + j], h = dv * Theta[vOffset + second];
                for (int a = 0; a < Actions; a++)
                {
                    float d = deltas[(pRow + a) * stride + b];
                    g += d * Theta[pOffset + j * Actions + a];
                    h += d * Theta[pOffset + second * Actions + a];
                }
                deltas[(dRow + j) * stride + b] = g * Derivative(features[(hRow + j) * stride + b]);
                deltas[(dRow + second) * stride + b] = h * Derivative(features[(hRow + second) * stride + b]);
            }
        }
        for (int l = top; l > 0; l--)
        {
            if (parts > 1) Group.Barrier();
            int offset = Offset(l), inputs = Inputs(l), outputs = Outputs(l), inRow = InputRow(l);
            int lRow = DeltaRow(l), below = DeltaRow(l - 1);
            for (int t = 0; active && t < count; t++)
            {
                int b = first + t * step;
                for (int k = 2 * part; k < inputs; k += 2 * parts)
                {
                    int second = k + 1 < inputs ? k + 1 : k;
                    float g = 0f, h = 0f;
                    for (int j = 0; j < outputs; j++)
                    {
                        float d = deltas[(lRow + j) * stride + b];
                        g += d * Theta[offset + k * outputs + j];
                        h += d * Theta[offset + second * outputs + j];
                    }
                    deltas[(below + k) * stride + b] = g * Derivative(features[(inRow + k) * stride + b]);
                    deltas[(below + second) * stride + b] = h * Derivative(features[(inRow + second) * stride + b]);
                }
            }
        }
        if (parts > 1) Group.Barrier();
    }
}

/// <summary>Everything one A2C rollout and its gradient touch on the device.</summary>
public struct RolloutViews
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
    /// <summary>Per lane: V of the scratch rows.</summary>
    public ArrayView<float> ScratchValues;
    public ArrayView<uint> ActionState;
    public ArrayView<uint> ActionStep;
    public ArrayView<DeviceEpisode> Episodes;
    public ArrayView<int> EpisodeCount;
    /// <summary>Per sample: the return of the episode the lane ended at that step, NaN where none ended (the solve window's input).</summary>
    public ArrayView<float> Ended;
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
    /// <summary>Threads that share one lane's network (a power of two that divides the group).</summary>
    public int ThreadsPerLane;
    /// <summary>Non-zero: one episode-counter atomic per warp (EpisodeKernels.WarpSlot); a GPU's setting.</summary>
    public int AggregateAtomics;
    /// <summary>Non-zero: each group first copies theta into its dynamic shared memory (it fits) and reads it there.</summary>
    public int SharedTheta;
}

/// <summary>
/// What a lagged learner's V-trace pass adds to <see cref="RolloutViews"/> (whose sample arrays then hold a batch of U
/// unrolls, sample b = u * T * N + t * N + lane): the behaviour policy's log-probabilities, and the values of the rows
/// that are not samples (each unroll's observations after its last step at column u * N + lane, then the final
/// observations of truncated steps, which <see cref="FinalColumn"/> points at).
/// </summary>
public struct VTraceViews
{
    public ArrayView<float> Behaviour;
    public ArrayView<float> ScratchValues;
    /// <summary>Per sample: the scratch column of its final observation when the step was truncated, else -1.</summary>
    public ArrayView<int> FinalColumn;
    public int Lanes;
    public int Unrolls;
    public float RhoBar;
    public float CBar;
    /// <summary>
    /// Non-zero: the samples are on-policy (A2C's own rollout): every importance weight is 1 (Behaviour is not read,
    /// RhoBar and CBar are 1) and the advantage is GAE(Lambda)'s, so the recursion is Returns.Gae's.
    /// </summary>
    public int OnPolicy;
    /// <summary>GAE's lambda on-policy; 1 for V-trace.</summary>
    public float Lambda;
}

/// <summary>
/// One env step of every lane as a composed rollout records it (the env kernels step the lanes apart from the
/// network's kernels): the lanes' per-step outputs, and where the rollout keeps them, at sample columns
/// <see cref="Column"/> + lane. A truncated lane's final observation (row-major) is copied to a scratch row for its bootstrap value.
/// </summary>
public struct StepRecord
{
    public ArrayView<float> Rewards;
    public ArrayView<int> Terminated;
    public ArrayView<int> Truncated;
    /// <summary>Per lane: the return of the episode that ended at this step, NaN where none did.</summary>
    public ArrayView<float> EndedReturns;
    public ArrayView<float> FinalObservations;
    /// <summary>Row-major scratch inputs: rows 0 to Lanes - 1 are the observations after the rollout's last step, then final observations.</summary>
    public ArrayView<float> ScratchInputs;
    /// <summary>Final observations copied to scratch rows so far this rollout (one counter).</summary>
    public ArrayView<int> ScratchCount;
    public int ObservationSize;
    public int Lanes;
    public int Column;
}

/// <summary>GA3C's predictor on the device: a batch of observation rows (feature-major, at stride Capacity) in Features.</summary>
public struct PredictViews
{
    public NetShape Net;
    public ArrayView<float> Features;
    public ArrayView<float> Logits;
    public ArrayView<float> Values;
    public int Rows;
    public int Capacity;
    /// <summary>Threads that share one row's network (a power of two that divides the group).</summary>
    public int ThreadsPerRow;
    /// <summary>Non-zero: theta is read from the group's shared memory.</summary>
    public int SharedTheta;
}

/// <summary>The learner's buffers: per-chunk partial gradients, the gradient, RMSProp's statistics.</summary>
public struct LearnViews
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
public static class ActorCriticKernels
{
    /// <summary>
    /// A batched forward pass (GA3C's predictor, the lagged learner's samples): the logits and the value of every row, a
    /// group per tile of rows and ThreadsPerRow threads to a row, as <see cref="Rollout"/> lays lanes out.
    /// </summary>
    [Kernel]
    public static void Predict(PredictViews p)
    {
        int parts = p.ThreadsPerRow, width = Group.DimX / parts, column = Group.IdxX % width, part = Group.IdxX / width;
        NetShape net = p.SharedTheta != 0 ? p.Net.InSharedMemory() : p.Net;
        int tiles = (p.Rows + width - 1) / width;
        for (int tile = Grid.IdxX; tile < tiles; tile += Grid.DimX)
        {
            int b = tile * width + column;
            net.Forward(p.Features, p.Logits, p.Values, p.Capacity, b, part, parts, b < p.Rows);
        }
    }

    /// <summary>
    /// t_max steps of every lane: observe, forward, sample, step the env (episode log, auto-reset, the value of a
    /// truncated episode's final observation); then the bootstrap V(s_T), GAE(lambda) backwards, and for every sample
    /// the loss's gradient with respect to the logits and V, back through the torso into D. A group takes a tile of
    /// lanes, ThreadsPerLane threads to a lane (adjacent threads on adjacent lanes, so their loads and stores of a row
    /// are contiguous): they share each layer's outputs in the forward and backward passes, and the lane's first thread
    /// does what is sequential (sampling, the env step, the returns and the heads' gradients). With SharedTheta the group
    /// reads theta from shared memory. Every sum is one thread's in a fixed order, so the results do not depend on the
    /// group or on the threads per lane.
    /// </summary>
    [Kernel]
    public static void Rollout(RolloutViews r)
    {
        int group = Group.DimX, thread = Group.IdxX, parts = r.ThreadsPerLane, width = group / parts;
        int column = thread % width, part = thread / width;
        NetShape net = r.SharedTheta != 0 ? r.Net.InSharedMemory() : r.Net;
        int n = r.Env.Lanes, samples = n * r.TMax, tiles = (n + width - 1) / width;
        for (int tile = Grid.IdxX; tile < tiles; tile += Grid.DimX)
        {
            int lane = tile * width + column;
            bool active = lane < n, leader = active && part == 0;
            uint state = 0, step = 0;
            if (leader)
            {
                state = r.ActionState[lane];
                step = r.ActionStep[lane];
                EnvKernels.Observe(r.Env, lane, r.Features, samples, lane);
            }
            if (parts > 1) Group.Barrier();
            for (int t = 0; t < r.TMax; t++)
            {
                int b = t * n + lane;
                net.Forward(r.Features, r.Logits, r.Values, samples, b, part, parts, active);
                bool ended = false;
                var episode = default(DeviceEpisode);
                if (leader)
                {
                    float action = net.Box != 0 ? SampleGaussian(r, b, samples, ref state, step) : SampleCategorical(r, b, samples, ref state, step);
                    bool terminated = EnvKernels.StepLane(r.Env, lane, action, r.ScratchFeatures, n, lane, r.StepBase + t, true,
                        out float reward, out bool truncated, out episode);
                    ended = terminated || truncated;
                    r.Ended[b] = ended ? episode.Return : float.NaN;
                    r.Rewards[b] = reward;
                    r.Discounts[b] = terminated ? 0f : r.Gamma;
                    bool cut = truncated && !terminated;
                    r.Cut[b] = cut ? 1 : 0;
                    float bootstrap = 0f;
                    if (cut)
                    {
                        // Rare: the lane's first thread alone, while the others wait at the barrier below.
                        net.Forward(r.ScratchFeatures, r.ScratchLogits, r.ScratchValues, n, lane, 0, 1, true);
                        bootstrap = r.ScratchValues[lane];
                    }
                    r.Bootstrap[b] = bootstrap;
                    if (t + 1 < r.TMax) EnvKernels.Observe(r.Env, lane, r.Features, samples, b + n);
                }
                int slot = EpisodeKernels.WarpSlot(ended, r.EpisodeCount, r.AggregateAtomics);
                if (ended && slot < r.Episodes.Length) r.Episodes[slot] = episode;
                if (parts > 1) Group.Barrier();
            }

            // V(s_T), then advantages backwards (Returns.Gae's recursion) and each sample's heads' gradient; then the torso.
            if (leader)
            {
                r.ActionState[lane] = state;
                EnvKernels.Observe(r.Env, lane, r.ScratchFeatures, n, lane);
            }
            if (parts > 1) Group.Barrier();
            net.Forward(r.ScratchFeatures, r.ScratchLogits, r.ScratchValues, n, lane, part, parts, active);
            if (leader)
            {
                float last = r.ScratchValues[lane];
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
                    HeadGradient(r, b, samples, advantage, target, v, inverseBatch, ref policyLoss, ref valueLoss, ref entropySum);
                }
                Atomic.Add(ref r.Terms[r.Slot * 3], policyLoss);
                Atomic.Add(ref r.Terms[r.Slot * 3 + 1], valueLoss);
                Atomic.Add(ref r.Terms[r.Slot * 3 + 2], entropySum);
            }
            if (parts > 1) Group.Barrier();
            net.Backward(r.Features, r.Deltas, samples, lane, n, r.TMax, part, parts, active);
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
    /// On-policy (<see cref="VTraceViews.OnPolicy"/>, a composed A2C rollout) the weights are 1 and lambda enters the
    /// correction, which is then GAE(lambda)'s advantage (the rollout kernel's recursion, in the same operations).
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
                float ratio = v.OnPolicy != 0 ? 1f : MathF.Exp(LogProbability(r, b, samples) - v.Behaviour[b]);
                float rho = XMin(v.RhoBar, ratio), c = XMin(v.CBar, ratio);
                correction = rho * (reward + discount * successor - value) + (continues ? discount * v.Lambda * c * correction : 0f);
                float target = value + correction;
                float advantage = v.OnPolicy != 0 ? correction : rho * (reward + discount * (continues ? vsNext : successor) - value);
                HeadGradient(r, b, samples, advantage, target, value, inverseBatch, ref policyLoss, ref valueLoss, ref entropySum);
                vsNext = target;
            }
            r.Net.Backward(r.Features, r.Deltas, samples, first, n, r.TMax, 0, 1, true);
            Atomic.Add(ref r.Terms[r.Slot * 3], policyLoss);
            Atomic.Add(ref r.Terms[r.Slot * 3 + 1], valueLoss);
            Atomic.Add(ref r.Terms[r.Slot * 3 + 2], entropySum);
        }
    }

    /// <summary>
    /// Every lane's action at sample column <paramref name="column"/> + lane, drawn from its logits (after
    /// <see cref="Predict"/>) with the lane's action stream, into the rollout's actions and <paramref name="envActions"/>
    /// (the env kernels' input); a thread per lane.
    /// </summary>
    public static void Act(Index1D index, int stride, RolloutViews r, ArrayView<int> envActions, int column, int lanes)
    {
        int samples = (int)r.Values.Length;
        for (int lane = index; lane < lanes; lane += stride)
        {
            uint state = r.ActionState[lane];
            envActions[lane] = (int)SampleCategorical(r, column + lane, samples, ref state, r.ActionStep[lane]);
            r.ActionState[lane] = state;
        }
    }

    /// <summary>
    /// Every lane's step into the rollout at sample column <c>s.Column + lane</c> (what the rollout kernel records
    /// inline): reward, discount (0 at a terminal), the cut flag of a truncation, the ended episode's return for the
    /// solve window; a truncated lane's final observation goes to the next scratch row, which FinalColumn points at.
    /// A thread per lane; the scratch rows' order may vary between runs, not their values.
    /// </summary>
    public static void Record(Index1D index, int stride, RolloutViews r, VTraceViews v, StepRecord s)
    {
        for (int lane = index; lane < s.Lanes; lane += stride)
        {
            int b = s.Column + lane;
            bool terminated = s.Terminated[lane] != 0, cut = s.Truncated[lane] != 0 && !terminated;
            r.Rewards[b] = s.Rewards[lane];
            r.Discounts[b] = terminated ? 0f : r.Gamma;
            r.Cut[b] = cut ? 1 : 0;
            r.Ended[b] = s.EndedReturns[lane];
            int column = -1;
            if (cut)
            {
                column = s.Lanes + Atomic.Add(ref s.ScratchCount[0], 1);
                int from = lane * s.ObservationSize, to = column * s.ObservationSize;
                for (int k = 0; k < s.ObservationSize; k++) s.ScratchInputs[to + k] = s.FinalObservations[from + k];
            }
            v.FinalColumn[b] = column;
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
    /// One sample's part of the loss's gradient at the heads: the policy head's (categorical or Gaussian) and
    /// dL/dV = c_v (V - R) / B into D; <see cref="NetShape.Backward"/> takes them through the torso.
    /// </summary>
    static void HeadGradient(in RolloutViews r, int b, int samples, float advantage, float target, float v, float inverseBatch,
        ref float policyLoss, ref float valueLoss, ref float entropySum)
    {
        NetShape net = r.Net;
        if (net.Box != 0) GaussianHead(r, b, samples, advantage, inverseBatch, ref policyLoss, ref entropySum);
        else CategoricalHead(r, b, samples, advantage, inverseBatch, ref policyLoss, ref entropySum);
        float error = v - target;
        valueLoss += 0.5f * error * error;
        r.Deltas[net.DeltaRow(net.Hidden + 1) * samples + b] = r.ValueCoefficient * error * inverseBatch;
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
