package dev.grid.admin;

import dev.grid.client.GridClient;
import dev.grid.core.Cache;
import dev.grid.core.Codecs;
import dev.grid.core.KeptCopy;
import dev.grid.core.KeptCopyFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import static dev.grid.admin.GridAdmin.map;

/**
 * {@code grid-admin kept FILE...}: what a member kept when it dropped copies the cluster could not take in (after two
 * clusters that formed apart merged: see {@link KeptCopyFiles}), compared key by key with the cluster's values, and,
 * with {@code --restore}, written back. Restoring never clobbers a concurrent change: an entry the cluster lacks is
 * written with put-if-absent, and with {@code --overwrite} a differing one with replace-if-equal to the value just
 * read.
 */
@Command(name = "kept", description = "Compare the entries a member kept when it dropped copies the cluster could " +
    "not take in (the files under <data>/kept/) with the cluster's values; --restore writes back those it lacks.")
final class KeptCommand extends GridAdmin.Sub
{
    /** How many keys per file the table names, per kind. */
    private static final int KEYS_SHOWN = 10;

    @Parameters(arity = "1..*", description = "Kept-copy files (*.kept).")
    List<Path> files;

    @Option(names = "--cache", description = "Compare with (and restore into) this cache instead of the one each " +
        "file names.")
    String cache;

    @Option(names = "--restore", description = "Write each entry the cluster lacks (put-if-absent). Admin role " +
        "is not needed: these are ordinary writes.")
    boolean restore;

    @Option(names = "--overwrite", description = "With --restore, also replace values that differ (replace-if-equal " +
        "to the value just compared).")
    boolean overwrite;

    @Override
    int run(final GridClient client)
    {
        final List<Object> reports = new ArrayList<>();
        final StringBuilder table = new StringBuilder();
        for (final Path file : files)
        {
            final KeptCopy copy = KeptCopyFiles.read(file);
            final String target = cache != null ? cache : copy.cacheName();
            final Cache<byte[], byte[]> raw = client.cache(target, Codecs.BYTES, Codecs.BYTES);
            final List<String> absent = new ArrayList<>();
            final List<String> differing = new ArrayList<>();
            int equal = 0;
            int written = 0;
            for (int i = 0; i < copy.keys().size(); i++)
            {
                final byte[] key = copy.keys().get(i);
                final byte[] value = copy.values().get(i);
                final byte[] current = raw.get(key);
                if (current == null)
                {
                    absent.add(show(key, copy.keyCodec()));
                    written += restore && raw.putIfAbsent(key, value) ? 1 : 0;
                }
                else if (Arrays.equals(current, value))
                {
                    equal++;
                }
                else
                {
                    differing.add(show(key, copy.keyCodec()));
                    written += restore && overwrite && raw.replace(key, current, value) ? 1 : 0;
                }
            }
            reports.add(map("file", file.toString(), "cache", copy.cacheName(), "partition", copy.partition(),
                "reason", copy.reason(), "entries", copy.keys().size(), "equal", equal, "absent", absent.size(),
                "different", differing.size(), "written", written));
            table.append(String.format("%s: cache '%s' partition %d, %d entries kept (%s)%n  compared with cache " +
                "'%s': %d equal, %d absent %s, %d different %s%n", file, copy.cacheName(), copy.partition(),
                copy.keys().size(), copy.reason(), target, equal, absent.size(), some(absent), differing.size(),
                some(differing)));
            if (restore)
            {
                table.append(String.format("  wrote %d entries%s%n", written, overwrite ? "" :
                    " (differing values left as they are; --overwrite replaces them)"));
            }
        }
        print(map("kept", reports), table.toString().trim());
        return GridAdmin.OK;
    }

    /** A key for people: text if its codec is a string codec, else Base64. */
    private static String show(final byte[] key, final String codec)
    {
        return "string".equals(codec) ? new String(key, StandardCharsets.UTF_8) :
            "base64:" + Base64.getEncoder().encodeToString(key);
    }

    private static String some(final List<String> keys)
    {
        return keys.isEmpty() ? "" : keys.size() <= KEYS_SHOWN ? keys.toString() :
            keys.subList(0, KEYS_SHOWN) + " and " + (keys.size() - KEYS_SHOWN) + " more";
    }
}
