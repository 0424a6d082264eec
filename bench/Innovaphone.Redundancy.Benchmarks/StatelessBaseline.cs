using Stateless;

namespace Innovaphone.Redundancy.Benchmarks;

public enum StatelessTrigger
{
    Start,
    Redirect,
    LoginUser,
    LoginStandby,
    Loss,
    StandbyBack,
    AttemptFailed,
    BackoffScheduled,
    BackoffElapsed,
}

/// <summary>
/// The machine's states and transitions written with Stateless, as a baseline. It keeps the bookkeeping that decides
/// transitions (PBXes pending in the round, the attempt id, the next attempt time) but, unlike our machine, builds no
/// commands and no reason texts: it is the lower bound of "a state machine library doing this".
/// </summary>
internal sealed class StatelessBaseline
{
    private readonly StateMachine<RedundancyState, StatelessTrigger> _machine;
    private readonly StateMachine<RedundancyState, StatelessTrigger>.TriggerWithParameters<DateTimeOffset> _scheduled;
    private RedundancyState _state = RedundancyState.Idle;
    private int _pending;

    public StatelessBaseline()
    {
        _machine = new StateMachine<RedundancyState, StatelessTrigger>(() => _state, s => _state = s);
        _scheduled = _machine.SetTriggerParameters<DateTimeOffset>(StatelessTrigger.BackoffScheduled);

        _machine.Configure(RedundancyState.Idle)
            .Permit(StatelessTrigger.Start, RedundancyState.Connecting);

        _machine.Configure(RedundancyState.Connecting)
            .OnEntry(() => AttemptId++)
            .OnEntryFrom(StatelessTrigger.Start, () => _pending = 1)
            .OnEntryFrom(StatelessTrigger.Loss, () => _pending = 2)
            .OnEntryFrom(StatelessTrigger.StandbyBack, () => _pending = 1)
            .OnEntryFrom(StatelessTrigger.BackoffElapsed, () => _pending = 1)
            .OnEntryFrom(StatelessTrigger.AttemptFailed, () => _pending--)
            .Permit(StatelessTrigger.Redirect, RedundancyState.Redirected)
            .Permit(StatelessTrigger.LoginUser, RedundancyState.Connected)
            .Permit(StatelessTrigger.LoginStandby, RedundancyState.Standby)
            .PermitDynamic(StatelessTrigger.AttemptFailed, NextAfterFailure);

        _machine.Configure(RedundancyState.Redirected)
            .OnEntry(() => AttemptId++)
            .PermitReentry(StatelessTrigger.Redirect)
            .Permit(StatelessTrigger.LoginUser, RedundancyState.Connected)
            .Permit(StatelessTrigger.LoginStandby, RedundancyState.Standby)
            .PermitDynamic(StatelessTrigger.AttemptFailed, NextAfterFailure);

        _machine.Configure(RedundancyState.Connected)
            .Permit(StatelessTrigger.Loss, RedundancyState.Connecting);

        _machine.Configure(RedundancyState.Standby)
            .Permit(StatelessTrigger.Loss, RedundancyState.Connecting)
            .Permit(StatelessTrigger.StandbyBack, RedundancyState.Connecting);

        _machine.Configure(RedundancyState.Failover)
            .InternalTransition(_scheduled, (due, _) => NextAttemptAt = due)
            .Permit(StatelessTrigger.BackoffElapsed, RedundancyState.Connecting);
    }

    public long AttemptId { get; private set; }

    public DateTimeOffset? NextAttemptAt { get; private set; }

    public RedundancyState State => _state;

    public void Reset()
    {
        _state = RedundancyState.Idle;
        _pending = 0;
        NextAttemptAt = null;
    }

    public void Fire(StatelessTrigger trigger, DateTimeOffset due)
    {
        if (trigger == StatelessTrigger.BackoffScheduled)
        {
            _machine.Fire(_scheduled, due);
        }
        else
        {
            _machine.Fire(trigger);
        }
    }

    private RedundancyState NextAfterFailure() => _pending > 0 ? RedundancyState.Connecting : RedundancyState.Failover;
}
