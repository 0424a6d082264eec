namespace Innovaphone.Redundancy.Shell;

/// <summary>
/// The delays of Polly's retry strategy with <c>BackoffType = Exponential</c> and <c>MaxDelay</c> set, as a pure
/// function: the same numbers for the same attempt, state and randomizer draws (docs/adr/0001-backoff-timer.md).
/// </summary>
/// <remarks>
/// A port of Polly v8's <c>RetryHelper.GetRetryDelay</c> and <c>RetryHelper.DecorrelatedJitterBackoffV2</c>
/// (src/Polly.Core/Retry/RetryHelper.cs, github.com/App-vNext/Polly), which are internal: Polly offers its delays
/// only from inside a retry pipeline that also owns the wait. The jitter formula is George Polevoy's, scaled by
/// Polly (see Polly issue 530). BackoffDelaysTests holds this port to the Polly.Core the package references.
/// </remarks>
internal static class BackoffDelays
{
    private const double ExponentialFactor = 2.0;

    // Smooths the first jittered delay (Polly's pFactor).
    private const double PFactor = 4.0;

    // Puts the medians of the jittered delays near BackoffInitial * 2^attempt (Polly's rpScalingFactor).
    private const double RpScalingFactor = 1 / 1.4d;

    // Below TimeSpan.MaxValue, so that the conversion from double to long cannot overflow (as in Polly).
    private static readonly double MaxTimeSpanTicks = (double)TimeSpan.MaxValue.Ticks - 1_000;

    /// <summary>The wait before retry number <paramref name="attempt"/> + 1 of one failover episode.</summary>
    /// <param name="attempt">Failed rounds of this episode before this one (0 for the first backoff).</param>
    /// <param name="initial">The first delay (without jitter) or its median (with jitter): <c>BackoffInitial</c>.</param>
    /// <param name="max">The cap: <c>BackoffMax</c>.</param>
    /// <param name="jitter">Polly's decorrelated jitter (<c>UseJitter</c>) instead of plain doubling.</param>
    /// <param name="jitterState">The jitter's memory of the previous delay: 0 at the start of an episode.</param>
    /// <param name="randomizer">A draw in [0, 1); called once per delay, and only with jitter.</param>
    public static TimeSpan Next(int attempt, TimeSpan initial, TimeSpan max, bool jitter, ref double jitterState, Func<double> randomizer)
    {
        try
        {
            var delay = initial == TimeSpan.Zero ? initial
                : jitter ? DecorrelatedJitterBackoffV2(attempt, initial, ref jitterState, randomizer)
                : Math.Pow(ExponentialFactor, attempt) * initial;
            return delay > max ? max : delay;
        }
        catch (OverflowException)
        {
            // 2^attempt beyond TimeSpan: the cap, as Polly does.
            return max;
        }
    }

    private static TimeSpan DecorrelatedJitterBackoffV2(int attempt, TimeSpan initial, ref double previous, Func<double> randomizer)
    {
        var t = attempt + randomizer();
        var next = Math.Pow(ExponentialFactor, t) * Math.Tanh(Math.Sqrt(PFactor * t));

        // From t = 1024 on the formula is infinite, and the difference below would be too (Polly issue 2163).
        if (double.IsInfinity(next))
        {
            previous = next;
            return TimeSpan.FromTicks((long)MaxTimeSpanTicks);
        }

        var formulaIntrinsicValue = next - previous;
        previous = next;
        return TimeSpan.FromTicks((long)Math.Min(formulaIntrinsicValue * RpScalingFactor * initial.Ticks, MaxTimeSpanTicks));
    }
}
