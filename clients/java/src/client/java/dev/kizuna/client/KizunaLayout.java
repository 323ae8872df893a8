package dev.kizuna.client;

import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;

/**
 * Where one daemon keeps its files, by the rule every Kizuna client and the daemon share.
 *
 * <p>With a home {@code H} (an explicit one, else {@code KIZUNA_HOME}) everything lives under it:
 * {@code H/data} and {@code H/run}. Without one, the per-user XDG directories: data in {@code
 * $XDG_DATA_HOME/kizuna} (default {@code ~/.local/share/kizuna}), runtime files in {@code
 * $XDG_RUNTIME_DIR/kizuna}, or {@code /tmp/kizuna-<uid>} when there is no runtime directory.
 * Relative XDG values are ignored, as the XDG specification says. Pure: reads and creates
 * nothing.
 *
 * @param home the daemon's home, or {@code null} for the per-user XDG layout
 * @param dataDir the data directory (holds {@code api-token})
 * @param runtimeDir the runtime directory (holds {@code kizuna.sock} and {@code daemon.json})
 */
public record KizunaLayout(Path home, Path dataDir, Path runtimeDir) {

  public KizunaLayout {
    Objects.requireNonNull(dataDir, "dataDir");
    Objects.requireNonNull(runtimeDir, "runtimeDir");
  }

  /** The layout for this process's environment ({@code KIZUNA_HOME}, XDG variables). */
  public static KizunaLayout resolve() {
    return resolve(null, System.getenv());
  }

  /**
   * Applies the layout rule.
   *
   * @param home an explicit home, or {@code null} to use {@code KIZUNA_HOME} or the XDG layout
   * @param env the environment to read (usually {@link System#getenv()})
   */
  public static KizunaLayout resolve(String home, Map<String, String> env) {
    String chosen = home != null ? home : nonEmpty(env.get("KIZUNA_HOME"));
    String userHome = nonEmpty(env.get("HOME"));
    if (userHome == null) {
      userHome = System.getProperty("user.home");
    }
    if (chosen != null) {
      Path root = expandUser(chosen, userHome).toAbsolutePath().normalize();
      return new KizunaLayout(root, root.resolve("data"), root.resolve("run"));
    }
    Path dataHome = xdgDir(env, "XDG_DATA_HOME", Path.of(userHome, ".local", "share"));
    String runtimeHome = env.getOrDefault("XDG_RUNTIME_DIR", "");
    Path runtimeDir =
        Path.of(runtimeHome).isAbsolute() && !runtimeHome.isEmpty()
            ? Path.of(runtimeHome, "kizuna")
            // No per-user runtime directory (no login session): the daemon uses this one.
            : Path.of("/tmp", "kizuna-" + Uid.current());
    return new KizunaLayout(null, dataHome.resolve("kizuna"), runtimeDir);
  }

  /** The Unix socket of the local gRPC API when the daemon published no other. */
  public Path socketPath() {
    return runtimeDir.resolve("kizuna.sock");
  }

  /** The bearer token TCP clients present. */
  public Path tokenFile() {
    return dataDir.resolve("api-token");
  }

  /** Written by the running daemon: the endpoints it actually listens on. */
  public Path endpointFile() {
    return runtimeDir.resolve("daemon.json");
  }

  private static Path xdgDir(Map<String, String> env, String name, Path fallback) {
    String value = env.getOrDefault(name, "");
    return !value.isEmpty() && Path.of(value).isAbsolute() ? Path.of(value) : fallback;
  }

  private static Path expandUser(String path, String userHome) {
    if (path.equals("~")) {
      return Path.of(userHome);
    }
    if (path.startsWith("~/")) {
      return Path.of(userHome, path.substring(2));
    }
    return Path.of(path);
  }

  static String nonEmpty(String value) {
    return value == null || value.isEmpty() ? null : value;
  }

  /** The process's user ID, for {@code /tmp/kizuna-<uid>}. */
  private static final class Uid {
    static long current() {
      try {
        return new com.sun.security.auth.module.UnixSystem().getUid();
      } catch (LinkageError | RuntimeException e) {
        // A runtime without the jdk.security.auth module: Linux's /proc says the same.
        try {
          Object uid = java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid");
          return ((Number) uid).longValue();
        } catch (java.io.IOException | RuntimeException inner) {
          throw new IllegalStateException("cannot tell this process's user ID", inner);
        }
      }
    }
  }
}
