using System.Reactive.Subjects;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Innovaphone.Redundancy.Softphone;

/// <summary>
/// Drives a softphone's registration from connInfo, as the innovaphone softphone redundancy concept describes it:
/// subscribe it to <see cref="RedundancyManager.ConnInfoChanges"/> (or any connInfo source), register to
/// <see cref="Current"/>'s <see cref="SoftphoneRegistration.Target"/> with its physical location, and report what the
/// registration flow answered. The registrar decides where to register next and publishes every new decision.
/// </summary>
/// <remarks>
/// <para>Launcher-style host: the first flow starts at the primary PBX; each reported failure (or lost registration)
/// moves to the other of primary and secondary; redirects are followed up to
/// <see cref="SoftphoneRegistrationOptions.MaxRedirectHops"/> and never back to a PBX already visited in the flow
/// (a refused redirect fails the flow); a PBX may keep the registration as standby. A change of <c>pri</c>/<c>sec</c>
/// restarts the alternation (a registration in place is kept).</para>
/// <para>Browser-style host: the target is always the current PBX while the client is up; a change of <c>cur</c>
/// starts a new flow there, and a failure retries it. Redirects are followed as in a launcher-style host.</para>
/// <para>Reports about a PBX other than the current target (late answers of an abandoned flow) are ignored.
/// All members are thread-safe. Decisions are delivered one at a time, in order; a subscriber that throws is
/// logged and keeps its subscription. A subscriber may call the report methods from its handler.</para>
/// </remarks>
public sealed class SoftphoneRegistrar : IDisposable
{
    private readonly object _gate = new();
    private readonly SoftphoneRegistrationOptions _options;
    private readonly ILogger _logger;
    private readonly BehaviorSubject<SoftphoneRegistration> _decisions;
    private readonly Queue<Action> _pending = new();
    private readonly IDisposable _subscription;
    private SoftphoneRegistrarState _state = SoftphoneRegistrarState.Initial;
    private bool _draining;
    private bool _ended;

    /// <summary>Creates the registrar and subscribes it to <paramref name="connInfo"/>.</summary>
    /// <param name="connInfo">
    /// The client's connInfo, for example <see cref="RedundancyManager.ConnInfoChanges"/> (which replays the current
    /// value). When it completes or fails, <see cref="Decisions"/> does the same.
    /// </param>
    /// <param name="options">The host kind and settings. Default: <see langword="null"/> (a launcher-style host with default settings).</param>
    /// <exception cref="ArgumentNullException"><paramref name="connInfo"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid; the message names the value.</exception>
    public SoftphoneRegistrar(IObservable<ConnInfo> connInfo, SoftphoneRegistrationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(connInfo);
        _options = options ?? new SoftphoneRegistrationOptions();
        _options.Validate();
        _logger = (ILogger?)_options.LoggerFactory?.CreateLogger<SoftphoneRegistrar>() ?? NullLogger.Instance;
        _decisions = new BehaviorSubject<SoftphoneRegistration>(_state.Decision);
        Decisions = new GuardedObservable<SoftphoneRegistration>(_decisions, ex => SoftphoneLog.SubscriberFailed(_logger, ex));

        // Last: a source that replays its current value calls back into this instance during Subscribe.
        _subscription = connInfo.Subscribe(new ConnInfoObserver(this));
    }

    /// <summary>The latest decision: where to register now and with which physical location.</summary>
    public SoftphoneRegistration Current
    {
        get
        {
            lock (_gate)
            {
                return _state.Decision;
            }
        }
    }

    /// <summary>
    /// Every new decision, in order. A new subscriber first gets the latest decision delivered. Completes when the
    /// registrar is disposed or the connInfo source completes (a later subscriber only gets the completion);
    /// fails when the source fails.
    /// </summary>
    public IObservable<SoftphoneRegistration> Decisions { get; }

    /// <summary>Reports that registering at <paramref name="pbx"/> failed, or that the registration there was lost.</summary>
    /// <param name="pbx">The PBX the registration flow was at.</param>
    /// <returns>The decision after the report: the next PBX to register to.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pbx"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The registrar is disposed.</exception>
    public SoftphoneRegistration ReportFailure(PbxAddress pbx)
    {
        ArgumentNullException.ThrowIfNull(pbx);
        return Apply(s => SoftphoneRegistrationMachine.OnFailed(s, pbx), report: true);
    }

