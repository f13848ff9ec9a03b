package dev.grid.core.internal.cluster;

import dev.grid.core.ErrorCode;
import dev.grid.core.GridException;
import dev.grid.core.OperationTimeoutException;
import dev.grid.core.codec.MalformedMessageException;
import dev.grid.core.codec.MemberMessages;
import dev.grid.core.codec.messages.CacheAdminDecoder;
import dev.grid.core.codec.messages.CacheAdminEncoder;
import dev.grid.core.codec.messages.CacheAdminResponseDecoder;
import dev.grid.core.engine.Baseline;
import dev.grid.core.engine.CacheDescriptor;
import dev.grid.core.engine.MemberRecord;
import dev.grid.core.engine.MemberState;
import dev.grid.core.engine.OpCallback;
import dev.grid.core.engine.OpOutcome;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.UnsafeBuffer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Cache administration: create, destroy, reset of lost partitions, baseline changes and activation. Any member
 * submits a request to the coordinator, which applies it through a new topology version and answers once every
 * member installed that version's map; requests are resent until answered or timed out.
 * <p>
 * <b>Threading:</b> the engine's thread only, like every component of {@link MemberEngine}.
 */
final class CacheAdmin
{
    static final int ADMIN_CREATE = 1;
    static final int ADMIN_DESTROY = 2;

    static final int ADMIN_RESET_LOST = 3;
    static final int ADMIN_BASELINE = 4;

    static final int ADMIN_ACTIVATE = 5;

    /** How long a cache create or destroy may take before it fails with a timeout. */
    private static final long ADMIN_TIMEOUT_DEFAULT_NS = TimeUnit.SECONDS.toNanos(30);

    private final MemberContext context;
    private final CacheAdminEncoder adminOut = new CacheAdminEncoder();
    private final CacheAdminDecoder adminIn = new CacheAdminDecoder();
    final List<PendingAdmin> pendingAdmins = new ArrayList<>();

    final Long2ObjectHashMap<AdminOp> adminOps = new Long2ObjectHashMap<>();

    CacheAdmin(final MemberContext context)
    {
        this.context = context;
    }

    /** Forget administration requests this member coordinates: it leaves its topology to join again. */
    void reset()
    {
        pendingAdmins.clear();
    }

    /** @return this member's administration requests not answered yet. */
    int pending()
    {
        return adminOps.size();
    }

    /**
     * Answer the requests this coordinator took whose change is installed everywhere by the given version.
     *
     * @param version a topology version every member installed.
     */
    void completeInstalled(final long version)
    {
        final List<PendingAdmin> done = new ArrayList<>();
        for (final PendingAdmin admin : pendingAdmins)
        {
            if (admin.targetVersion() <= version)
            {
                done.add(admin);
            }
        }
        pendingAdmins.removeAll(done);
        for (final PendingAdmin admin : done)
        {
            answerAdmin(admin.origin(), admin.sequence(), 0, null);
        }
    }

    /** The work of {@link dev.grid.core.engine.EngineAdmin#createCache}. */
    void createCache(final CacheDescriptor descriptor, final OpCallback callback)
    {
        submitAdmin(ADMIN_CREATE, descriptor, descriptor.name(), callback);
    }

    /** The work of {@link dev.grid.core.engine.EngineAdmin#destroyCache}. */
    void destroyCache(final String name, final OpCallback callback)
    {
        submitAdmin(ADMIN_DESTROY, null, name, callback);
    }

    /** The work of {@link dev.grid.core.engine.EngineAdmin#resetLostPartitions}. */
    void resetLostPartitions(final String name, final OpCallback callback)
    {
        submitAdmin(ADMIN_RESET_LOST, null, name, callback);
    }

    /** The work of {@link dev.grid.core.engine.EngineAdmin#changeBaseline}. */
    void changeBaseline(final int change, final List<String> ids, final long timeoutNs,
        final OpCallback callback)
    {
        submitAdmin(ADMIN_BASELINE, null, "baseline", callback, op ->
        {
            op.baselineChange = change;
            op.baselineIds = List.copyOf(ids);
            op.baselineTimeoutNs = timeoutNs;
        });
    }

    /** The work of {@link dev.grid.core.engine.EngineAdmin#activate}. */
    void activate(final OpCallback callback)
    {
        submitAdmin(ADMIN_ACTIVATE, null, "activation", callback);
    }

