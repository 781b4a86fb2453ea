using System.Globalization;
using Hybrid.Nn.Layers;

namespace Hybrid.Nn.Models;

/// <summary>What the network computes.</summary>
public enum ModelKind
{
    /// <summary>Shared torso, policy head and value head (A2C, A3C, IMPALA).</summary>
    ActorCritic,
    /// <summary>Torso and one output per action (1-step Q, 1-step SARSA, n-step Q).</summary>
    QNetwork,
    /// <summary>Torso and one output per box dimension, which the caller squashes into the box (DDPG's and D4PG's actor). Text form <c>deterministic</c>.</summary>
    Deterministic,
    /// <summary>A critic on (state, action): the torso takes the observation and the action side by side, and the head gives <see cref="ModelSpec.Atoms"/> outputs (1: Q; more: a categorical return distribution's logits). Text form <c>critic</c>.</summary>
    Critic,
    /// <summary>
    /// A model of a discrete-action env's one-step dynamics: the torso takes the observation and the action one-hot side
    /// by side, and the head gives the change of the observation, the reward and the logit of termination
    /// (observation + 2 outputs). Text form <c>world-model</c>.
    /// </summary>
    WorldModel,
}

/// <summary>Hidden-layer nonlinearity.</summary>
public enum Activation
{
    /// <summary>tanh, the usual choice for classic-control actor-critics.</summary>
    Tanh,
    /// <summary>max(x, 0), the usual choice after convolutions.</summary>
    Relu,
}

/// <summary>The action space the policy head serves.</summary>
public enum ActionKind
{
    /// <summary>A categorical head over N actions.</summary>
    Discrete,
    /// <summary>A diagonal-Gaussian head over a D-dimensional box.</summary>
    Box,
}

/// <summary>One convolution of the torso, followed by ReLU.</summary>
/// <param name="Filters">Output channels.</param>
/// <param name="Kernel">Square kernel side.</param>
/// <param name="Stride">Stride.</param>
/// <param name="Padding">Zero padding per side.</param>
public sealed record ConvSpec(int Filters, int Kernel, int Stride = 1, int Padding = 0)
{
    /// <inheritdoc/>
    public override string ToString() => $"{Filters}k{Kernel}s{Stride}p{Padding}";
}

/// <summary>
/// A small network description, with a canonical one-line text form that checkpoints store, e.g.
/// <c>actor-critic obs=4 hidden=64,64 act=tanh actions=discrete:2 init=orthogonal</c> or
/// <c>q obs=10x10x4 conv=16k3s1p0 hidden=128 act=relu actions=discrete:6 init=orthogonal</c>.
/// Two specs are equal when their text forms are.
/// </summary>
public sealed record ModelSpec
{
    /// <summary>Actor-critic or Q-network.</summary>
    public ModelKind Kind { get; init; } = ModelKind.ActorCritic;

    /// <summary>Observation shape: [n] for a vector, [height, width, channels] for an image (required with <see cref="Conv"/>).</summary>
    public IReadOnlyList<int> ObservationShape { get; init; } = [4];

    /// <summary>
    /// Whether an image observation is laid out channel-first, [channels, height, width] (Hybrid's MinAtar envs), rather
    /// than [height, width, channels]; <see cref="ObservationShape"/> is height x width x channels either way.
    /// Text form <c>layout=chw</c>.
    /// </summary>
    public bool ChannelsFirst { get; init; }

    /// <summary>An optional convolution in front of the hidden layers.</summary>
    public ConvSpec? Conv { get; init; }

    /// <summary>Widths of the fully connected hidden layers (may be empty).</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [64, 64];

    /// <summary>Nonlinearity after each hidden layer.</summary>
    public Activation Activation { get; init; } = Activation.Tanh;

    /// <summary>Discrete or box actions.</summary>
    public ActionKind ActionKind { get; init; } = ActionKind.Discrete;

    /// <summary>Number of discrete actions, or box dimensions.</summary>
    public int Actions { get; init; } = 2;

    /// <summary>Weight initialization.</summary>
    public InitKind Init { get; init; } = InitKind.Orthogonal;

    /// <summary>
    /// Actor-critic only: the value head gets a torso of its own, the same shape as the policy's, instead of sharing it
    /// (Stable-Baselines3's default for MLP policies: separate policy and value networks). Text form <c>value=separate</c>.
    /// </summary>
    public bool SeparateValue { get; init; }

