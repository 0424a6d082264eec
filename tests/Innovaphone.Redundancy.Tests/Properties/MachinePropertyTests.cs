using CsCheck;
using FluentAssertions;
using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Tests.Core;
using Xunit;

namespace Innovaphone.Redundancy.Tests.Properties;

/// <summary>
/// Invariants of the pure machine over random event histories (CsCheck: seeded; a failure reports the seed
/// and the shrunk history). A history is a list of numbers; each number picks the next event from what can
/// happen in the current state (including late and stale events), so every history is a plausible one.
/// </summary>
public sealed class MachinePropertyTests
{
    private const int Histories = 10_000;
    private static readonly PbxAddress[] Pool =
    [
        PbxAddress.Parse("master.example.com/PBX0"), PbxAddress.Parse("slave1.example.com/PBX0"),
        PbxAddress.Parse("slave2.example.com/PBX0"), PbxAddress.Parse("standby.example.com/PBX0"),
        PbxAddress.Parse("127.0.0.1:8080/PBX0"),
    ];

    internal static readonly MachineConfig Config = new(Pool[0], PbxScheme.Wss, MaxRedirectHops: 3, Phys: null);

    private readonly HashSet<RedundancyState> _reached = [];

    [Fact]
    public void I1toI8_HoldForRandomHistories()
    {
        Gen.Int[0, 999].Array[1, 80].Sample(Run, iter: Histories, threads: 1);

        // The histories are worth something only if they reach every state.
        _reached.Should().BeEquivalentTo(Enum.GetValues<RedundancyState>());
    }

    private void Run(int[] history)
    {
        var state = MachineState.Initial;
        var inFlight = new HashSet<long>();
        var cancelled = new HashSet<long>();
        var issued = new List<long>();
        PbxAddress? expectCurrent = null;

        foreach (var choice in history)
        {
            var @event = PickEvent(state, choice, issued);
            var before = state;
            (state, var commands) = RedundancyMachine.Decide(Config, state, @event);
            _reached.Add(state.Phase);

            // I2: the attempts in flight, as the shell sees them from the commands, are the machine's; a bounded number.
            if (@event is AttemptCompleted done)
            {
                inFlight.Remove(done.AttemptId);
            }

            foreach (var command in commands)
            {
                switch (command)
                {
                    case CancelAttempt cancel:
                        inFlight.Remove(cancel.AttemptId).Should().BeTrue("only an attempt in flight is cancelled");
                        cancelled.Add(cancel.AttemptId);
                        break;
                    case Connect connect:
                        inFlight.Add(connect.AttemptId);
                        issued.Add(connect.AttemptId);
                        if (connect.Hop == 0 && before.Attempts.Length > 0 && @event is not (StartRequested or StopRequested))
                        {
                            // Staggered: a further candidate of the round, in the round's order, never one already in flight.
                            before.Pending.Should().Contain(connect.Target, "a staggered start is a candidate of the round");
                        }

                        break;
                }
            }

            // Every login the machine is told of is either adopted (and then is the live connection) or closed, once.
            if (@event is AttemptCompleted { Outcome: LoggedIn } login)
            {
                var fate = commands.Where(c => c is AdoptConnection adopt && adopt.ConnectionId == login.AttemptId || c is CloseConnection close && close.ConnectionId == login.AttemptId).ToList();
                fate.Should().ContainSingle("a login's connection is adopted or closed, never left to the shell to guess");
                if (fate[0] is AdoptConnection)
                {
                    state.ConnectionId.Should().Be(login.AttemptId);
                }
            }

            inFlight.Should().BeEquivalentTo(state.Attempts.Select(a => a.Id), "the attempts in flight match the commands");
            inFlight.Count.Should().BeLessThanOrEqualTo(3, "I2: a bounded number of attempts in flight (one per PBX of the round)");
            state.Attempts.Select(a => a.Target).Should().OnlyHaveUniqueItems("I2: never two attempts to one PBX");

            // A cancelled attempt's late result never wins.
            if (state.ConnectionId is long held)
            {
                cancelled.Should().NotContain(held);
            }

            // Nothing is left running after a stop.
            if (state.Phase == RedundancyState.Stopped)
            {
                inFlight.Should().BeEmpty();
                state.StaggerTimerId.Should().BeNull();
                state.TimerId.Should().BeNull();
            }

            // A stagger timer is pending only while candidates wait beside attempts in flight.
            if (state.StaggerTimerId is not null)
            {
                state.Attempts.Length.Should().BeGreaterThan(0);
                state.Pending.IsEmpty.Should().BeFalse();
            }

            // I1: up exactly in Connected and Standby.
            state.ToConnInfo(Config).Up.Should().Be(state.Phase is RedundancyState.Connected or RedundancyState.Standby, "I1");

            // I3: never stuck: while trying (not idle, stopped, faulted or up), exactly one attempt or one timer.
            if (state.Phase is RedundancyState.Connecting or RedundancyState.Redirected or RedundancyState.Failover)
            {
                (state.Attempts.Length > 0 ^ state.TimerId is not null).Should().BeTrue($"I3 in {state.Phase}");
                (state.Phase == RedundancyState.Failover).Should().Be(state.TimerId is not null, "a timer is pending exactly in Failover");
            }
            else
            {
                state.Attempts.Length.Should().Be(0);
                state.TimerId.Should().BeNull();
            }

            // Up exactly while a connection is held.
            (state.ConnectionId is not null).Should().Be(state.ToConnInfo(Config).Up);

            // I4: pri is always the configured primary; sec never equals it.
            state.ToConnInfo(Config).Pri.Should().Be(Config.Primary, "I4");
            state.Secondary.Should().NotBe(Config.Primary);

            // I5: a standby login never changes pri/sec.
            if (state.Phase == RedundancyState.Standby && before.Phase != RedundancyState.Standby)
            {
                state.Secondary.Should().Be(before.Secondary, "I5");
                state.Home.Should().Be(before.Home, "I5");
            }

            // I6: after a loss, the first attempt targets the current PBX (at once, or after the backoff of an unstable connection).
            var connects = commands.OfType<Connect>().ToList();
            var firstConnect = connects.FirstOrDefault(c => c.Hop == 0);
            if (firstConnect is { } first && expectCurrent is { } expected)
            {
                first.Target.Should().Be(expected, "I6");
            }

            if (firstConnect is not null || state.Phase is RedundancyState.Stopped or RedundancyState.Faulted or RedundancyState.Connected or RedundancyState.Standby)
            {
                expectCurrent = null;
            }

            if (@event is ConnectionLost { Loss.Kind: ConnectionLossKind.Closed } lost && lost.ConnectionId == before.ConnectionId)
            {
                var backsOff = lost.Unstable && before.EarlyLosses >= 1;
                if (backsOff)
                {
                    connects.Should().BeEmpty("I6: the second early loss in a row backs off first");
                }
                else
                {
                    connects.Single().Target.Should().Be(before.Current, "I6: a loss (the first early one too) reconnects to the current PBX at once");
                }

                expectCurrent = backsOff ? before.Current : null;
            }

            if (@event is ConnectionLost { Loss.Kind: ConnectionLossKind.StandbyBack } back && back.ConnectionId == before.ConnectionId)
            {
                connects.Single().Target.Should().Be(Config.Primary, "R8: StandbyBack reconnects from the primary at once, early or not");
            }

            // I8: redirect hops never exceed the limit.
            foreach (var attempt in state.Attempts)
            {
                attempt.Redirects.Should().BeLessThanOrEqualTo(Config.MaxRedirectHops, "I8");
            }

            // Stale and ignored events change nothing.
            if (commands.All(c => c is Note { Text: MachineText.Ignored }) && commands.Count > 0)
            {
                state.Should().Be(before);
            }
        }
    }

