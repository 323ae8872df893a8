package dev.kizuna.client;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where a daemon's local API is and how to present oneself to it, as {@link
 * KizunaChannels#resolve} found it.
 *
 * @param target the target as given or found: {@code unix:/path} or {@code host:port}
 * @param socket the Unix socket, or {@code null} for a TCP target
 * @param host the TCP host (brackets removed), or {@code null} for a Unix socket
 * @param port the TCP port, or {@code -1} for a Unix socket
 * @param token the bearer token sent on TCP, or {@code null} for a Unix socket (whose file
 *     permissions are its access control)
 */
public record KizunaTarget(String target, Path socket, String host, int port, String token) {

  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  public KizunaTarget {
    Objects.requireNonNull(target, "target");
  }

  /** Whether this is a Unix domain socket target. */
  public boolean isUnix() {
    return socket != null;
  }

  /**
   * Parses a target string without reading any file: {@code unix:PATH}, {@code unix:///PATH},
   * {@code host:port}, {@code [v6]:port}, optionally with gRPC's {@code dns:///}, {@code ipv4:} or
   * {@code ipv6:} prefix. The token is attached as given (it may be {@code null}).
   *
   * @throws IllegalArgumentException when the target is malformed
   */
  public static KizunaTarget parse(String target, String token) {
    if (target.startsWith("unix:")) {
      String path = target.substring("unix:".length());
      if (path.startsWith("//")) {
        // unix:///abs/path, the URI form.
        path = path.substring(2);
      }
      if (path.isEmpty()) {
        throw new IllegalArgumentException("target " + target + " names no socket path");
      }
      return new KizunaTarget(target, Path.of(path).toAbsolutePath(), null, -1, null);
    }
    String address = target;
    for (String prefix : new String[] {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
      if (address.startsWith(prefix)) {
        address = address.substring(prefix.length());
        break;
      }
    }
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      throw new IllegalArgumentException(
          "target " + target + " is neither unix:PATH nor HOST:PORT");
    }
    String host = address.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    int port;
    try {
      port = Integer.parseInt(address.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("target " + target + " has no numeric port", e);
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("target " + target + " has no valid port");
    }
    return new KizunaTarget(target, null, host, port, token);
  }

  /**
   * Whether the TCP host is {@code localhost} or a loopback IP literal (no name is looked up):
   * only then is the token read from its file automatically.
   */
  public boolean isLoopback() {
    if (host == null) {
      return false;
    }
    if (host.toLowerCase(Locale.ROOT).equals("localhost")) {
      return true;
    }
    if (!IPV4.matcher(host).matches() && !host.contains(":")) {
      return false; // a name: resolving it could say anything
    }
    try {
      return InetAddress.getByName(host).isLoopbackAddress(); // a literal: no lookup
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** The same target with this token. */
  public KizunaTarget withToken(String newToken) {
    return new KizunaTarget(target, socket, host, port, newToken);
  }

  @Override
  public String toString() {
    // Never print the token.
    return "KizunaTarget[" + target + (token != null ? ", token set" : "") + "]";
  }
}
