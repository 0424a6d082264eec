using Innovaphone.Redundancy.Core;
using Innovaphone.Redundancy.Transport;

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
        var connection = new NoConnection();
        var failed = new AttemptFailed(AttemptFailureKind.Unreachable, "connection refused");
        var due = new DateTimeOffset(2026, 1, 1, 0, 0, 1, TimeSpan.Zero);
        MachineEvent[] events =
        [
            new StartRequested(null),                                                              // -> Connecting (1 -> master)
            new AttemptCompleted(1, new Redirected(UsersPbx, PbxScheme.Wss)),                      // -> Redirected (2 -> user's PBX)
            new AttemptCompleted(2, new LoggedIn(connection, PbxLoginInfo.None)),                  // -> Connected, persist
            new ConnectionLost(2, new ConnectionLoss(ConnectionLossKind.Closed, "reset")),         // -> Connecting (3 -> cur)
            new AttemptCompleted(3, failed),                                                       // -> Connecting (4 -> pri)
            new AttemptCompleted(4, failed),                                                       // -> Connecting (5 -> sec)
            new AttemptCompleted(5, failed),                                                       // -> Failover (timer 6)
            new BackoffScheduled(6, due, TimeSpan.FromSeconds(1)),                                 // Failover, NextAttemptAt
            new BackoffElapsed(6),                                                                 // -> Connecting (7 -> pri)
            new AttemptCompleted(7, new LoggedIn(connection, PbxLoginInfo.None)),                  // -> Standby (inferred, R4)
            new ConnectionLost(7, new ConnectionLoss(ConnectionLossKind.StandbyBack, "back")),     // -> Connecting (8 -> pri)
            new AttemptCompleted(8, new Redirected(UsersPbx, PbxScheme.Wss)),                      // -> Redirected (9)
            new AttemptCompleted(9, new LoggedIn(connection, PbxLoginInfo.None)),                  // -> Connected
        ];
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
        var commands = default(MachineCommands);
        for (var i = 0; i < events.Length; i++)
        {
            RedundancyMachine.Decide(Config, ref state, events[i], ref commands);
            if (state.Phase != expected[i] || commands.Any(c => c.Kind == MachineCommandKind.Note && c.Note is MachineNote.StaleEventIgnored or MachineNote.EventIgnored))
            {
                throw new InvalidOperationException($"Scenario step {i} ({events[i]}) ended in {state.Phase}, expected {expected[i]}.");
            }
        }
    }

    private sealed class NoConnection : IPbxConnection
    {
        public PbxAddress Pbx => UsersPbx;

        public Task<ConnectionLoss> Lost { get; } = new TaskCompletionSource<ConnectionLoss>().Task;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