    /// <summary>Picks the next event: mostly answers to what is pending, sometimes host actions and stale events.</summary>
    internal static MachineEvent PickEvent(MachineState state, int choice, List<long> issued)
    {
        var kind = choice % 20;
        var pick = choice / 20;
        var pbx = Pool[pick % Pool.Length];

        if (kind == 0)
        {
            return new StartRequested(pick % 3 == 0 ? new RedundancyRecord(Config.Primary, pbx, Pool[(pick + 1) % Pool.Length]) : null);
        }

        if (kind == 1)
        {
            return new StopRequested();
        }

        if (kind == 2 && issued.Count > 0)
        {
            // A late answer of some earlier attempt (possibly the current one).
            return new AttemptCompleted(issued[pick % issued.Count], Outcome(pick, pbx));
        }

        if (kind == 3)
        {
            return pick % 2 == 0 ? new BackoffElapsed(pick) : new ConnectionLost(pick, new ConnectionLoss(ConnectionLossKind.Closed, "stale"));
        }

        if (kind == 4 && state.StaggerTimerId is long stagger)
        {
            return new StaggerElapsed(pick % 4 == 0 ? pick : stagger);
        }

        if (state.Attempts.Length > 0)
        {
            var attempt = state.Attempts[pick % state.Attempts.Length].Id;
            return kind == 5 ? new AttemptAnswered(attempt) : new AttemptCompleted(attempt, Outcome(kind + pick, pbx));
        }

        if (state.TimerId is long timer)
        {
            return kind % 2 == 0 ? new BackoffScheduled(timer, DateTimeOffset.UnixEpoch.AddSeconds(pick), TimeSpan.FromSeconds(1)) : new BackoffElapsed(timer);
        }

        if (state.ConnectionId is long connection)
        {
            var loss = (kind % 6) switch
            {
                0 => ConnectionLossKind.StandbyBack,
                1 => ConnectionLossKind.LoggedOut,
                _ => ConnectionLossKind.Closed,
            };
            return new ConnectionLost(connection, new ConnectionLoss(loss, "random"), Unstable: pick % 3 == 0);
        }

        return new StartRequested(null);
    }

    private static LoginOutcome Outcome(int n, PbxAddress pbx) => (n % 9) switch
    {
        0 or 1 => new LoggedIn(null!, new PbxLoginInfo(
            Standby: (n / 9 % 3) switch { 0 => true, 1 => false, _ => null },
            Alternative: n % 2 == 0 ? Pool[(n / 7) % Pool.Length] : null,
            Master: n % 3 == 0 ? Pool[(n / 5) % Pool.Length] : null)),
        2 or 3 => new Redirected(Pool[(n / 9) % Pool.Length], n % 17 == 0 ? PbxScheme.Ws : PbxScheme.Wss),
        4 when n % 5 == 0 => new Rejected(1, "wrong password"),
        _ => new AttemptFailed((AttemptFailureKind)(n % 6), "random"),
    };
}