    /// <summary>
    /// Actor-critic only: units of an LSTM between the torso and the heads (0: none), as Mnih et al. 2016 put one after
    /// the torso for their best Atari and Labyrinth agents. A recurrent network acts one step at a time from a carried
    /// state and learns from whole unrolls (<see cref="ActorCriticNetwork.ForwardSequence"/>). Text form <c>lstm=N</c>.
    /// </summary>
    public int Recurrent { get; init; }

    /// <summary>A critic's outputs: 1 for a Q-value, more for the atoms of a categorical distribution (Bellemare et al. 2017). Text form <c>atoms=N</c>, critics only.</summary>
    public int Atoms { get; init; } = 1;

    /// <summary>Values per network input: the observation's, and for a critic the action's after them.</summary>
    public int InputSize => Kind is ModelKind.Critic or ModelKind.WorldModel ? ObservationSize + Actions : ObservationSize;

    /// <summary>Outputs of a Q-network, deterministic policy, critic or world model: actions, box dimensions, atoms, or the observation's change, the reward and the termination logit.</summary>
    public int Outputs => Kind switch
    {
        ModelKind.Critic => Atoms,
        ModelKind.WorldModel => ObservationSize + 2,
        _ => Actions,
    };

    /// <summary>Values per observation.</summary>
    public int ObservationSize
    {
        get
        {
            int size = 1;
            for (int i = 0; i < ObservationShape.Count; i++) size *= ObservationShape[i];
            return size;
        }
    }

    /// <summary>Checks the fields against each other; the message names the field.</summary>
    /// <exception cref="ArgumentException">A field is out of range or inconsistent with another.</exception>
    public ModelSpec Validate()
    {
        if (ObservationShape.Count is not (1 or 3))
            throw new ArgumentException($"ObservationShape has {ObservationShape.Count} dimensions; expected 1 (vector) or 3 (height x width x channels).", nameof(ObservationShape));
        foreach (int d in ObservationShape)
            if (d <= 0) throw new ArgumentException($"ObservationShape {FormatShape()} has a dimension {d}; expected all > 0.", nameof(ObservationShape));
        if (ChannelsFirst && ObservationShape.Count != 3)
            throw new ArgumentException($"ChannelsFirst needs an image ObservationShape (h x w x c); got {FormatShape()}.", nameof(ChannelsFirst));
        if (Conv is not null)
        {
            if (ObservationShape.Count != 3)
                throw new ArgumentException($"Conv needs an image ObservationShape (h x w x c); got {FormatShape()}.", nameof(Conv));
            if (Conv.Filters <= 0 || Conv.Kernel <= 0 || Conv.Stride <= 0 || Conv.Padding < 0)
                throw new ArgumentException($"Conv was {Conv}; expected filters, kernel, stride > 0 and padding >= 0.", nameof(Conv));
            if (Conv.Kernel > ObservationShape[0] + 2 * Conv.Padding || Conv.Kernel > ObservationShape[1] + 2 * Conv.Padding)
                throw new ArgumentException($"Conv kernel {Conv.Kernel} is larger than the padded input {FormatShape()}.", nameof(Conv));
        }
        foreach (int h in Hidden)
            if (h <= 0) throw new ArgumentException($"Hidden has a width {h}; expected all > 0.", nameof(Hidden));
        if (Actions <= 0) throw new ArgumentException($"Actions was {Actions}; expected > 0.", nameof(Actions));
        if (SeparateValue && Kind != ModelKind.ActorCritic)
            throw new ArgumentException("SeparateValue was true; only an actor-critic has a value head to separate.", nameof(SeparateValue));
        if (Kind is ModelKind.QNetwork or ModelKind.WorldModel && ActionKind != ActionKind.Discrete)
            throw new ArgumentException($"ActionKind was Box; a {(Kind == ModelKind.QNetwork ? "Q-network" : "world model")} needs discrete actions.", nameof(ActionKind));
        if (Kind == ModelKind.WorldModel && Conv is not null)
            throw new ArgumentException("Conv was set; a world model takes the observation and the action side by side, as vectors.", nameof(Conv));
        if (Kind is ModelKind.Deterministic or ModelKind.Critic && ActionKind != ActionKind.Box)
            throw new ArgumentException($"ActionKind was Discrete; a {(Kind == ModelKind.Critic ? "critic" : "deterministic policy")} acts in a box.", nameof(ActionKind));
        if (Kind == ModelKind.Critic && Conv is not null)
            throw new ArgumentException("Conv was set; a critic takes the observation and the action side by side, as vectors.", nameof(Conv));
        if (Recurrent < 0) throw new ArgumentException($"Recurrent was {Recurrent}; expected 0 (none) or the LSTM's units.", nameof(Recurrent));
        if (Recurrent > 0 && Kind != ModelKind.ActorCritic)
            throw new ArgumentException($"Recurrent was {Recurrent}; only an actor-critic has an LSTM.", nameof(Recurrent));
        if (Recurrent > 0 && SeparateValue)
            throw new ArgumentException($"Recurrent was {Recurrent} with SeparateValue; the LSTM serves one torso shared by both heads.", nameof(Recurrent));
        if (Atoms < 1 || (Atoms > 1 && Kind != ModelKind.Critic))
            throw new ArgumentException($"Atoms was {Atoms}; expected 1, or more for a critic's distribution.", nameof(Atoms));
        return this;
    }