    private void submitAdmin(final int kind, final CacheDescriptor descriptor, final String name,
        final OpCallback callback)
    {
        submitAdmin(kind, descriptor, name, callback, null);
    }

    private void submitAdmin(final int kind, final CacheDescriptor descriptor, final String name,
        final OpCallback callback, final Consumer<AdminOp> details)
    {
        if (context.state() != MemberState.ACTIVE)
        {
            callback.onFailure(context.notActive());
            return;
        }
        if (context.membership().refusesForQuorum())
        {
            callback.onFailure(context.membership().noQuorum("a change of caches or baseline"));
            return;
        }
        final long sequence = context.newSequence();
        final CacheDescriptor stamped = descriptor == null ? null : descriptor.withCreator(context.incarnation(),
            sequence);
        final AdminOp op = new AdminOp(sequence, kind, name, stamped, context.nowNs(), context.nowNs() +
            ADMIN_TIMEOUT_DEFAULT_NS,
            callback);
        if (details != null)
        {
            details.accept(op);
        }
        adminOps.put(sequence, op);
        sendAdmin(op);
    }

    void sendAdmin(final AdminOp op)
    {
        op.nextResendNs = context.nowNs() + context.retryIntervalNs();
        final byte[] descriptor = op.descriptor == null ? MemberMessages.orEmpty(null) :
            StateBodies.encode(op.descriptor);
        final boolean baseline = op.kind == ADMIN_BASELINE;
        final CacheAdminEncoder out = context.messages().encode(adminOut, context.incarnation(),
            context.topology().coordinator().incarnation()).sequence(op.sequence).kind((short)op.kind)
            .hasDescriptor((short)(op.descriptor == null ? 0 : 1)).baselineChange((short)(baseline ?
            op.baselineChange : 0)).baselineTimeoutNs(baseline ? op.baselineTimeoutNs : -1);
        final CacheAdminEncoder.BaselineIdsEncoder ids = out.baselineIdsCount(baseline ? op.baselineIds.size() : 0);
        if (baseline)
        {
            op.baselineIds.forEach(id -> ids.next().id(id));
        }
        context.messages().finish(out.name(op.name == null ? "" : op.name)
            .putDescriptor(descriptor, 0, descriptor.length));
        if (context.membership().isCoordinator())
        {
            final byte[] bytes = context.copyOut();
            context.messages().open(new UnsafeBuffer(bytes), 0, bytes.length);
            onCacheAdmin(context.incarnation());
        }
        else
        {
            context.send(context.topology().coordinator(), context.writer());
        }
    }

    void onCacheAdmin(final long sender)
    {
        final CacheAdminDecoder in = context.messages().decode(adminIn);
        final long sequence = in.sequence();
        final int kind = in.kind();
        final boolean hasDescriptor = in.hasDescriptor() != 0;
        final int baselineChange = in.baselineChange();
        final long baselineTimeoutNs = in.baselineTimeoutNs();
        final List<String> baselineIds = new ArrayList<>();
        for (final CacheAdminDecoder.BaselineIdsDecoder id : in.baselineIds())
        {
            final byte[] text = MemberMessages.bytes(in, id.idLength(), "baseline.id");
            id.getId(text, 0, text.length);
            baselineIds.add(MemberMessages.text(text));
        }
        final byte[] text = MemberMessages.bytes(in, in.nameLength(), "name");
        in.getName(text, 0, text.length);
        final String name = MemberMessages.text(text);
        final byte[] body = MemberMessages.bytes(in, in.descriptorLength(), "descriptor");
        in.getDescriptor(body, 0, body.length);
        final CacheDescriptor descriptor = hasDescriptor ? StateBodies.decodeCache(body) : null;
        if (!context.membership().isCoordinator())
        {
            return;
        }
        for (final PendingAdmin admin : pendingAdmins)
        {
            if (admin.origin == sender && admin.sequence == sequence)
            {
                return;
            }
        }
        if (!context.membership().hasQuorum())
        {
            answerAdmin(sender, sequence, ErrorCode.NO_QUORUM.code(),
                context.membership().noQuorum("a change of caches or baseline")
                .detail());
            return;
        }
        final CacheDescriptor existing = context.topology().cache(name);
        final boolean applied = switch (kind)
        {
            case ADMIN_CREATE -> applyCreate(sender, sequence, name, descriptor, existing);
            case ADMIN_DESTROY -> applyDestroy(name, existing);
            case ADMIN_BASELINE -> applyBaseline(sender, sequence, baselineChange, baselineIds, baselineTimeoutNs);
            case ADMIN_ACTIVATE -> applyActivate();
            case ADMIN_RESET_LOST -> applyResetLost(sender, sequence, name, existing);
            default -> throw new MalformedMessageException("unknown cache admin kind " + kind);
        };
        if (!applied)
        {
            return;
        }
        pendingAdmins.add(new PendingAdmin(sender, sequence, context.topology().version()));
        completeAdminsIfSettled();
    }

