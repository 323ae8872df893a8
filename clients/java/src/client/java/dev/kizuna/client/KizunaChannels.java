package dev.kizuna.client;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Finds the local Kizuna daemon and opens a gRPC channel to it, by the rule every Kizuna client
 * shares:
 *
 * <ol>
 *   <li>an explicit target, else
 *   <li>{@code KIZUNA_TARGET} ({@code unix:/path} or {@code host:port}), else
 *   <li>the Unix socket the running daemon published in its home's {@code run/daemon.json}, else
 *   <li>the default socket {@code <runtime dir>/kizuna.sock}.
 * </ol>
 *
 * <p>The home is {@code KIZUNA_HOME}, or the per-user XDG layout without it ({@link
 * KizunaLayout}). A TCP target needs the API token, sent as {@code authorization: Bearer
 * <token>} on every call ({@link BearerToken} call credentials): an explicit token, else the file
 * {@code KIZUNA_TOKEN_FILE}, else the {@code token_file} daemon.json names, else {@code <data
 * dir>/api-token}; the files are read only for loopback targets. A Unix socket needs no token.
 *
 * <pre>{@code
 * ManagedChannel channel = KizunaChannels.connect();
 * try {
 *   Node node = NodeServiceGrpc.newBlockingStub(channel)
 *       .getNode(GetNodeRequest.getDefaultInstance()).getNode();
 * } finally {
 *   channel.shutdownNow();
 * }
 * }</pre>
 *
 * <p>Unix sockets use Netty's native epoll transport (Linux).
 */
public final class KizunaChannels {

  /** The largest message accepted from the daemon (as the Python client: 8 MiB). */
  public static final int MAX_INBOUND_MESSAGE_SIZE = 8 * 1024 * 1024;

  private static EventLoopGroup unixGroup;

  private KizunaChannels() {}

  /** A channel to the daemon this process's environment points at. */
  public static ManagedChannel connect() {
    return connect(null, null);
  }

  /**
   * A channel to {@code target} (or the daemon the environment points at when {@code null}),
   * presenting {@code token} on TCP (or the token file's when {@code null}).
   *
   * @throws IllegalArgumentException when the target is malformed or a TCP target's token is
   *     neither given nor readable
   * @throws IllegalStateException when a Unix socket is named but epoll is not available
   */
  public static ManagedChannel connect(String target, String token) {
    return newChannelBuilder(resolve(target, token, null, System.getenv())).build();
  }

