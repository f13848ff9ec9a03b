package dev.grid.node;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;

/**
 * Runs tasks one at a time, in the order they were submitted, on another executor's threads: user callbacks that
 * must see events in order without a thread of their own. Thread-safe.
 */
final class SerialExecutor implements Executor
{
    private final Executor executor;
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private boolean running;

    SerialExecutor(final Executor executor)
    {
        this.executor = executor;
    }

    @Override
    public void execute(final Runnable task)
    {
        synchronized (tasks)
        {
            tasks.add(task);
            if (running)
            {
                return;
            }
            running = true;
        }
        executor.execute(this::drain);
    }

    private void drain()
    {
        while (true)
        {
            final Runnable task;
            synchronized (tasks)
            {
                task = tasks.poll();
                if (task == null)
                {
                    running = false;
                    return;
                }
            }
            try
            {
                task.run();
            }
            catch (final RuntimeException ex)
            {
                // A listener's failure is its own; the next events still go out.
                Thread.currentThread().getUncaughtExceptionHandler().uncaughtException(Thread.currentThread(), ex);
            }
        }
    }
}
