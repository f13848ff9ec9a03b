package dev.grid.core;


import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The files in which a persistent member keeps, for its operator, the copies it had to drop because the cluster it
 * joined has no such cache ({@link KeptCopy}: after two clusters that formed apart merged, or a cache destroyed while
 * the member was away). One file per copy, {@code <data directory>/kept/<cache>-p<partition>-<UTC time>.kept}, UTF-8
 * text so that standard tools read it:
 * <pre>
 * # comment lines
 * cache=orders
 * cacheId=3
 * keyCodec=string
 * valueCodec=string
 * partition=17
 * highestCounter=412
 * reason=...
 * keptAt=2026-12-04T11:02:03.456Z
 * entries=2
 *
 * a2V5MQ== dmFsdWUx
 * a2V5Mg== dmFsdWUy
 * </pre>
 * each entry line the key and the value, encoded by the named codecs, in Base64. A file appears whole or not at all
 * (written aside, forced to disk, then renamed). Stateless; safe from any thread.
 */
public final class KeptCopyFiles
{
    /** The suffix of every kept copy's file. */
    public static final String SUFFIX = ".kept";
    private static final DateTimeFormatter FILE_TIME = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'")
        .withZone(ZoneOffset.UTC);

    private KeptCopyFiles()
    {
    }

    /**
     * Write a kept copy durably.
     *
     * @param directory where kept copies go; created if missing.
     * @param copy      to keep.
     * @param keptAt    when it was kept (names the file).
     * @return the file written.
     * @throws PersistenceException with {@link ErrorCode#PERSISTENCE_IO_FAILED} if it could not be made durable.
     */
    public static Path write(final Path directory, final KeptCopy copy, final Instant keptAt)
    {
        Path file = directory.resolve(copy.cacheName() + "-p" + copy.partition() + "-" + FILE_TIME.format(keptAt) +
            SUFFIX);
        try
        {
            if (!Files.isDirectory(directory))
            {
                Files.createDirectories(directory);
                forceDirectory(directory.toAbsolutePath().getParent());
            }
            for (int n = 1; Files.exists(file); n++)
            {
                // Never replace a copy kept before (the same partition kept twice within a millisecond).
                file = directory.resolve(copy.cacheName() + "-p" + copy.partition() + "-" + FILE_TIME.format(keptAt) +
                    "-" + n + SUFFIX);
            }
            final Path temporary = directory.resolve(file.getFileName() + ".tmp");
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE))
            {
                final BufferedWriter out = new BufferedWriter(new OutputStreamWriter(
                    Channels.newOutputStream(channel), StandardCharsets.UTF_8));
                out.write("# Entries of a partition copy this member dropped because the cluster it joined has no " +
                    "such cache.\n# Each entry line: Base64 key, a space, Base64 value (encoded by the codecs " +
                    "named below).\n");
                header(out, "cache", copy.cacheName());
                header(out, "cacheId", Integer.toString(copy.cacheId()));
                header(out, "keyCodec", copy.keyCodec());
                header(out, "valueCodec", copy.valueCodec());
                header(out, "partition", Integer.toString(copy.partition()));
                header(out, "highestCounter", Long.toString(copy.highestCounter()));
                header(out, "reason", copy.reason().replace('\n', ' '));
                header(out, "keptAt", keptAt.toString());
                header(out, "entries", Integer.toString(copy.keys().size()));
                out.write('\n');
                final Base64.Encoder base64 = Base64.getEncoder();
                for (int i = 0; i < copy.keys().size(); i++)
                {
                    out.write(base64.encodeToString(copy.keys().get(i)));
                    out.write(' ');
                    out.write(base64.encodeToString(copy.values().get(i)));
                    out.write('\n');
                }
                out.flush();
                channel.force(true);
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
            forceDirectory(directory);
            return file;
        }
        catch (final IOException ex)
        {
            throw new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "could not keep " +
                copy.keys().size() + " entries of cache '" + copy.cacheName() + "' partition " + copy.partition() +
                " in " + file + ": " + ex.getMessage(), ex);
        }
    }

    /**
     * Read a kept copy back.
     *
     * @param file written by {@link #write}.
     * @return the copy.
     * @throws PersistenceException with {@link ErrorCode#PERSISTENCE_IO_FAILED} if it cannot be read or is not such a
     *                              file (the message names the line).
     */
    public static KeptCopy read(final Path file)
    {
        final List<String> lines;
        try
        {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        }
        catch (final IOException ex)
        {
            throw new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, "could not read " + file + ": " +
                ex.getMessage(), ex);
        }
        final Map<String, String> header = new LinkedHashMap<>();
        final List<byte[]> keys = new ArrayList<>();
        final List<byte[]> values = new ArrayList<>();
        boolean inEntries = false;
        for (int n = 0; n < lines.size(); n++)
        {
            final String line = lines.get(n);
            if (!inEntries && line.startsWith("#"))
            {
                continue;
            }
            if (!inEntries && line.isEmpty())
            {
                inEntries = true;
                continue;
            }
            final int split = line.indexOf(inEntries ? ' ' : '=');
            if (split < 0)
            {
                throw malformed(file, n, "expected " + (inEntries ? "'key value'" : "'name=value'"));
            }
            if (inEntries)
            {
                try
                {
                    keys.add(Base64.getDecoder().decode(line.substring(0, split)));
                    values.add(Base64.getDecoder().decode(line.substring(split + 1)));
                }
                catch (final IllegalArgumentException ex)
                {
                    throw malformed(file, n, ex.getMessage());
                }
            }
            else
            {
                header.put(line.substring(0, split), line.substring(split + 1));
            }
        }
        try
        {
            if (Integer.parseInt(header.get("entries")) != keys.size())
            {
                throw malformed(file, lines.size(), "entries=" + header.get("entries") + " but " + keys.size() +
                    " entry lines");
            }
            return new KeptCopy(required(header, "cache", file), Integer.parseInt(required(header, "cacheId", file)),
                required(header, "keyCodec", file), required(header, "valueCodec", file),
                Integer.parseInt(required(header, "partition", file)),
                Long.parseLong(required(header, "highestCounter", file)), required(header, "reason", file), keys,
                values);
        }
        catch (final NumberFormatException ex)
        {
            throw malformed(file, 0, "a number field: " + ex.getMessage());
        }
    }

    private static void forceDirectory(final Path directory) throws IOException
    {
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ))
        {
            dir.force(true);
        }
    }

    private static void header(final BufferedWriter out, final String name, final String value) throws IOException
    {
        out.write(name);
        out.write('=');
        out.write(value);
        out.write('\n');
    }

    private static String required(final Map<String, String> header, final String name, final Path file)
    {
        final String value = header.get(name);
        if (value == null)
        {
            throw malformed(file, 0, "no '" + name + "' line");
        }
        return value;
    }

    private static PersistenceException malformed(final Path file, final int line, final String why)
    {
        return new PersistenceException(ErrorCode.PERSISTENCE_IO_FAILED, file + " is not a kept copy (line " +
            (line + 1) + "): " + why);
    }
}
