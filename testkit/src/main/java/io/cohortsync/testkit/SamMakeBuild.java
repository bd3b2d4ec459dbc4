package io.cohortsync.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Builds a function package the way {@code sam build} does with {@code BuildMethod: makefile}: the
 * repository copied to a scratch directory as a fresh clone would have it (no .git, .aws-sam or build
 * output), then {@code make build-<LogicalId>} run there with {@code ARTIFACTS_DIR} set. Shared by the
 * packaging test (infra-tests) and the benchmark's cold start, so both measure the same package.
 */
public final class SamMakeBuild {
    private static final Set<String> NOT_COPIED = Set.of(".git", ".aws-sam", "target");
    private static final int LOG_TAIL_LINES = 60;

    private SamMakeBuild() {
    }

    /** Copies {@code repo} to {@code to}, leaving out what a fresh clone does not have. */
    public static void copyRepository(Path repo, Path to) {
        try {
            Files.walkFileTree(repo, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    if (!dir.equals(repo) && NOT_COPIED.contains(dir.getFileName().toString())) {
                        return FileVisitResult.SKIP_SUBTREE;
                    }
                    Files.createDirectories(to.resolve(repo.relativize(dir).toString()));
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    if (!NOT_COPIED.contains(file.getFileName().toString())) { // a worktree's .git is a file
                        Files.copy(file, to.resolve(repo.relativize(file).toString()),
                                StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS);
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs {@code make build-<functionId>} in {@code source} as SAM's makefile builder does: ARTIFACTS_DIR
     * set, no outer make's flags (SAM starts make from a shell, not from inside {@code make test}).
     * JAVA_HOME is inherited: {@code make test} exports the JDK scripts/find-jdk.sh chose.
     *
     * @throws IllegalStateException if make fails or overruns {@code timeout}, with the log's last lines
     */
    public static void build(Path source, String functionId, Path artifacts, Path log, Duration timeout) {
        String target = "build-" + functionId;
        ProcessBuilder make = new ProcessBuilder("make", "--makefile", source.resolve("Makefile").toString(), target)
                .directory(source.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        make.environment().put("ARTIFACTS_DIR", artifacts.toString());
        for (String inherited : List.of("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")) {
            make.environment().remove(inherited);
        }
        try {
            Files.createDirectories(artifacts);
            Process process = make.start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("make %s did not finish in %d s; output (%s):%n%s"
                        .formatted(target, timeout.toSeconds(), log, tail(log)));
            }
            if (process.exitValue() != 0) {
                throw new IllegalStateException("make %s exited %d; output (%s):%n%s"
                        .formatted(target, process.exitValue(), log, tail(log)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * A function package built from a tree: where it is, and how long {@code make} took (0 when it was
     * found already built from an identical tree).
     */
    public record Built(String functionId, Path root, double buildSeconds, boolean reused) {
    }

    /**
     * The packages of {@code functionIds} as {@link #build} makes them from a copy of {@code repo}, kept under
     * {@code cacheRoot} by a digest of everything the copy holds (every file's path and content, and the JDK):
     * an identical tree is built once, however many tests or tools ask for it, and a changed one is built
     * anew. The test run builds them once for SamBuildIT, RuntimeClientIT, the local stack's runtime-client
     * mode and the benchmark. Safe for two JVMs at once: each build goes to a directory of its own and is
     * moved into place.
     */
    public static List<Built> packages(Path repo, List<String> functionIds, Path cacheRoot, Duration timeout) {
        String key = treeDigest(repo);
        Path dir = cacheRoot.resolve(key);
        List<Built> result = new ArrayList<>();
        Path source = null;
        try {
            Files.createDirectories(dir);
            for (String id : functionIds) {
                Path target = dir.resolve(id);
                if (Files.isDirectory(target)) {
                    result.add(new Built(id, target, 0, true));
                    continue;
                }
                if (source == null) {
                    source = dir.resolve(".source-" + UUID.randomUUID());
                    copyRepository(repo, source);
                }
                Path scratch = dir.resolve("." + id + "-" + UUID.randomUUID());
                long started = System.nanoTime();
                build(source, id, scratch, dir.resolve("build-" + id + ".log"), timeout);
                double seconds = (System.nanoTime() - started) / 1e9;
                try {
                    Files.move(scratch, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (FileAlreadyExistsException | DirectoryNotEmptyException raced) {
                    deleteTree(scratch); // another JVM built the same tree meanwhile: same bytes
                }
                result.add(new Built(id, target, seconds, false));
            }
            forgetOtherTrees(cacheRoot, key);
            return result;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            if (source != null) {
                deleteTree(source);
            }
        }
    }

    /**
     * SHA-256 over every file {@link #copyRepository} would copy (path and content) and the JDK's version,
     * leaving out Markdown files: no build reads them, and a README edit must not cost three builds.
     */
    static String treeDigest(Path repo) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update((System.getProperty("java.home") + "\n" + Runtime.version() + "\n").getBytes(StandardCharsets.UTF_8));
            List<Path> files = new ArrayList<>();
            Files.walkFileTree(repo, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                    return !d.equals(repo) && NOT_COPIED.contains(d.getFileName().toString())
                            ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                    String name = f.getFileName().toString();
                    if (!NOT_COPIED.contains(name) && !name.endsWith(".md")) {
                        files.add(f);
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
            files.sort(null);
            for (Path f : files) {
                sha.update(repo.relativize(f).toString().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
                sha.update(Files.isExecutable(f) ? (byte) 1 : (byte) 0);
                sha.update(Files.readAllBytes(f));
                sha.update((byte) 0);
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Packages of trees that no longer exist only take disk space. */
    private static void forgetOtherTrees(Path cacheRoot, String key) throws IOException {
        try (Stream<Path> dirs = Files.list(cacheRoot)) {
            for (Path d : (Iterable<Path>) dirs::iterator) {
                if (Files.isDirectory(d) && !d.getFileName().toString().equals(key)) {
                    deleteTree(d);
                }
            }
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Bytes of every file under {@code dir}: the size Lambda checks against its 250 MB unzipped limit. */
    public static long unzippedBytes(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Zips {@code dir} into {@code zip} (what sam deploy uploads) and returns the zip's size. */
    public static long zippedBytes(Path dir, Path zip) {
        try {
            try (OutputStream out = Files.newOutputStream(zip); ZipOutputStream z = new ZipOutputStream(out);
                 Stream<Path> files = Files.walk(dir)) {
                for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                    z.putNextEntry(new ZipEntry(dir.relativize(f).toString()));
                    Files.copy(f, z);
                    z.closeEntry();
                }
            }
            return Files.size(zip);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join(System.lineSeparator(), lines.subList(Math.max(0, lines.size() - LOG_TAIL_LINES),
                lines.size()));
    }
}
