package dev.grid.node;

import dev.grid.core.EntryProcessor;

import java.util.Map;

/**
 * A service a member runs beside the thin-client protocol, started once the member has joined and closed before it
 * leaves: another front door (the Redis protocol of {@code grid-resp}) built on the member's own {@code Cache} API.
 * Providers are found with {@link java.util.ServiceLoader} on the member's class path, so the member module does not
 * depend on them; each decides from the member's configuration ({@link dev.grid.core.MemberConfiguration#settings})
 * whether to run.
 * <p>
 * <b>Threading:</b> {@link Provider#start} runs on the thread that starts the member; {@link #close} on the thread that
 * closes it. A service runs on threads of its own.
 */
public interface MemberService extends AutoCloseable
{
    /** Finds and starts a service. Implementations need a public no-argument constructor. */
    interface Provider
    {
        /**
         * @return entry processors every member registers beside its configuration's, by name: whichever member is a
         *     key's primary runs them, so a provider on the class path of every member brings them everywhere.
         */
        default Map<String, EntryProcessor<?, ?>> entryProcessors()
        {
            return Map.of();
        }

        /**
         * @param member that has joined its cluster.
         * @return the running service, or null if the member's configuration asks for none.
         * @throws dev.grid.core.InvalidConfigurationException naming the setting that is wrong; the member then stops.
         */
        MemberService start(GridMember member);
    }

    /** Stop serving; called once, before the member leaves. */
    @Override
    void close();
}
