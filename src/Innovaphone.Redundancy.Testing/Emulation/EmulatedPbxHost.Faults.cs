namespace Innovaphone.Redundancy.Testing.Emulation;

/// <summary>The host, part two: the faults a test switches on (protocol faults, forced redirects, two-factor, half-open, black hole, linger).</summary>
internal sealed partial class EmulatedPbxHost
{
    public void SetFault(EmulatedFault fault, bool nextLoginOnly)
    {
        lock (_gate)
        {
            _fault = fault;
            _faultOnce = nextLoginOnly;
        }
    }

    /// <summary>Returns the current fault when <paramref name="applies"/> to it, consuming a one-shot fault; otherwise <see cref="EmulatedFault.None"/>.</summary>
    public EmulatedFault TakeFault(Func<EmulatedFault, bool> applies)
    {
        lock (_gate)
        {
            var fault = _fault;
            if (fault == EmulatedFault.None || !applies(fault))
            {
                return EmulatedFault.None;
            }

            if (_faultOnce)
            {
                _fault = EmulatedFault.None;
                _faultOnce = false;
            }

            return fault;
        }
    }

    public void SetForcedRedirect(SimulatedPbx? target)
    {
        lock (_gate)
        {
            _forcedRedirect = target;
        }
    }

    public void SetTwoFactor(int? code)
    {
        lock (_gate)
        {
            _twoFactorCode = code;
        }
    }

    /// <summary>The two-factor code to send, if required, and the signal the login waits for.</summary>
    public (int? Code, Task Confirmed) TwoFactor()
    {
        lock (_gate)
        {
            return (_twoFactorCode, _twoFactorConfirmed.Task);
        }
    }

    public void ConfirmTwoFactor()
    {
        TaskCompletionSource confirmed;
        lock (_gate)
        {
            confirmed = _twoFactorConfirmed;
            _twoFactorConfirmed = NewSignal();
        }

        confirmed.TrySetResult();
    }

    public void SetHalfOpen(bool halfOpen)
    {
        lock (_gate)
        {
            _halfOpen = halfOpen;
        }

        UpdateFrozen();
    }

    public void SetBlackHole(bool blackHole)
    {
        // Live sockets go silent first, then new connects stop completing: no connect completes unanswered in between.
        lock (_gate)
        {
            _blackHole = blackHole;
        }

        UpdateFrozen();
        _listeners?.Listener?.SetBlackHole(blackHole);
    }

    /// <summary>How long a socket stays open at the TCP level after a completed close handshake.</summary>
    public TimeSpan Linger
    {
        get
        {
            lock (_gate)
            {
                return _linger;
            }
        }

        set
        {
            lock (_gate)
            {
                _linger = value;
            }
        }
    }

    /// <summary>Starts or ends the frozen state (<see cref="Resumed"/> pending) while the PBX is half-open or black-holed.</summary>
    private void UpdateFrozen()
    {
        TaskCompletionSource? ended = null;
        lock (_gate)
        {
            if (_halfOpen || _blackHole)
            {
                _halfOpenEnded ??= NewSignal();
            }
            else
            {
                (ended, _halfOpenEnded) = (_halfOpenEnded, null);
            }
        }

        ended?.TrySetResult();
    }
}