    /**
     * Create a cache through a new topology version; a retry of a create that went through is answered once the
     * current map is everywhere.
     *
     * @return whether the request waits for a map (false: it was answered).
     */
    private boolean applyCreate(final long sender, final long sequence, final String name,
        final CacheDescriptor descriptor, final CacheDescriptor existing)
    {
        if (descriptor == null)
        {
            throw new MalformedMessageException("cache create without a descriptor");
        }
        if (existing != null)
        {
            if (existing.creatorIncarnation() == sender && existing.creatorSequence() == sequence)
            {
                // A retry of a create that went through: answer once the current map is everywhere.
                return true;
            }
            answerAdmin(sender, sequence, ErrorCode.CACHE_ALREADY_EXISTS.code(), "cache '" + name +
                "' already exists" + (existing.sameSettings(descriptor) ? "" : " with other settings: " + existing));
            return false;
        }
        context.listener().onEvent("coordinator " + context.config().memberId() + " creates cache " +
            descriptor.name());
        context.membership().publishTopology(context.topology().withCache(descriptor));
        return true;
    }

    /** Destroy a cache through a new topology version (nothing to do if it does not exist). */
    private boolean applyDestroy(final String name, final CacheDescriptor existing)
    {
        if (existing != null)
        {
            context.listener().onEvent("coordinator " + context.config().memberId() + " destroys cache " + name);
            context.membership().publishTopology(context.topology().withoutCache(existing.cacheId()));
        }
        return true;
    }

    /** Change the baseline through a new topology version, or answer why the change is invalid. */
    private boolean applyBaseline(final long sender, final long sequence, final int baselineChange,
        final List<String> baselineIds, final long baselineTimeoutNs)
    {
        final Baseline next;
        try
        {
            next = context.topology().baseline().change(baselineChange, baselineIds, baselineTimeoutNs,
                context.topology().members());
        }
        catch (final IllegalArgumentException ex)
        {
            answerAdmin(sender, sequence, ErrorCode.BASELINE_INVALID.code(), ex.getMessage());
            return false;
        }
        if (!next.equals(context.topology().baseline()))
        {
            context.listener().onEvent("coordinator " + context.config().memberId() + " sets the baseline to " +
                next.memberIds() +
                (next.autoAdjustTimeoutNs() < 0 ? "" : ", auto-adjust after " +
                TimeUnit.NANOSECONDS.toMillis(next.autoAdjustTimeoutNs()) + " ms"));
            context.membership().publishTopology(context.topology().withBaseline(next));
        }
        return true;
    }

    /** Activate a cluster that waits for members still away, without them. */
    private boolean applyActivate()
    {
        if (context.installedMap() == null || !context.installedMap().isActive())
        {
            // Remembered until an active map is installed: an exchange that starts over decides the same way.
            context.exchange().forceActivation();
            context.listener().onEvent("coordinator " + context.config().memberId() +
                " activates the cluster at an operator's " +
                "request, without the members still away");
            context.membership().publishTopology(context.topology().withBaseline(context.topology().baseline()));
        }
        return true;
    }

    /** Accept the loss of a cache's lost partitions through a new topology version. */
    private boolean applyResetLost(final long sender, final long sequence, final String name,
        final CacheDescriptor existing)
    {
        if (existing == null)
        {
            answerAdmin(sender, sequence, ErrorCode.CACHE_NOT_FOUND.code(), "no cache named '" + name + "'");
            return false;
        }
        context.listener().onEvent("coordinator " + context.config().memberId() +
            " resets the lost partitions of cache " +
            name +
            " " + (context.installedMap() == null ? "[]" : context.installedMap().lostPartitions(existing.cacheId())));
        context.membership().publishTopology(context.topology().withCacheReplaced(existing.withLostReset()));
        return true;
    }

