package dev.grid.core;

/**
 * Code that reads and changes one entry atomically on its primary: {@link Cache#invoke(Object, String, Object)} names
 * it, and every member registers it under that name ({@link MemberConfiguration#entryProcessor}), so that thin
 * clients can invoke it too and whichever member is the key's primary runs it. Backups receive the resulting value
 * with its update counter, never the processor.
 * <p>
 * It runs on the member's engine thread: it must be quick, must not block or touch other entries, and must be a pure
 * function of the entry and the argument (a retried invocation after a primary's failure may run it again, on an
 * entry that already holds its effect only if the first run's update survived: the retry is then answered from the
 * first run's outcome instead). A processor that throws leaves the entry unchanged and fails the invocation with
 * {@link ErrorCode#ENTRY_PROCESSOR_FAILED}.
 *
 * @param <K> the key type.
 * @param <V> the value type; the argument and the result are values of the cache too (encoded by its codec).
 */
@FunctionalInterface
public interface EntryProcessor<K, V>
{
    /**
     * @param entry    the entry, to read and change.
     * @param argument the caller's argument, or null.
     * @return the result for the caller, or null.
     */
    V process(MutableEntry<K, V> entry, V argument);
}
