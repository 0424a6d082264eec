using System.Diagnostics.Metrics;

namespace Innovaphone.Redundancy;

/// <summary>One manager's instruments, and the failover clock behind the time-to-recover histogram.</summary>
internal sealed class ManagerMetrics
{
    private readonly TimeProvider _time;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _redirects;
    private readonly Counter<long> _failovers;
    private readonly Counter<long> _standbyLogins;
    private readonly Counter<long> _staggered;
    private readonly Histogram<double> _timeToRecover;
    private readonly UpDownCounter<long> _up;
    private long? _downSince;

    public ManagerMetrics(Meter meter, TimeProvider time)
    {
        _time = time;
        _attempts = meter.CreateCounter<long>(RedundancyTelemetry.AttemptsInstrument, "{attempt}", "Connection attempts (transport calls) by outcome.");
        _redirects = meter.CreateCounter<long>(RedundancyTelemetry.RedirectsInstrument, "{redirect}", "Redirects followed.");
        _failovers = meter.CreateCounter<long>(RedundancyTelemetry.FailoversInstrument, "{failover}", "Connections lost other than by stop or a fault.");
        _standbyLogins = meter.CreateCounter<long>(RedundancyTelemetry.StandbyLoginsInstrument, "{login}", "Logins at a PBX acting as standby.");
        _staggered = meter.CreateCounter<long>(RedundancyTelemetry.StaggeredAttemptsInstrument, "{attempt}", "Candidates started beside a silent attempt (staggered attempts).");
        _timeToRecover = meter.CreateHistogram<double>(RedundancyTelemetry.TimeToRecoverInstrument, "s", "Time from a failover until up again.");
        _up = meter.CreateUpDownCounter<long>(RedundancyTelemetry.UpInstrument, "{manager}", "Managers that are up (connected or standby).");
    }

    public void AttemptEnded(LoginOutcome outcome) =>
        _attempts.Add(1, new KeyValuePair<string, object?>(RedundancyTelemetry.OutcomeTag, RedundancyTelemetry.Outcome(outcome)));

    /// <summary>A transport call that ignored cancellation and was given up on (event 310): counted as its own outcome.</summary>
    public void AttemptAbandoned() =>
        _attempts.Add(1, new KeyValuePair<string, object?>(RedundancyTelemetry.OutcomeTag, "abandoned"));

    public void RedirectFollowed() => _redirects.Add(1);

    public void StandbyLogin() => _standbyLogins.Add(1);

    public void AttemptStaggered() => _staggered.Add(1);

    /// <summary>The published up flag changed; <paramref name="phase"/> is the state it changed with.</summary>
    public void UpChanged(bool up, RedundancyState phase)
    {
        _up.Add(up ? 1 : -1);
        if (up)
        {
            if (_downSince is long since)
            {
                _timeToRecover.Record(_time.GetElapsedTime(since).TotalSeconds);
                _downSince = null;
            }
        }
        else if (phase is not (RedundancyState.Stopped or RedundancyState.Faulted))
        {
            _failovers.Add(1);
            _downSince = _time.GetTimestamp();
        }
    }

    /// <summary>Stop or a fault ends the failover clock without a recovery.</summary>
    public void EpisodeAbandoned() => _downSince = null;
}
