using System.Collections;
using System.Collections.Immutable;

namespace Innovaphone.Redundancy.Core;

/// <summary>
/// The PBXes visited in one attempt: its first target, then each redirect target. Starting an attempt allocates
/// nothing; only following a redirect (rare) allocates, one array.
/// </summary>
internal readonly record struct HopPath : IEnumerable<PbxAddress>
{
    private HopPath(PbxAddress first, ImmutableArray<PbxAddress> redirects)
    {
        First = first;
        Redirects = redirects;
    }

    /// <summary>The first target of the attempt; null when no attempt is in flight.</summary>
    public PbxAddress? First { get; }

    /// <summary>The redirect targets followed so far; default (not merely empty) until the first redirect.</summary>
    public ImmutableArray<PbxAddress> Redirects { get; }

    /// <summary>How many PBXes the attempt visited: 0 with no attempt, 1 before any redirect.</summary>
    public int Length => First is null ? 0 : 1 + RedirectCount;

    public int RedirectCount => Redirects.IsDefault ? 0 : Redirects.Length;

    public static HopPath Start(PbxAddress first) => new(first, default);

    /// <summary>The path with <paramref name="target"/> appended: allocates one array.</summary>
    public HopPath Add(PbxAddress target)
    {
        if (First is null)
        {
            throw new InvalidOperationException("A redirect needs an attempt in flight.");
        }

        return new(First, Redirects.IsDefault ? ImmutableArray.Create(target) : Redirects.Add(target));
    }

    public bool Contains(PbxAddress pbx)
    {
        if (First is null)
        {
            return false;
        }

        if (First == pbx)
        {
            return true;
        }

        if (!Redirects.IsDefault)
        {
            foreach (var hop in Redirects)
            {
                if (hop == pbx)
                {
                    return true;
                }
            }
        }

        return false;
    }

    public IEnumerator<PbxAddress> GetEnumerator()
    {
        if (First is null)
        {
            yield break;
        }

        yield return First;
        if (!Redirects.IsDefault)
        {
            foreach (var hop in Redirects)
            {
                yield return hop;
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The PBXes of a round still to try, in order: at most three (current, primary, secondary), held inline.</summary>
internal readonly record struct PbxRound(PbxAddress? First, PbxAddress? Second = null, PbxAddress? Third = null)
{
    public bool IsEmpty => First is null;

    public int Count => First is null ? 0 : Second is null ? 1 : Third is null ? 2 : 3;

    /// <summary>The round without its first PBX.</summary>
    public PbxRound Rest => new(Second, Third, null);

    /// <summary>The round with <paramref name="pbx"/> in front; a round holds at most three.</summary>
    public PbxRound Prepend(PbxAddress pbx) =>
        Third is null ? new(pbx, First, Second) : throw new InvalidOperationException("A round holds at most three PBXes.");

    /// <summary>The PBXes in order (the compiler's version would recurse through <see cref="Rest"/>).</summary>
    public override string ToString() => "[" + string.Join(", ", new[] { First, Second, Third }.Where(p => p is not null)) + "]";
}

/// <summary>One transport call in flight: its id, where it is (first target or latest redirect target), with which scheme, the hops so far, and whether that PBX has answered.</summary>
internal readonly record struct InFlightAttempt(long Id, PbxAddress Target, PbxScheme Scheme, HopPath Hops, bool Answered);

/// <summary>
/// The attempts in flight, in the order they started, held inline: a round has at most three PBXes and never two
/// attempts to one PBX, so three slots suffice. A redirect keeps the slot of the attempt it continues.
/// </summary>
internal readonly record struct AttemptSet
{
    public const int Capacity = 3;

    private readonly InFlightAttempt _first;
    private readonly InFlightAttempt _second;
    private readonly InFlightAttempt _third;

    private AttemptSet(in InFlightAttempt first, in InFlightAttempt second, in InFlightAttempt third, int count)
    {
        _first = first;
        _second = second;
        _third = third;
        Count = count;
    }

    public int Count { get; }

    public InFlightAttempt this[int index] => (uint)index >= (uint)Count
        ? throw new ArgumentOutOfRangeException(nameof(index))
        : index switch { 0 => _first, 1 => _second, _ => _third };

    /// <summary>The most recently started (highest id) attempt; the set must not be empty.</summary>
    public InFlightAttempt Lead
    {
        get
        {
            var lead = this[0];
            for (var i = 1; i < Count; i++)
            {
                if (this[i].Id > lead.Id)
                {
                    lead = this[i];
                }
            }

            return lead;
        }
    }

    public bool AnyAnswered
    {
        get
        {
            for (var i = 0; i < Count; i++)
            {
                if (this[i].Answered)
                {
                    return true;
                }
            }

            return false;
        }
    }

    public int IndexOf(long id)
    {
        for (var i = 0; i < Count; i++)
        {
            if (this[i].Id == id)
            {
                return i;
            }
        }

        return -1;
    }

    public bool Targets(PbxAddress pbx)
    {
        for (var i = 0; i < Count; i++)
        {
            if (this[i].Target == pbx)
            {
                return true;
            }
        }

        return false;
    }

    public AttemptSet Add(in InFlightAttempt attempt) => Count switch
    {
        0 => new(attempt, default, default, 1),
        1 => new(_first, attempt, default, 2),
        2 => new(_first, _second, attempt, 3),
        _ => throw new InvalidOperationException("At most three attempts are in flight."),
    };

    public AttemptSet RemoveAt(int index) => (index, Count) switch
    {
        (0, 1) => default,
        (0, 2) => new(_second, default, default, 1),
        (1, 2) => new(_first, default, default, 1),
        (0, 3) => new(_second, _third, default, 2),
        (1, 3) => new(_first, _third, default, 2),
        (2, 3) => new(_first, _second, default, 2),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public AttemptSet ReplaceAt(int index, in InFlightAttempt attempt) => index switch
    {
        _ when (uint)index >= (uint)Count => throw new ArgumentOutOfRangeException(nameof(index)),
        0 => new(attempt, _second, _third, Count),
        1 => new(_first, attempt, _third, Count),
        _ => new(_first, _second, attempt, Count),
    };
}
