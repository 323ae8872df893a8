package dev.kizuna.client;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * The daemon's API token as gRPC call credentials: {@code authorization: Bearer <token>} on every
 * call. {@link KizunaChannels} puts it on TCP channels itself; for a channel built another way use
 * {@code stub.withCallCredentials(new BearerToken(token))}.
 *
 * <p>It does not insist on TLS: the daemon's TCP listener is plaintext on loopback, and {@link
 * KizunaChannels} reads the token from its file only for loopback targets.
 */
public final class BearerToken extends CallCredentials {

  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String value;

  /** Credentials presenting {@code token} (surrounding whitespace is removed). */
  public BearerToken(String token) {
    String stripped = Objects.requireNonNull(token, "token").strip();
    if (stripped.isEmpty()) {
      throw new IllegalArgumentException("the API token is empty");
    }
    this.value = "Bearer " + stripped;
  }

  @Override
  public void applyRequestMetadata(
      RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, value);
    applier.apply(headers);
  }

  @Override
  public String toString() {
    return "BearerToken[hidden]";
  }
}
