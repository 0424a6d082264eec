using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace Innovaphone.Redundancy;

/// <summary>
/// The names of the library's metrics and traces, for hosts that listen to them (OpenTelemetry, dotnet-counters,
/// <see cref="MeterListener"/>, <see cref="ActivityListener"/>). docs/logging.md describes each instrument.
/// </summary>
public static class RedundancyTelemetry
{
    /// <summary>The name of the <see cref="Meter"/> and of the <see cref="ActivitySource"/>: <c>Innovaphone.Redundancy</c>.</summary>
    public const string Name = "Innovaphone.Redundancy";

    /// <summary>Counter of connection attempts (transport calls), tagged with <see cref="OutcomeTag"/>.</summary>
    public const string AttemptsInstrument = "innovaphone.redundancy.connection.attempts";

    /// <summary>Counter of redirects followed.</summary>
    public const string RedirectsInstrument = "innovaphone.redundancy.redirects";

    /// <summary>Counter of failovers: each time a manager loses its connection other than by stop or a fault.</summary>
    public const string FailoversInstrument = "innovaphone.redundancy.failovers";

    /// <summary>Counter of logins at a PBX that acts as standby for the user's PBX.</summary>
    public const string StandbyLoginsInstrument = "innovaphone.redundancy.standby_logins";

    /// <summary>Counter of staggered attempts: candidates started beside an attempt whose PBX stayed silent for the stagger delay.</summary>
    public const string StaggeredAttemptsInstrument = "innovaphone.redundancy.staggered_attempts";

    /// <summary>Histogram of the time from a failover until the manager is up again, in seconds.</summary>
    public const string TimeToRecoverInstrument = "innovaphone.redundancy.time_to_recover";

    /// <summary>Up/down counter of managers that are up (connected or standby): +1 when one comes up, -1 when it goes down.</summary>
    public const string UpInstrument = "innovaphone.redundancy.up";

    /// <summary>The span of one connection attempt (one transport call, redirects are new attempts).</summary>
    public const string AttemptActivity = "Innovaphone.Redundancy.Attempt";

    /// <summary>The span of the myApps login on a WebSocket, a child of the attempt.</summary>
    public const string LoginActivity = "Innovaphone.Redundancy.Login";

    internal static readonly ActivitySource Source = new(Name, Version);

    private static readonly Meter SharedMeter = new(Name, Version);

    internal static string? Version { get; } = typeof(RedundancyTelemetry).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;

    /// <summary>The meter a manager records to: one made by the host's factory, else the library's shared one.</summary>
    internal static Meter CreateMeter(IMeterFactory? factory) => factory?.Create(new MeterOptions(Name) { Version = Version }) ?? SharedMeter;

    /// <summary>The tag naming the PBX of an attempt or login span (<c>host[:port]/module</c>).</summary>
    public const string PbxTag = "innovaphone.pbx";

    /// <summary>The tag with the outcome of an attempt (counter and spans): <c>logged_in</c>, <c>redirected</c>, <c>rejected</c>, <c>failed</c>.</summary>
    public const string OutcomeTag = "innovaphone.outcome";

    /// <summary>
    /// Tags a finished span with its outcome (a rejected or failed login is an error with the secret-free reason) and
    /// stops it.
    /// </summary>
    internal static void EndActivity(Activity? activity, LoginOutcome outcome)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(OutcomeTag, Outcome(outcome));
        switch (outcome)
        {
            case Rejected rejected:
                activity.SetStatus(ActivityStatusCode.Error, rejected.Text);
                break;
            case AttemptFailed failed:
                activity.SetStatus(ActivityStatusCode.Error, failed.Reason);
                break;
        }

        // Stopped here, before the outcome reaches the manager's loop: whoever sees connInfo change sees the span ended.
        activity.Stop();
    }

    internal static string Outcome(LoginOutcome outcome) => outcome switch
    {
        LoggedIn => "logged_in",
        Redirected => "redirected",
        Rejected => "rejected",
        _ => "failed",
    };
}