    /// <summary>Reports that <paramref name="from"/> redirected the registration to <paramref name="to"/>.</summary>
    /// <param name="from">The PBX that redirected.</param>
    /// <param name="to">The PBX it redirected to.</param>
    /// <returns>
    /// The decision after the report: <see cref="SoftphoneRegistrationStatus.Redirected"/> to <paramref name="to"/>, or, when
    /// the redirect is refused (hop limit, loop), <see cref="SoftphoneRegistrationStatus.Registering"/> at the next PBX.
    /// </returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ObjectDisposedException">The registrar is disposed.</exception>
    public SoftphoneRegistration ReportRedirect(PbxAddress from, PbxAddress to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        return Apply(s => SoftphoneRegistrationMachine.OnRedirected(s, from, to, _options), report: true);
    }

    /// <summary>Reports that the softphone is registered at <paramref name="pbx"/>.</summary>
    /// <param name="pbx">The PBX that accepted the registration.</param>
    /// <param name="standby">Whether that PBX keeps the registration as standby for the user's PBX.</param>
    /// <returns>The decision after the report.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="pbx"/> is null.</exception>
    /// <exception cref="ObjectDisposedException">The registrar is disposed.</exception>
    public SoftphoneRegistration ReportRegistered(PbxAddress pbx, bool standby = false)
    {
        ArgumentNullException.ThrowIfNull(pbx);
        return Apply(s => SoftphoneRegistrationMachine.OnRegistered(s, pbx, standby), report: true);
    }

    /// <summary>Unsubscribes from connInfo and completes <see cref="Decisions"/>. Idempotent.</summary>
    public void Dispose()
    {
        _subscription.Dispose();
        End(d => d.OnCompleted());
    }

    private SoftphoneRegistration Apply(Func<SoftphoneRegistrarState, SoftphoneStep> decide, bool report)
    {
        SoftphoneStep step;
        bool drain;
        lock (_gate)
        {
            if (_ended)
            {
                ObjectDisposedException.ThrowIf(report, this);
                return _state.Decision;
            }

            step = decide(_state);
            _state = step.State;
            if (step.Kind is SoftphoneStepKind.Changed or SoftphoneStepKind.RedirectRefused)
            {
                var decision = step.State.Decision;
                _pending.Enqueue(() => _decisions.OnNext(decision));
            }

            drain = !_draining;
            _draining |= drain;
        }

        Log(step);
        if (drain)
        {
            Drain();
        }

        return step.State.Decision;
    }

    private void End(Action<IObserver<SoftphoneRegistration>> last)
    {
        bool drain;
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            // Completing the subject releases its subscribers; later subscribers are told it completed.
            _pending.Enqueue(() => last(_decisions));
            drain = !_draining;
            _draining |= drain;
        }

        if (drain)
        {
            Drain();
        }
    }

    // One thread at a time delivers, in queue order; a report made from a subscriber's handler is queued and
    // delivered after the current notification, so every subscriber sees the decisions in the same order.
    private void Drain()
    {
        while (true)
        {
            Action next;
            lock (_gate)
            {
                if (!_pending.TryDequeue(out next!))
                {
                    _draining = false;
                    return;
                }
            }

            try
            {
                next();
            }
            catch
            {
                // Subscribers are guarded; should the subject itself throw, let the next caller deliver the rest.
                lock (_gate)
                {
                    _draining = false;
                }

                throw;
            }
        }
    }

    private void Log(SoftphoneStep step)
    {
        switch (step.Kind)
        {
            case SoftphoneStepKind.Changed:
                SoftphoneLog.DecisionChanged(_logger, step.State.Decision);
                break;
            case SoftphoneStepKind.RedirectRefused:
                SoftphoneLog.RedirectRefused(_logger, step.Detail, step.State.Decision);
                break;
            case SoftphoneStepKind.Ignored:
                SoftphoneLog.ReportIgnored(_logger, step.Detail);
                break;
            default:
                break;
        }
    }

    private sealed class ConnInfoObserver(SoftphoneRegistrar owner) : IObserver<ConnInfo>
    {
        public void OnNext(ConnInfo value)
        {
            if (value is not null)
            {
                owner.Apply(s => SoftphoneRegistrationMachine.OnConnInfo(s, value, owner._options), report: false);
            }
        }

        public void OnCompleted() => owner.End(d => d.OnCompleted());

        public void OnError(Exception error) => owner.End(d => d.OnError(error));
    }
}
