namespace Hybrid.Training;

/// <summary>
/// Return and target math over one trajectory of T steps, as pure span functions with time-indexed names (rlax's
/// conventions): step t has reward <c>rT[t]</c> and discount <c>discountT[t]</c> (gamma, or 0 where the episode
/// terminated at t). Episode boundaries that are not terminal are marked by <c>continueT[t]</c> = 0: the step's
/// successor is then not step t + 1 (the episode was truncated, or the trajectory ends), and the value of the true
/// successor (the observation before the auto-reset, or the state after the last step) comes from
/// <c>bootstrapT[t]</c>. Where <c>continueT[t]</c> = 1, <c>bootstrapT[t]</c> is ignored.
/// </summary>
public static class Returns
{
    /// <summary>
    /// n-step returns (Mnih et al. 2016, Algorithm S3, with the bootstrap of truncated episodes):
    /// G_t = r_t + discount_t * (continue_t ? G_t+1 : bootstrap_t).
    /// </summary>
    /// <exception cref="ArgumentException">A span's length is not T.</exception>
    public static void NStep(ReadOnlySpan<float> rT, ReadOnlySpan<float> discountT, ReadOnlySpan<float> continueT,
        ReadOnlySpan<float> bootstrapT, Span<float> returns)
    {
        CheckTrajectory(rT, discountT, continueT, bootstrapT, returns.Length, nameof(returns));
        float next = 0;
        for (int t = rT.Length - 1; t >= 0; t--)
        {
            next = rT[t] + discountT[t] * (continueT[t] != 0 ? next : bootstrapT[t]);
            returns[t] = next;
        }
    }

    /// <summary>
    /// Generalized advantage estimation (Schulman et al. 2016): with v'_t = continue_t ? v_t+1 : bootstrap_t,
    /// delta_t = r_t + discount_t v'_t - v_t and A_t = delta_t + discount_t lambda continue_t A_t+1.
    /// lambda = 1 gives the n-step return minus v_t; lambda = 0 the one-step TD error.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length is not T, or lambda is outside [0, 1].</exception>
    public static void Gae(ReadOnlySpan<float> rT, ReadOnlySpan<float> discountT, ReadOnlySpan<float> continueT,
        ReadOnlySpan<float> vTm1, ReadOnlySpan<float> bootstrapT, float lambda, Span<float> advantages)
    {
        CheckTrajectory(rT, discountT, continueT, bootstrapT, advantages.Length, nameof(advantages));
        Guard.Exactly(vTm1.Length, rT.Length, nameof(vTm1));
        Guard.InRange(lambda, 0, 1, nameof(lambda));
        float next = 0;
        for (int t = rT.Length - 1; t >= 0; t--)
        {
            bool continues = continueT[t] != 0;
            float successor = continues ? vTm1[t + 1] : bootstrapT[t];
            float delta = rT[t] + discountT[t] * successor - vTm1[t];
            next = delta + (continues ? discountT[t] * lambda * next : 0f);
            advantages[t] = next;
        }
    }

    /// <summary>
    /// V-trace targets and policy-gradient advantages (Espeholt et al. 2018, IMPALA eq. 1):
    /// v_s = V(x_s) + sum_t gamma^(t-s) (prod_{i=s}^{t-1} c_i) delta_t, delta_t = rho_t (r_t + gamma V(x_t+1) - V(x_t)),
    /// rho_t = min(rhoBar, pi/mu), c_t = min(cBar, pi/mu); computed backwards as
    /// v_s - V(x_s) = delta_s + discount_s c_s continue_s (v_s+1 - V(x_s+1)).
    /// <paramref name="vTm1"/> holds V(x_t); <paramref name="vT"/> the value of each step's true successor (V(x_t+1),
    /// or the pre-reset observation's value at a truncation, or the bootstrap after the last step).
    /// Advantages: rho_t (r_t + discount_t q_t - V(x_t)) with q_t = continue_t ? v_t+1 : vT[t].
    /// </summary>
    /// <exception cref="ArgumentException">A span's length is not T, or rhoBar or cBar is not positive.</exception>
    public static void VTrace(ReadOnlySpan<float> vTm1, ReadOnlySpan<float> vT, ReadOnlySpan<float> rT,
        ReadOnlySpan<float> discountT, ReadOnlySpan<float> continueT, ReadOnlySpan<float> rhoTm1, float rhoBar, float cBar,
        Span<float> vs, Span<float> advantages)
    {
        CheckTrajectory(rT, discountT, continueT, vT, vs.Length, nameof(vs));
        Guard.Exactly(vTm1.Length, rT.Length, nameof(vTm1));
        Guard.Exactly(rhoTm1.Length, rT.Length, nameof(rhoTm1));
        Guard.Exactly(advantages.Length, rT.Length, nameof(advantages));
        Guard.Positive((double)rhoBar, nameof(rhoBar));
        Guard.Positive((double)cBar, nameof(cBar));
        float correction = 0; // v_t+1 - V(x_t+1)
        for (int t = rT.Length - 1; t >= 0; t--)
        {
            float rho = MathF.Min(rhoBar, rhoTm1[t]), c = MathF.Min(cBar, rhoTm1[t]);
            bool continues = continueT[t] != 0;
            float delta = rho * (rT[t] + discountT[t] * vT[t] - vTm1[t]);
            correction = delta + (continues ? discountT[t] * c * correction : 0f);
            vs[t] = vTm1[t] + correction;
        }
        for (int t = 0; t < rT.Length; t++)
        {
            float q = continueT[t] != 0 ? vs[t + 1] : vT[t];
            advantages[t] = MathF.Min(rhoBar, rhoTm1[t]) * (rT[t] + discountT[t] * q - vTm1[t]);
        }
    }

