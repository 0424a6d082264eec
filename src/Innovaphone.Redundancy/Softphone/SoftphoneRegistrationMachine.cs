namespace Innovaphone.Redundancy.Softphone;

/// <summary>The registrar's state: the published decision plus what the next decision depends on.</summary>
/// <param name="Decision">The decision the softphone sees.</param>
/// <param name="Index">Which of the plan's targets the current registration flow started from (launcher alternation).</param>
/// <param name="Flow">The PBXes visited in the current flow, starting with the flow's first target (loop guard).</param>
internal sealed record SoftphoneRegistrarState(SoftphoneRegistration Decision, int Index, IReadOnlyList<PbxAddress> Flow)
{
    public static SoftphoneRegistrarState Initial { get; } = new(
        new SoftphoneRegistration(SoftphoneRegistrationPlan.Empty, SoftphoneRegistrationStatus.Idle, null, 0, 0, "no connInfo yet"),
        0,
        []);
}

/// <summary>What one input did to the registrar's state.</summary>
internal enum SoftphoneStepKind
{
    /// <summary>The decision changed.</summary>
    Changed,

    /// <summary>The decision changed because a redirect was refused (hop limit or loop).</summary>
    RedirectRefused,

    /// <summary>Nothing changed.</summary>
    Unchanged,

    /// <summary>The report was not about the current target (late, or from an abandoned flow) and was dropped.</summary>
    Ignored,
}

/// <summary>The result of one input: the next state, what kind of step it was, and a detail for the log.</summary>
internal readonly record struct SoftphoneStep(SoftphoneRegistrarState State, SoftphoneStepKind Kind, string Detail);

/// <summary>
/// The registrar's rules as pure functions: (state, input) -> step. No locks, logging or time; the
/// <see cref="SoftphoneRegistrar"/> shell serialises inputs and publishes the decisions.
/// </summary>
internal static class SoftphoneRegistrationMachine
{
    public static SoftphoneStep OnConnInfo(SoftphoneRegistrarState state, ConnInfo info, SoftphoneRegistrationOptions options)
    {
        var plan = SoftphoneRegistrationPolicy.Plan(info, options);
        var old = state.Decision;
        // The first connInfo always yields a full decision, so that the reason no longer says none has arrived.
        var first = ReferenceEquals(state, SoftphoneRegistrarState.Initial);
        if (!first && plan.Equals(old.Plan))
        {
            return new(state, SoftphoneStepKind.Unchanged, "connInfo changed nothing for the softphone");
        }

        if (!first && plan.Targets.SequenceEqual(old.Plan.Targets))
        {
            var located = new SoftphoneRegistration(plan, old.Status, old.Target, old.RedirectHops, old.Failures,
                $"physical location now {plan.PhysicalLocation}");
            return Changed(state with { Decision = located });
        }

        if (!plan.ShouldRegister)
        {
            var why = options.HostKind == SoftphoneHostKind.Browser
                ? "the client is down: a browser-style host registers only to the current PBX while connected"
                : "no primary or secondary PBX known";
            return Changed(new SoftphoneRegistrarState(
                new SoftphoneRegistration(plan, SoftphoneRegistrationStatus.Idle, null, 0, 0, why), 0, []));
        }

        // A launcher-style softphone keeps a registration it has when pri/sec change (the manager learns sec only
        // after its first login); only the alternation starts over from the new plan. A browser-style one keeps
        // its registration when the client came back to the PBX it is registered at.
        var keep = options.HostKind == SoftphoneHostKind.Launcher || plan.Targets[0] == old.Target;
        if (keep && IsRegistered(old.Status) && state.Flow.Count > 0)
        {
            var index = Math.Max(0, IndexOf(plan.Targets, state.Flow[0]));
            var kept = new SoftphoneRegistration(plan, old.Status, old.Target, old.RedirectHops, 0,
                $"now [{string.Join(", ", plan.Targets)}]; the registration at {old.Target} is kept");
            return Changed(new SoftphoneRegistrarState(kept, index, state.Flow));
        }

        var start = plan.Targets[0];
        var reason = options.HostKind == SoftphoneHostKind.Browser
            ? $"current PBX now {start}: register there"
            : $"primary/secondary now [{string.Join(", ", plan.Targets)}]: register to the primary first";
        return Changed(new SoftphoneRegistrarState(
            new SoftphoneRegistration(plan, SoftphoneRegistrationStatus.Registering, start, 0, 0, reason), 0, [start]));
    }

