using Hybrid.Envs;
using Hybrid.Envs.ClassicControl;

namespace Hybrid.Tests.Envs;

public class BadInputTests
{
    static VectorEnv Ready(string id, int n)
    {
        VectorEnv env = EnvRegistry.Make(id, n);
        env.Reset(2);
        return env;
    }

    /// <summary>The step throws an ArgumentOutOfRangeException whose message has every fragment, and steps nothing.</summary>
    static void AssertRejected(VectorEnv env, Action step, params string[] fragments)
    {
        float[] before = env.Observations.ToArray();
        var e = Assert.Throws<ArgumentOutOfRangeException>(step);
        foreach (string fragment in fragments) Assert.Contains(fragment, e.Message);
        Assert.Equal(before, env.Observations.ToArray());
    }

    [Fact]
    public void SteppingBeforeResetNamesTheEnv()
    {
        VectorEnv env = EnvRegistry.Make("CartPole-v1", 4);
        var e = Assert.Throws<InvalidOperationException>(() => env.Step(new int[4]));
        Assert.Contains("CartPole-v1", e.Message);
        Assert.Contains("before Reset", e.Message);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public void ADiscreteActionOutsideTheSpaceNamesEnvLaneAndValue(int action)
    {
        VectorEnv env = Ready("CartPole-v1", 5);
        var actions = new int[5];
        actions[3] = action;
        AssertRejected(env, () => env.Step(actions), "CartPole-v1", "lane 3", $"was {action}", "[0, 2)");
    }

    [Fact]
    public void AnOutOfRangeActionInALongBufferIsFoundPastTheVectorLoop()
    {
        VectorEnv env = Ready("MountainCar-v0", 100);
        var actions = new int[100];
        actions[97] = 3;
        AssertRejected(env, () => env.Step(actions), "lane 97", "was 3");
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void ANonFiniteContinuousActionNamesEnvLaneAndValue(float action, string shown)
    {
        VectorEnv env = Ready("Pendulum-v1", 20);
        var actions = new float[20];
        actions[17] = action;
        AssertRejected(env, () => env.Step(actions), "Pendulum-v1", "lane 17", $"was {shown}");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)]
    public void AnActionBufferOfTheWrongLengthIsRejected(int length)
    {
        VectorEnv env = Ready("Acrobot-v1", 4);
        var e = Assert.Throws<ArgumentException>(() => env.Step(new int[length]));
        Assert.Contains("Acrobot-v1", e.Message);
        Assert.Contains($"had {length} values; expected 4", e.Message);
    }

    [Fact]
    public void ActionsOfTheWrongKindAreRejected()
    {
        var e1 = Assert.Throws<InvalidOperationException>(() => Ready("CartPole-v1", 2).Step(new float[2]));
        Assert.Contains("discrete action space Discrete(2)", e1.Message);
        var e2 = Assert.Throws<InvalidOperationException>(() => Ready("MountainCarContinuous-v0", 2).Step(new int[2]));
        Assert.Contains("continuous action space", e2.Message);
    }

    [Fact]
    public void AnUnknownEnvNameListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => EnvRegistry.Make("CartPole-v0"));
        Assert.Contains("'CartPole-v0'", e.Message);
        foreach (string id in EnvRegistry.Names) Assert.Contains(id, e.Message);
        var hint = Assert.Throws<ArgumentException>(() => EnvRegistry.Make("pendulum-v1"));
        Assert.Contains("Did you mean Pendulum-v1?", hint.Message);
    }

    [Fact]
    public void BadSizesAndLanesAreRejectedWithTheirValues()
    {
        Assert.Contains("numEnvs was 0", Assert.Throws<ArgumentOutOfRangeException>(() => EnvRegistry.Make("CartPole-v1", 0)).Message);
        VectorEnv env = Ready("CartPole-v1", 2);
        Assert.Contains("Threads was 0", Assert.Throws<ArgumentOutOfRangeException>(() => env.Threads = 0).Message);
        Assert.Contains("lane was 2", Assert.Throws<ArgumentOutOfRangeException>(() => env.SetState(2, new double[4], 0)).Message);
        Assert.Contains("state had 3 values", Assert.Throws<ArgumentException>(() => env.SetState(0, new double[3], 0)).Message);
        Assert.Contains("elapsedSteps was 500", Assert.Throws<ArgumentOutOfRangeException>(() => env.SetState(0, new double[4], 500)).Message);
        Assert.Contains("theta was NaN", Assert.Throws<ArgumentOutOfRangeException>(() => env.SetState(0, [0, 0, double.NaN, 0], 0)).Message);
    }

    [Fact]
    public void ContinuousActionsOutsideTheBoxAreClippedAsGymnasiumDoes()
    {
        // Pendulum clips the torque for both the dynamics and the cost.
        float[] Pendulum(float action)
        {
            var env = new VectorEnv<Pendulum>(1);
            env.Reset(4);
            env.SetState(0, [0.5, -0.3], 0);
            env.Step([action]);
            var state = new double[2];
            env.GetState(0, state);
            return [(float)state[0], (float)state[1], env.Rewards[0]];
        }
        Assert.Equal(Pendulum(2f), Pendulum(7.5f));
        Assert.Equal(Pendulum(-2f), Pendulum(-1e30f));

        // MountainCarContinuous clips the force but charges the unclipped action: reward -= 0.1 * action^2.
        (double[] State, float Reward) Car(float action)
        {
            var env = new VectorEnv<MountainCarContinuous>(1);
            env.Reset(4);
            env.SetState(0, [-0.5, 0.01], 0);
            env.Step([action]);
            var state = new double[2];
            env.GetState(0, state);
            return (state, env.Rewards[0]);
        }
        Assert.Equal(Car(1f).State, Car(3f).State);
        Assert.Equal(-0.1f, Car(1f).Reward, 6);
        Assert.Equal(-0.9f, Car(3f).Reward, 5);
    }

    [Fact]
    public void WithoutAutoResetAnEndedLaneMustBeGivenANewStateFirst()
    {
        var env = new VectorEnv<CartPole>(2) { AutoReset = false };
        env.Reset(1);
        env.SetState(1, [2.39, 2.0, 0.0, 0.0], 0);
        env.Step([0, 1]);
        Assert.True(env.Terminated[1]);
        Assert.True(env.Observations[4] > 2.4f, "without auto-reset the lane keeps its final observation");
        var e = Assert.Throws<InvalidOperationException>(() => env.Step([0, 0]));
        Assert.Contains("lane 1 ended", e.Message);
        env.SetState(1, [0.0, 0.0, 0.0, 0.0], 0);
        env.Step([0, 0]);
    }
}
