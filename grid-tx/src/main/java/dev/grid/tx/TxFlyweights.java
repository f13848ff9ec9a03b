package dev.grid.tx;

import dev.grid.core.codec.messages.TxLockDecoder;
import dev.grid.core.codec.messages.TxLockEncoder;
import dev.grid.core.codec.messages.TxPrepareDecoder;
import dev.grid.core.codec.messages.TxPrepareEncoder;
import dev.grid.core.codec.messages.TxCommitDecoder;
import dev.grid.core.codec.messages.TxCommitEncoder;
import dev.grid.core.codec.messages.TxRollbackDecoder;
import dev.grid.core.codec.messages.TxRollbackEncoder;
import dev.grid.core.codec.messages.TxAnswerDecoder;
import dev.grid.core.codec.messages.TxAnswerEncoder;
import dev.grid.core.codec.messages.TxBackupDecoder;
import dev.grid.core.codec.messages.TxBackupEncoder;
import dev.grid.core.codec.messages.TxBackupAckDecoder;
import dev.grid.core.codec.messages.TxBackupAckEncoder;
import dev.grid.core.codec.messages.TxStatusDecoder;
import dev.grid.core.codec.messages.TxStatusEncoder;
import dev.grid.core.codec.messages.TxStatusAnswerDecoder;
import dev.grid.core.codec.messages.TxStatusAnswerEncoder;
import dev.grid.core.codec.messages.TxQueryDecoder;
import dev.grid.core.codec.messages.TxQueryEncoder;
import dev.grid.core.codec.messages.TxQueryAnswerDecoder;
import dev.grid.core.codec.messages.TxQueryAnswerEncoder;

/**
 * The flyweights of the transaction messages (generated from {@code grid-core/src/main/sbe/member-messages.xml}), one
 * of each, reused for every message: {@code MemberMessages} writes their header and checks a received one before a
 * handler reads it.
 *
 * <p><b>Threading:</b> the engine's thread only, like {@link TxManager}.
 */
final class TxFlyweights
{
    final TxLockEncoder txLockOut = new TxLockEncoder();
    final TxLockDecoder txLockIn = new TxLockDecoder();
    final TxPrepareEncoder txPrepareOut = new TxPrepareEncoder();
    final TxPrepareDecoder txPrepareIn = new TxPrepareDecoder();
    final TxCommitEncoder txCommitOut = new TxCommitEncoder();
    final TxCommitDecoder txCommitIn = new TxCommitDecoder();
    final TxRollbackEncoder txRollbackOut = new TxRollbackEncoder();
    final TxRollbackDecoder txRollbackIn = new TxRollbackDecoder();
    final TxAnswerEncoder txAnswerOut = new TxAnswerEncoder();
    final TxAnswerDecoder txAnswerIn = new TxAnswerDecoder();
    final TxBackupEncoder txBackupOut = new TxBackupEncoder();
    final TxBackupDecoder txBackupIn = new TxBackupDecoder();
    final TxBackupAckEncoder txBackupAckOut = new TxBackupAckEncoder();
    final TxBackupAckDecoder txBackupAckIn = new TxBackupAckDecoder();
    final TxStatusEncoder txStatusOut = new TxStatusEncoder();
    final TxStatusDecoder txStatusIn = new TxStatusDecoder();
    final TxStatusAnswerEncoder txStatusAnswerOut = new TxStatusAnswerEncoder();
    final TxStatusAnswerDecoder txStatusAnswerIn = new TxStatusAnswerDecoder();
    final TxQueryEncoder txQueryOut = new TxQueryEncoder();
    final TxQueryDecoder txQueryIn = new TxQueryDecoder();
    final TxQueryAnswerEncoder txQueryAnswerOut = new TxQueryAnswerEncoder();
    final TxQueryAnswerDecoder txQueryAnswerIn = new TxQueryAnswerDecoder();
}