    /// <summary>
    /// One-step Q-learning targets (Mnih et al. 2016, Algorithm 1): y_t = r_t + discount_t max_a Q^-(s'_t, a), with
    /// <paramref name="qNextT"/> the target network's values of each step's successor, <c>[T x actions]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length disagrees with T or the action count.</exception>
    public static void OneStepQ(ReadOnlySpan<float> rT, ReadOnlySpan<float> discountT, ReadOnlySpan<float> qNextT, int actions, Span<float> targets)
    {
        CheckTargets(rT, discountT, qNextT, actions, targets);
        for (int t = 0; t < rT.Length; t++) targets[t] = rT[t] + discountT[t] * Max(qNextT.Slice(t * actions, actions));
    }

    /// <summary>
    /// One-step SARSA targets (Mnih et al. 2016, Section 4): y_t = r_t + discount_t Q^-(s'_t, a'_t), with a'_t the
    /// action taken (epsilon-greedily) in the successor.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length disagrees with T or the action count, or an action is out of range.</exception>
    public static void Sarsa(ReadOnlySpan<float> rT, ReadOnlySpan<float> discountT, ReadOnlySpan<float> qNextT, int actions,
        ReadOnlySpan<int> nextActionT, Span<float> targets)
    {
        CheckTargets(rT, discountT, qNextT, actions, targets);
        Guard.Exactly(nextActionT.Length, rT.Length, nameof(nextActionT));
        foreach (int a in nextActionT) Guard.InRange(a, 0, actions - 1, nameof(nextActionT));
        for (int t = 0; t < rT.Length; t++) targets[t] = rT[t] + discountT[t] * qNextT[t * actions + nextActionT[t]];
    }

    /// <summary>
    /// n-step Q-learning targets (Mnih et al. 2016, Algorithm S2): the n-step return of <see cref="NStep"/> whose
    /// bootstrap at each boundary is max_a Q^-(successor, a); <paramref name="qBootstrapT"/> is <c>[T x actions]</c> and
    /// read only where continue_t = 0.
    /// </summary>
    /// <exception cref="ArgumentException">A span's length disagrees with T or the action count.</exception>
    public static void NStepQ(ReadOnlySpan<float> rT, ReadOnlySpan<float> discountT, ReadOnlySpan<float> continueT,
        ReadOnlySpan<float> qBootstrapT, int actions, Span<float> targets)
    {
        CheckTargets(rT, discountT, qBootstrapT, actions, targets);
        Guard.Exactly(continueT.Length, rT.Length, nameof(continueT));
        CheckLastBreaks(continueT);
        float next = 0;
        for (int t = rT.Length - 1; t >= 0; t--)
        {
            next = rT[t] + discountT[t] * (continueT[t] != 0 ? next : Max(qBootstrapT.Slice(t * actions, actions)));
            targets[t] = next;
        }
    }

    static float Max(ReadOnlySpan<float> row)
    {
        float best = row[0];
        for (int a = 1; a < row.Length; a++) best = MathF.Max(best, row[a]);
        return best;
    }

    static void CheckTrajectory(ReadOnlySpan<float> rT, ReadOnlySpan<float> discountT, ReadOnlySpan<float> continueT,
        ReadOnlySpan<float> bootstrapT, int outputLength, string outputName)
    {
        int steps = rT.Length;
        Guard.Exactly(discountT.Length, steps, nameof(discountT));
        Guard.Exactly(continueT.Length, steps, nameof(continueT));
        Guard.Exactly(bootstrapT.Length, steps, nameof(bootstrapT));
        Guard.Exactly(outputLength, steps, outputName);
        CheckLastBreaks(continueT);
    }

    /// <summary>The last step has no successor in the trajectory: its continue flag must be 0.</summary>
    static void CheckLastBreaks(ReadOnlySpan<float> continueT)
    {
        if (continueT.Length > 0 && continueT[^1] != 0)
            throw new ArgumentException($"continueT[{continueT.Length - 1}] was {continueT[^1]}; expected 0: the last step's successor is outside the trajectory, so its value must come from the bootstrap.", nameof(continueT));
    }

    static void CheckTargets(ReadOnlySpan<float> rT, ReadOnlySpan<float> discountT, ReadOnlySpan<float> qT, int actions, Span<float> targets)
    {
        Guard.Positive(actions, nameof(actions));
        Guard.Exactly(discountT.Length, rT.Length, nameof(discountT));
        Guard.Exactly(qT.Length, rT.Length * actions, nameof(qT));
        Guard.Exactly(targets.Length, rT.Length, nameof(targets));
    }
}