    public static SoftphoneStep OnFailed(SoftphoneRegistrarState state, PbxAddress pbx)
    {
        var target = state.Decision.Target;
        if (target is null || pbx != target)
        {
            return Ignored(state, $"registration failure at {pbx} ignored: the current target is {Describe(target)}");
        }

        return Changed(Advance(state, $"registration at {pbx} failed or was lost"));
    }

    public static SoftphoneStep OnRedirected(SoftphoneRegistrarState state, PbxAddress from, PbxAddress to, SoftphoneRegistrationOptions options)
    {
        var old = state.Decision;
        if (old.Target is null || from != old.Target)
        {
            return Ignored(state, $"redirect from {from} to {to} ignored: the current target is {Describe(old.Target)}");
        }

        // A PBX that had kept the registration (as standby) and now sends the softphone on starts a new flow.
        var (flow, hops) = IsRegistered(old.Status) ? ([from], 0) : (state.Flow, old.RedirectHops);
        if (IndexOf(flow, to) >= 0)
        {
            return new(Advance(state, $"redirect from {from} to {to} refused: {to} was already visited in this registration flow"),
                SoftphoneStepKind.RedirectRefused, $"redirect loop {string.Join(" -> ", flow)} -> {to}");
        }

        if (hops + 1 > options.MaxRedirectHops)
        {
            return new(Advance(state, $"redirect from {from} to {to} refused: more than {options.MaxRedirectHops} redirects"),
                SoftphoneStepKind.RedirectRefused, $"hop limit {options.MaxRedirectHops} reached at {from} -> {to}");
        }

        var redirected = new SoftphoneRegistration(old.Plan, SoftphoneRegistrationStatus.Redirected, to, hops + 1, old.Failures,
            $"redirected from {from} to {to} (hop {hops + 1})");
        return Changed(new SoftphoneRegistrarState(redirected, state.Index, [.. flow, to]));
    }

    public static SoftphoneStep OnRegistered(SoftphoneRegistrarState state, PbxAddress at, bool standby)
    {
        var old = state.Decision;
        if (old.Target is null || at != old.Target)
        {
            return Ignored(state, $"registration at {at} ignored: the current target is {Describe(old.Target)}");
        }

        var status = standby ? SoftphoneRegistrationStatus.RegisteredStandby : SoftphoneRegistrationStatus.Registered;
        if (status == old.Status)
        {
            return new(state, SoftphoneStepKind.Unchanged, $"registration at {at} refreshed");
        }

        var reason = standby ? $"registered at {at}, which keeps the registration as standby" : $"registered at {at}";
        return Changed(state with { Decision = new SoftphoneRegistration(old.Plan, status, at, old.RedirectHops, 0, reason) });
    }

    /// <summary>Ends the current flow as failed and starts the next: the other target in a launcher-style host, cur again in a browser-style one.</summary>
    private static SoftphoneRegistrarState Advance(SoftphoneRegistrarState state, string why)
    {
        var old = state.Decision;
        var targets = old.Plan.Targets;
        var index = (state.Index + 1) % targets.Count;
        var next = targets[index];
        var failures = old.Failures + 1;
        var decision = new SoftphoneRegistration(old.Plan, SoftphoneRegistrationStatus.Registering, next, 0, failures,
            $"{why}; register to {next} next ({failures} failed in a row)");
        return new SoftphoneRegistrarState(decision, index, [next]);
    }

    private static bool IsRegistered(SoftphoneRegistrationStatus status) =>
        status is SoftphoneRegistrationStatus.Registered or SoftphoneRegistrationStatus.RegisteredStandby;

    private static int IndexOf(IReadOnlyList<PbxAddress> list, PbxAddress pbx)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] == pbx)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Describe(PbxAddress? target) => target?.ToString() ?? "none";

    private static SoftphoneStep Changed(SoftphoneRegistrarState state) => new(state, SoftphoneStepKind.Changed, state.Decision.Reason);

    private static SoftphoneStep Ignored(SoftphoneRegistrarState state, string detail) => new(state, SoftphoneStepKind.Ignored, detail);
}
