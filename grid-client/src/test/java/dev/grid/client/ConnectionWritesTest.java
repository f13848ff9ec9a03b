package dev.grid.client;

import dev.grid.core.client.ClientProtocol;
import dev.grid.core.client.FrameWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Requests written from many threads at once on one connection: a thread that finds another writing leaves its frame
 * to that writer, so several threads' frames go out in one write. Every frame must arrive whole and every answer reach
 * its own request.
 */
@Timeout(120)
class ConnectionWritesTest
{
    @Test
    void framesOfManyThreadsArriveWholeAndEveryAnswerReachesItsRequest() throws Exception
    {
        final int threads = 8;
        final int requestsPerThread = 2_000;
        try (FakeMember member = new FakeMember(true);
            ClientConnection connection = ClientConnection.open("127.0.0.1:" + member.port(),
                new ClientConfiguration().address("127.0.0.1:" + member.port()), version -> { }))
        {
            final List<CompletableFuture<Integer>> mismatches = new ArrayList<>();
            for (int t = 0; t < threads; t++)
            {
                final int thread = t;
                mismatches.add(CompletableFuture.supplyAsync(() ->
                {
                    int wrong = 0;
                    final List<CompletableFuture<ClientConnection.Answer>> answers = new ArrayList<>();
                    for (int i = 0; i < requestsPerThread; i++)
                    {
                        // Payloads of different lengths, so a torn or misplaced frame cannot pass for another.
                        final FrameWriter payload = new FrameWriter().writeInt(thread).writeInt(i)
                            .writeBytes(new byte[i % 97]);
                        answers.add(connection.request(ClientProtocol.PING, payload));
                        if (i % 16 == 15)
                        {
                            // A few outstanding at a time, as synchronous and asynchronous callers mix.
                            answers.get(answers.size() - 1).join();
                        }
                    }
                    for (int i = 0; i < requestsPerThread; i++)
                    {
                        final ClientConnection.Answer answer = answers.get(i).join();
                        if (answer.payload().readInt("thread") != thread || answer.payload().readInt("i") != i ||
                            answer.payload().readBytes("pad").length != i % 97)
                        {
                            wrong++;
                        }
                    }
                    return wrong;
                }, runnable -> new Thread(runnable, "writer-" + thread).start()));
            }
            int wrong = 0;
            for (final CompletableFuture<Integer> mismatch : mismatches)
            {
                wrong += mismatch.get(90, TimeUnit.SECONDS);
            }
            assertEquals(0, wrong, "answers that did not match their requests");
            assertEquals(0, connection.outstanding(), "every request answered");
        }
    }
}
