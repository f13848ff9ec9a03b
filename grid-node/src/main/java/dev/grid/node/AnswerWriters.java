package dev.grid.node;

import dev.grid.core.codec.MessageWriter;

/**
 * One reusable {@link MessageWriter} per thread for the thin client's answers: they are encoded on the member's
 * thread (completions) and the client endpoint's (refusals and immediate answers), and a connection copies a frame
 * before its send returns, so a thread never needs two at once. Saves a writer and its buffer per answer.
 * <p>
 * <b>Threading:</b> any thread; each gets its own writer. A writer that grew beyond {@link #KEPT_BYTES} for one large
 * answer is replaced rather than kept, so no thread holds a large buffer for good.
 */
final class AnswerWriters
{
    /** The largest buffer a thread's writer keeps between answers. */
    static final int KEPT_BYTES = 64 * 1024;

    private static final ThreadLocal<MessageWriter> WRITERS = ThreadLocal.withInitial(MessageWriter::new);

    private AnswerWriters()
    {
    }

    /** @return this thread's writer, empty. */
    static MessageWriter writer()
    {
        MessageWriter writer = WRITERS.get();
        if (writer.buffer().capacity() > KEPT_BYTES)
        {
            writer = new MessageWriter();
            WRITERS.set(writer);
        }
        return writer.reset();
    }
}