  /**
   * Applies the rule above to an environment, reading {@code daemon.json} and the token file but
   * connecting to nothing.
   *
   * @param target an explicit target, or {@code null}
   * @param token an explicit token, or {@code null}
   * @param home an explicit home, or {@code null} for {@code KIZUNA_HOME} / XDG
   * @param env the environment (usually {@link System#getenv()})
   */
  public static KizunaTarget resolve(
      String target, String token, String home, Map<String, String> env) {
    KizunaLayout layout = KizunaLayout.resolve(home, env);
    String chosen = KizunaLayout.nonEmpty(target);
    if (chosen == null) {
      chosen = KizunaLayout.nonEmpty(env.get("KIZUNA_TARGET"));
    }
    if (chosen == null) {
      chosen = publishedSocket(layout.endpointFile());
    }
    if (chosen == null) {
      chosen = "unix:" + layout.socketPath();
    }
    KizunaTarget parsed = KizunaTarget.parse(chosen, token);
    if (parsed.isUnix() || token != null) {
      return parsed;
    }
    if (!parsed.isLoopback()) {
      throw new IllegalArgumentException(
          chosen
              + " is not a loopback address: the API token is read from its file only for"
              + " loopback targets; pass the token explicitly");
    }
    String tokenFile = KizunaLayout.nonEmpty(env.get("KIZUNA_TOKEN_FILE"));
    if (tokenFile == null) {
      tokenFile = publishedTokenFile(layout.endpointFile());
    }
    Path path = tokenFile != null ? Path.of(tokenFile) : layout.tokenFile();
    try {
      String read = Files.readString(path, StandardCharsets.US_ASCII).strip();
      if (read.isEmpty()) {
        throw new IllegalArgumentException(
            "TCP target " + chosen + " needs the API token; " + path + " is empty");
      }
      return parsed.withToken(read);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "TCP target "
              + chosen
              + " needs the API token; cannot read "
              + path
              + " ("
              + describe(e)
              + "); pass the token or set KIZUNA_TOKEN_FILE",
          e);
    }
  }

  private static String describe(IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    return e.toString();
  }

  /**
   * A channel builder for a resolved target, ready to {@code build()} or to adjust further: a
   * Unix socket over epoll, or plaintext TCP (the daemon's TCP listener is loopback) with the
   * bearer token as call credentials of the channel.
   */
  public static NettyChannelBuilder newChannelBuilder(KizunaTarget target) {
    NettyChannelBuilder builder;
    if (target.isUnix()) {
      if (!Epoll.isAvailable()) {
        throw new IllegalStateException(
            "Unix domain socket "
                + target.socket()
                + " needs Netty's native epoll transport"
                + " (io.netty:netty-transport-native-epoll with this platform's classifier)",
            Epoll.unavailabilityCause());
      }
      builder =
          NettyChannelBuilder.forAddress(
                  new DomainSocketAddress(target.socket().toString()),
                  InsecureChannelCredentials.create())
              .eventLoopGroup(unixEventLoopGroup())
              .channelType(EpollDomainSocketChannel.class, DomainSocketAddress.class)
              // gRPC sets SO_KEEPALIVE on every transport; a Unix socket has no such option and
              // Netty would warn on each connection. null removes it from the bootstrap.
              .withOption(ChannelOption.SO_KEEPALIVE, null)
              // The default authority would be the socket path, which is no valid :authority.
              .overrideAuthority("localhost");
    } else {
      ChannelCredentials credentials = InsecureChannelCredentials.create();
      if (target.token() != null) {
        credentials =
            CompositeChannelCredentials.create(credentials, new BearerToken(target.token()));
      }
      builder = NettyChannelBuilder.forAddress(target.host(), target.port(), credentials);
    }
    return builder.maxInboundMessageSize(MAX_INBOUND_MESSAGE_SIZE);
  }

  /**
   * The Unix socket the running daemon published in {@code daemon.json}, as {@code unix:PATH},
   * or {@code null} when there is no such file or it names none.
   */
  static String publishedSocket(Path endpointFile) {
    for (JsonObject endpoint : endpoints(endpointFile)) {
      if ("unix".equals(string(endpoint, "transport")) && string(endpoint, "address") != null) {
        return "unix:" + string(endpoint, "address");
      }
    }
    return null;
  }

  /**
   * Where the running daemon keeps its API token ({@code token_file} of its TCP endpoint in
   * {@code daemon.json}; the file's name, never the token), or {@code null}.
   */
  static String publishedTokenFile(Path endpointFile) {
    for (JsonObject endpoint : endpoints(endpointFile)) {
      String tokenFile = KizunaLayout.nonEmpty(string(endpoint, "token_file"));
      if (tokenFile != null) {
        return tokenFile;
      }
    }
    return null;
  }

  /** The endpoints of a daemon.json; none when it is missing, half-written or foreign. */
  private static List<JsonObject> endpoints(Path endpointFile) {
    List<JsonObject> found = new ArrayList<>();
    try {
      String text = Files.readString(endpointFile, StandardCharsets.UTF_8);
      JsonElement endpoints = JsonParser.parseString(text).getAsJsonObject().get("endpoints");
      if (endpoints != null && endpoints.isJsonArray()) {
        for (JsonElement element : endpoints.getAsJsonArray()) {
          if (element.isJsonObject()) {
            found.add(element.getAsJsonObject());
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // Fall back to the next step of the rule.
    }
    return found;
  }

  private static String string(JsonObject object, String key) {
    JsonElement value = object.get(key);
    return value != null && value.isJsonPrimitive() ? value.getAsString() : null;
  }

  /**
   * One epoll event loop shared by every Unix socket channel of this process, on a daemon thread
   * (as gRPC's own default event loops), so channels need no extra shutdown and a JVM exits.
   */
  private static synchronized EventLoopGroup unixEventLoopGroup() {
    if (unixGroup == null) {
      unixGroup =
          new MultiThreadIoEventLoopGroup(
              1, new DefaultThreadFactory("kizuna-uds", true), EpollIoHandler.newFactory());
    }
    return unixGroup;
  }
}
