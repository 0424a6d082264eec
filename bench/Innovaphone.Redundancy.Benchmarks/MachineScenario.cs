using Innovaphone.Redundancy.Core;

namespace Innovaphone.Redundancy.Benchmarks;

/// <summary>
/// One realistic failover episode as the machine's event sequence, starting from <see cref="MachineState.Initial"/>:
/// start at the master, redirect to the user's PBX, login; loss; cur, pri, sec fail; backoff scheduled and elapsed;
/// standby login at the master; StandbyBack; redirect; login on the user's PBX again.
/// The ids in the events are those the machine hands out, so every event is current (none is dropped as stale).
/// </summary>
internal static class MachineScenario
{
    public static readonly PbxAddress Master = PbxAddress.Parse("master.example.com/PBX0");
    public static readonly PbxAddress UsersPbx = PbxAddress.Parse("slave1.example.com/PBX0");

    public static MachineConfig Config { get; } = new(Master, PbxScheme.Wss, MaxRedirectHops: 5, Phys: null);

    /// <summary>The same steps as triggers of the Stateless baseline, in the same order.</summary>
    public static readonly StatelessTrigger[] Triggers =
    [
        StatelessTrigger.Start, StatelessTrigger.Redirect, StatelessTrigger.LoginUser, StatelessTrigger.Loss,
        StatelessTrigger.AttemptFailed, StatelessTrigger.AttemptFailed, StatelessTrigger.AttemptFailed,
        StatelessTrigger.BackoffScheduled, StatelessTrigger.BackoffElapsed, StatelessTrigger.LoginStandby,
        StatelessTrigger.StandbyBack, StatelessTrigger.Redirect, StatelessTrigger.LoginUser,
    ];

    public static MachineEvent[] Events()
    {
        var failed = new AttemptFailed(AttemptFailureKind.Unreachable, "connection refused");
        var due = new DateTimeOffset(2026, 1, 1, 0, 0, 1, TimeSpan.Zero);

        // Each step is built from the state before it, so that it carries the ids the machine handed out (attempt,
        // connection, backoff timer; stagger timers take ids from the same sequence). Nobody fires a stagger timer here:
        // the PBXes answer at once, as in a failover that staggering does not slow down.
        Func<MachineState, MachineEvent>[] steps =
        [
            _ => new StartRequested(null),                                                                    // -> Connecting (master)
            s => new AttemptCompleted(s.AttemptId!.Value, new Redirected(UsersPbx, PbxScheme.Wss)),            // -> Redirected (user's PBX)
            s => new AttemptCompleted(s.AttemptId!.Value, new LoggedIn(null!, PbxLoginInfo.None)),        // -> Connected, persist
            s => new ConnectionLost(s.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.Closed, "reset")), // -> Connecting (cur)
            s => new AttemptCompleted(s.AttemptId!.Value, failed),                                             // -> Connecting (pri)
            s => new AttemptCompleted(s.AttemptId!.Value, failed),                                             // -> Connecting (sec)
            s => new AttemptCompleted(s.AttemptId!.Value, failed),                                             // -> Failover (timer)
            s => new BackoffScheduled(s.TimerId!.Value, due, TimeSpan.FromSeconds(1)),                         // Failover, NextAttemptAt
            s => new BackoffElapsed(s.TimerId!.Value),                                                         // -> Connecting (pri)
            s => new AttemptCompleted(s.AttemptId!.Value, new LoggedIn(null!, PbxLoginInfo.None)),        // -> Standby (inferred, R4)
            s => new ConnectionLost(s.ConnectionId!.Value, new ConnectionLoss(ConnectionLossKind.StandbyBack, "back")), // -> Connecting (pri)
            s => new AttemptCompleted(s.AttemptId!.Value, new Redirected(UsersPbx, PbxScheme.Wss)),            // -> Redirected
            s => new AttemptCompleted(s.AttemptId!.Value, new LoggedIn(null!, PbxLoginInfo.None)),        // -> Connected
        ];
        var events = new MachineEvent[steps.Length];
        var state = MachineState.Initial;
        for (var i = 0; i < steps.Length; i++)
        {
            events[i] = steps[i](state);
            (state, _) = RedundancyMachine.Decide(Config, state, events[i]);
        }

        Verify(events);
        return events;
    }

    // A benchmark of dropped events would measure the wrong thing: check the episode walks the intended states.
    private static void Verify(MachineEvent[] events)
    {
        RedundancyState[] expected =
        [
            RedundancyState.Connecting, RedundancyState.Redirected, RedundancyState.Connected, RedundancyState.Connecting,
            RedundancyState.Connecting, RedundancyState.Connecting, RedundancyState.Failover, RedundancyState.Failover,
            RedundancyState.Connecting, RedundancyState.Standby, RedundancyState.Connecting, RedundancyState.Redirected,
            RedundancyState.Connected,
        ];
        var state = MachineState.Initial;
        for (var i = 0; i < events.Length; i++)
        {
            (state, var commands) = RedundancyMachine.Decide(Config, state, events[i]);
            if (state.Phase != expected[i] || commands.Any(c => c is Note { Text: MachineText.Ignored }))
            {
                throw new InvalidOperationException($"Scenario step {i} ({events[i]}) ended in {state.Phase}, expected {expected[i]}.");
            }
        }
    }
}
