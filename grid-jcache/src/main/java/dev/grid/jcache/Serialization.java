package dev.grid.jcache;

import javax.cache.CacheException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.ObjectStreamClass;
import java.io.Serializable;

/**
 * Java serialization of JCache keys, values and configurations, resolving classes through a cache manager's class
 * loader. JCache's store-by-value is defined by serialization, so this adapter uses it; members never deserialize:
 * they hold the bytes, so only the JVM that holds a {@code CacheManager} runs this. Stateless and thread-safe.
 */
final class Serialization
{
    private final ClassLoader classLoader;

    /**
     * @param classLoader resolves the classes of decoded objects.
     */
    Serialization(final ClassLoader classLoader)
    {
        this.classLoader = classLoader;
    }

    /**
     * @param object to encode; must be {@link Serializable}.
     * @param what   named in the error, e.g. "key".
     * @return the serialized bytes.
     * @throws IllegalArgumentException naming the class if the object is not serializable.
     */
    byte[] encode(final Object object, final String what)
    {
        if (!(object instanceof Serializable))
        {
            throw new IllegalArgumentException(what + " of class " + object.getClass().getName() +
                " is not Serializable: a Grid JCache stores keys and values by value (Java serialization)");
        }
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes))
        {
            out.writeObject(object);
        }
        catch (final IOException ex)
        {
            throw new IllegalArgumentException("cannot serialize " + what + " of class " +
                object.getClass().getName() + ": " + ex, ex);
        }
        return bytes.toByteArray();
    }

    /**
     * @param bytes  holding a serialized object.
     * @param offset of the first byte.
     * @return the decoded object.
     * @throws CacheException if the bytes do not hold an object whose class this loader knows.
     */
    Object decode(final byte[] bytes, final int offset)
    {
        try (ObjectInputStream in = new LoaderObjectInputStream(
            new ByteArrayInputStream(bytes, offset, bytes.length - offset), classLoader))
        {
            return in.readObject();
        }
        catch (final IOException | ClassNotFoundException ex)
        {
            throw new CacheException("cannot deserialize a stored object: " + ex, ex);
        }
    }

    /**
     * @param object to copy by serializing and deserializing it.
     * @param what   named in the error.
     * @param <T>    its type.
     * @return an equal object that shares no state with the original.
     */
    @SuppressWarnings("unchecked")
    <T> T copy(final T object, final String what)
    {
        return (T)decode(encode(object, what), 0);
    }

    /** Resolves classes through the given loader first, then as Java does. */
    private static final class LoaderObjectInputStream extends ObjectInputStream
    {
        private final ClassLoader loader;

        LoaderObjectInputStream(final InputStream in, final ClassLoader loader) throws IOException
        {
            super(in);
            this.loader = loader;
        }

        @Override
        protected Class<?> resolveClass(final ObjectStreamClass desc) throws IOException, ClassNotFoundException
        {
            try
            {
                return Class.forName(desc.getName(), false, loader);
            }
            catch (final ClassNotFoundException ex)
            {
                return super.resolveClass(desc);
            }
        }
    }
}