    string FormatShape() => string.Join('x', ObservationShape);

    /// <inheritdoc/>
    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        text.Append(Name);
        text.Append(" obs=").Append(FormatShape());
        if (ChannelsFirst) text.Append(" layout=chw");
        if (Conv is not null) text.Append(" conv=").Append(Conv);
        text.Append(" hidden=").Append(Hidden.Count == 0 ? "none" : string.Join(',', Hidden));
        text.Append(" act=").Append(Activation == Activation.Tanh ? "tanh" : "relu");
        text.Append(" actions=").Append(ActionKind == ActionKind.Discrete ? "discrete:" : "box:").Append(Actions);
        if (Recurrent > 0) text.Append(" lstm=").Append(Recurrent);
        if (Kind == ModelKind.Critic) text.Append(" atoms=").Append(Atoms);
        text.Append(" init=").Append(Init == InitKind.Orthogonal ? "orthogonal" : "uniform");
        if (SeparateValue) text.Append(" value=separate");
        return text.ToString();
    }

    /// <summary>The kind's name in the text form.</summary>
    string Name => Kind switch
    {
        ModelKind.ActorCritic => "actor-critic",
        ModelKind.QNetwork => "q",
        ModelKind.Deterministic => "deterministic",
        ModelKind.WorldModel => "world-model",
        _ => "critic",
    };

    /// <inheritdoc/>
    public bool Equals(ModelSpec? other) => other is not null && ToString() == other.ToString();

    /// <inheritdoc/>
    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);

    /// <summary>Parses the text form (<see cref="ToString"/>); fields left out keep their defaults.</summary>
    /// <exception cref="FormatException">The text is not a model spec; the message names the bad part.</exception>
    public static ModelSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new FormatException("Model spec is empty; expected e.g. 'actor-critic obs=4 hidden=64,64'.");
        var spec = parts[0] switch
        {
            "actor-critic" => new ModelSpec { Kind = ModelKind.ActorCritic },
            "q" => new ModelSpec { Kind = ModelKind.QNetwork },
            "deterministic" => new ModelSpec { Kind = ModelKind.Deterministic },
            "critic" => new ModelSpec { Kind = ModelKind.Critic },
            "world-model" => new ModelSpec { Kind = ModelKind.WorldModel },
            _ => throw new FormatException($"Model kind '{parts[0]}' is unknown; expected 'actor-critic', 'q', 'deterministic', 'critic' or 'world-model'."),
        };
        foreach (string part in parts.AsSpan(1))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0) throw new FormatException($"Model spec part '{part}' is not key=value.");
            string key = part[..eq], value = part[(eq + 1)..];
            spec = key switch
            {
                "obs" => spec with { ObservationShape = ParseInts(value, 'x', key) },
                "conv" => spec with { Conv = ParseConv(value) },
                "layout" => spec with
                {
                    ChannelsFirst = value switch
                    {
                        "chw" => true,
                        "hwc" => false,
                        _ => throw new FormatException($"layout '{value}' is unknown; expected chw or hwc."),
                    },
                },
                "hidden" => spec with { Hidden = value == "none" ? [] : ParseInts(value, ',', key) },
                "act" => spec with
                {
                    Activation = value switch
                    {
                        "tanh" => Activation.Tanh,
                        "relu" => Activation.Relu,
                        _ => throw new FormatException($"act '{value}' is unknown; expected tanh or relu."),
                    },
                },
                "actions" => ParseActions(spec, value),
                "lstm" => spec with { Recurrent = ParseInts(value, ',', key) is [int units] ? units : throw new FormatException($"lstm '{value}' is not a whole number.") },
                "atoms" => spec with { Atoms = ParseInts(value, ',', key) is [int atoms] ? atoms : throw new FormatException($"atoms '{value}' is not a whole number.") },
                "init" => spec with
                {
                    Init = value switch
                    {
                        "orthogonal" => InitKind.Orthogonal,
                        "uniform" => InitKind.ScaledUniform,
                        _ => throw new FormatException($"init '{value}' is unknown; expected orthogonal or uniform."),
                    },
                },
                "value" => spec with
                {
                    SeparateValue = value switch
                    {
                        "separate" => true,
                        "shared" => false,
                        _ => throw new FormatException($"value '{value}' is unknown; expected separate or shared."),
                    },
                },
                _ => throw new FormatException($"Model spec key '{key}' is unknown; expected obs, layout, conv, hidden, act, actions, lstm, atoms, init or value."),
            };
        }
        try
        {
            return spec.Validate();
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"Model spec '{text}': {e.Message}", e);
        }
    }

    static int[] ParseInts(string value, char separator, string key)
    {
        string[] items = value.Split(separator);
        var result = new int[items.Length];
        for (int i = 0; i < items.Length; i++)
            if (!int.TryParse(items[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]))
                throw new FormatException($"{key} '{value}' is not a '{separator}'-separated list of whole numbers.");
        return result;
    }

    static ConvSpec ParseConv(string value)
    {
        // filters 'k' kernel 's' stride 'p' padding, e.g. 16k3s1p0
        string[] items = value.Split('k', 's', 'p');
        if (items.Length != 4 || !int.TryParse(items[0], out int f) || !int.TryParse(items[1], out int k)
            || !int.TryParse(items[2], out int s) || !int.TryParse(items[3], out int p))
            throw new FormatException($"conv '{value}' is not FILTERSkKERNELsSTRIDEpPADDING, e.g. 16k3s1p0.");
        return new ConvSpec(f, k, s, p);
    }

    static ModelSpec ParseActions(ModelSpec spec, string value)
    {
        int colon = value.IndexOf(':');
        string kind = colon < 0 ? "" : value[..colon];
        if ((kind != "discrete" && kind != "box") || !int.TryParse(value[(colon + 1)..], out int n))
            throw new FormatException($"actions '{value}' is not discrete:N or box:D.");
        return spec with { ActionKind = kind == "discrete" ? ActionKind.Discrete : ActionKind.Box, Actions = n };
    }

    /// <summary>Builds a fresh network (layers and scratch buffers) for this spec: one per thread.</summary>
    public Network Build()
    {
        Validate();
        return Kind == ModelKind.ActorCritic ? new ActorCriticNetwork(this) : new QNetwork(this);
    }

    /// <summary>The canonical actor-critic MLP 4 -> 64 -> 64 -> (2 logits + 1 value), tanh: CartPole's, and the benchmark's.</summary>
    public static ModelSpec CartPoleActorCritic { get; } = new();

    internal List<Layer> BuildTorso()
    {
        var layers = new List<Layer>();
        // Gains from OpenAI Baselines' actor-critic MLPs, kept by SB3 and CleanRL: sqrt 2 hidden, 0.01 policy, 1 value.
        double hiddenGain = Math.Sqrt(2);
        int width = InputSize;
        if (Conv is not null)
        {
            var conv = new Conv2d(ObservationShape[0], ObservationShape[1], ObservationShape[2], Conv.Filters, Conv.Kernel,
                Conv.Stride, Conv.Padding, Init, hiddenGain, ChannelsFirst);
            layers.Add(conv);
            layers.Add(new Relu(conv.OutputSize));
            width = conv.OutputSize;
        }
        foreach (int h in Hidden)
        {
            layers.Add(new Linear(width, h, Init, hiddenGain));
            layers.Add(Activation == Activation.Tanh ? new Tanh(h) : new Relu(h));
            width = h;
        }
        return layers;
    }
}