    private void completeAdminsIfSettled()
    {
        context.exchange().recheckFinished();
    }

    void answerAdmin(final long origin, final long sequence, final int errorCode, final String message)
    {
        if (origin == context.incarnation())
        {
            onAdminAnswer(sequence, errorCode, message);
            return;
        }
        final MemberRecord member = context.topology().member(origin);
        if (member == null)
        {
            return;
        }
        final byte[] text = MemberMessages.utf8(message);
        context.send(member, context.messages().finish(context.messages().encode(context.wire().cacheAdminResponseOut,
            context.incarnation(), origin).sequence(sequence).errorCode(errorCode).hasMessage(MemberMessages.has(text))
            .putMessage(text, 0, text.length)));
    }

    void onAdminAnswer()
    {
        final CacheAdminResponseDecoder in = context.messages().decode(context.wire().cacheAdminResponseIn);
        final long sequence = in.sequence();
        final int errorCode = in.errorCode();
        final short hasMessage = in.hasMessage();
        final byte[] text = MemberMessages.bytes(in, in.messageLength(), "message");
        in.getMessage(text, 0, text.length);
        onAdminAnswer(sequence, errorCode, hasMessage == 0 ? null : MemberMessages.text(text));
    }

    void onAdminAnswer(final long sequence, final int errorCode, final String message)
    {
        final AdminOp op = adminOps.remove(sequence);
        if (op == null)
        {
            return;
        }
        if (errorCode == 0)
        {
            op.callback.onSuccess(OpOutcome.TRUE);
        }
        else
        {
            op.callback.onFailure(GridException.of(NearOps.errorCode(errorCode), message));
        }
    }

    /**
     * Time out the requests past their deadline and resend those due a resend.
     *
     * @return the work done.
     */
    int sweep()
    {
        int work = 0;
        if (!adminOps.isEmpty())
        {
            final List<AdminOp> ops = new ArrayList<>(adminOps.values());
            for (final AdminOp op : ops)
            {
                if (context.nowNs() >= op.deadlineNs)
                {
                    adminOps.remove(op.sequence);
                    op.callback.onFailure(new OperationTimeoutException((op.kind == ADMIN_CREATE ? "create" :
                        op.kind == ADMIN_DESTROY ? "destroy" : op.kind == ADMIN_BASELINE ? "baseline change" :
                        op.kind == ADMIN_ACTIVATE ? "activation" : "lost partitions reset") + " of '" + op.name +
                        "' timed out after " +
                        TimeUnit.NANOSECONDS.toMillis(op.deadlineNs - op.submittedNs) +
                        " ms waiting for coordinator " + context.topology().coordinator() + " (topology " +
                        context.topology().version() + ")"));
                    work++;
                }
                else if (context.nowNs() >= op.nextResendNs)
                {
                    sendAdmin(op);
                    work++;
                }
            }
        }
        return work;
    }

    /**
     * Fail every request in flight (the member stops, fails or rejoins).
     */
    void failAll(final GridException error)
    {
        final List<AdminOp> admins = new ArrayList<>(adminOps.values());
        adminOps.clear();
        for (final AdminOp op : admins)
        {
            op.callback.onFailure(error);
        }
    }

    static final class AdminOp
    {
        final long sequence;
        final int kind;
        final String name;
        final CacheDescriptor descriptor;
        final long submittedNs;
        final long deadlineNs;
        final OpCallback callback;
        long nextResendNs;
        /** {@link #ADMIN_BASELINE} only: the change, the members it names and the auto-adjust timeout. */
        int baselineChange;
        List<String> baselineIds = List.of();
        long baselineTimeoutNs;

        AdminOp(final long sequence, final int kind, final String name, final CacheDescriptor descriptor,
            final long submittedNs, final long deadlineNs, final OpCallback callback)
        {
            this.sequence = sequence;
            this.kind = kind;
            this.name = name;
            this.descriptor = descriptor;
            this.submittedNs = submittedNs;
            this.deadlineNs = deadlineNs;
            this.callback = callback;
        }
    }

    record PendingAdmin(long origin, long sequence, long targetVersion)
    {
    }
}
