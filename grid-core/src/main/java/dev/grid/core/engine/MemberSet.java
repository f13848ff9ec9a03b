package dev.grid.core.engine;

import java.util.Arrays;
import java.util.function.LongPredicate;

/**
 * A small set of member incarnations, in the order they were added: the backups an update or a transaction's part
 * still waits for. Made for one to three members, so it is an array searched from the start; iterated by index
 * ({@link #get}), so a walk allocates nothing. Agrona's {@code LongHashSet} held the same with a hash table of its own,
 * and an iterator object for every walk: three objects per replicated update on the put path.
 * <p>
 * <b>Threading:</b> not thread-safe; owned by the engine's thread, as the update or part that holds it.
 */
public final class MemberSet
{
    private long[] members;
    private int size;

    /**
     * @param capacity how many members it holds before it grows; at least 1.
     */
    public MemberSet(final int capacity)
    {
        members = new long[Math.max(1, capacity)];
    }

    /**
     * @param member a member incarnation.
     * @return true if it was added; false if it was held already.
     */
    public boolean add(final long member)
    {
        if (contains(member))
        {
            return false;
        }
        if (size == members.length)
        {
            members = Arrays.copyOf(members, 2 * size);
        }
        members[size++] = member;
        return true;
    }

    /**
     * @param member a member incarnation.
     * @return true if it was held (and is no longer).
     */
    public boolean remove(final long member)
    {
        for (int i = 0; i < size; i++)
        {
            if (members[i] == member)
            {
                removeAt(i);
                return true;
            }
        }
        return false;
    }

    /**
     * @param remove which members to remove.
     * @return true if any was removed.
     */
    public boolean removeIf(final LongPredicate remove)
    {
        boolean removed = false;
        for (int i = size - 1; i >= 0; i--)
        {
            if (remove.test(members[i]))
            {
                removeAt(i);
                removed = true;
            }
        }
        return removed;
    }

    private void removeAt(final int index)
    {
        System.arraycopy(members, index + 1, members, index, size - index - 1);
        size--;
    }

    /** @return whether {@code member} is held. */
    public boolean contains(final long member)
    {
        for (int i = 0; i < size; i++)
        {
            if (members[i] == member)
            {
                return true;
            }
        }
        return false;
    }

    /** @return the member at {@code index}, in the order they were added; 0 &lt;= index &lt; {@link #size}. */
    public long get(final int index)
    {
        if (index >= size)
        {
            throw new IndexOutOfBoundsException("member " + index + " of a set of " + size);
        }
        return members[index];
    }

    /** @return how many members are held. */
    public int size()
    {
        return size;
    }

    /** @return whether none is held. */
    public boolean isEmpty()
    {
        return size == 0;
    }

    /** Remove every member. */
    public void clear()
    {
        size = 0;
    }

    /** @return the members in hexadecimal (as logs name incarnations), e.g. {@code {1f2e, 3a}}. */
    @Override
    public String toString()
    {
        final StringBuilder text = new StringBuilder("{");
        for (int i = 0; i < size; i++)
        {
            text.append(i == 0 ? "" : ", ").append(Long.toHexString(members[i]));
        }
        return text.append('}').toString();
    }
}
