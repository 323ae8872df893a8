package dev.kizuna.client;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import com.google.rpc.Status;
import dev.kizuna.v1.ErrorReason;
import io.grpc.protobuf.StatusProto;
import java.util.Map;
import java.util.Optional;

/**
 * Reads why a Kizuna call failed.
 *
 * <p>Every failed call carries a {@code google.rpc.Status} in its {@code grpc-status-details-bin}
 * trailer with one {@code google.rpc.ErrorInfo} of domain {@code kizuna.v1}: its {@code reason} is
 * a {@link ErrorReason} name without {@code ERROR_REASON_} (for example {@code PEER_NOT_FOUND}),
 * its metadata the reason's details. Branch on the reason, never on the message.
 *
 * <pre>{@code
 * try {
 *   peers.getPeer(GetPeerRequest.newBuilder().setPeerId(id).build());
 * } catch (StatusRuntimeException e) {
 *   if ("PEER_NOT_FOUND".equals(ErrorReasons.reason(e))) { ... }
 * }
 * }</pre>
 */
public final class ErrorReasons {

  /** The ErrorInfo domain of Kizuna's errors. */
  public static final String DOMAIN = "kizuna.v1";

  private static final String PREFIX = "ERROR_REASON_";

  private ErrorReasons() {}

  /**
   * The Kizuna {@code ErrorInfo} of a failed call ({@code StatusRuntimeException} or {@code
   * StatusException}, or anything caused by one), if it carries one.
   */
  public static Optional<ErrorInfo> errorInfo(Throwable error) {
    Status status = StatusProto.fromThrowable(error);
    if (status == null) {
      return Optional.empty();
    }
    for (Any detail : status.getDetailsList()) {
      if (!detail.is(ErrorInfo.class)) {
        continue;
      }
      try {
        ErrorInfo info = detail.unpack(ErrorInfo.class);
        if (DOMAIN.equals(info.getDomain())) {
          return Optional.of(info);
        }
      } catch (InvalidProtocolBufferException e) {
        // A malformed detail is as good as none.
      }
    }
    return Optional.empty();
  }

  /**
   * The reason name, for example {@code "PEER_NOT_FOUND"}, or {@code null} when the failure
   * carries no Kizuna ErrorInfo (the daemon could not be reached, a deadline passed on this side).
   */
  public static String reason(Throwable error) {
    return errorInfo(error).map(ErrorInfo::getReason).orElse(null);
  }

  /**
   * The reason as the generated enum: {@link ErrorReason#UNRECOGNIZED} for a reason newer than
   * this client, {@link ErrorReason#ERROR_REASON_UNSPECIFIED} when there is no ErrorInfo.
   */
  public static ErrorReason errorReason(Throwable error) {
    String reason = reason(error);
    if (reason == null) {
      return ErrorReason.ERROR_REASON_UNSPECIFIED;
    }
    try {
      return ErrorReason.valueOf(PREFIX + reason);
    } catch (IllegalArgumentException e) {
      return ErrorReason.UNRECOGNIZED;
    }
  }

  /** The reason's details (keys per reason: docs/errors.md); empty without an ErrorInfo. */
  public static Map<String, String> metadata(Throwable error) {
    return errorInfo(error).map(ErrorInfo::getMetadataMap).orElse(Map.of());
  }

  /**
   * The name of an {@link ErrorReason} as ErrorInfo spells it ({@code PEER_NOT_FOUND}), for the
   * reasons carried in messages such as {@code Transfer.error}; a number newer than this client
   * reads {@code REASON_<n>}.
   */
  public static String name(int reasonValue) {
    ErrorReason reason = ErrorReason.forNumber(reasonValue);
    if (reason == null) {
      return "REASON_" + reasonValue;
    }
    String name = reason.name();
    return name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : name;
  }

  /** {@link #name(int)} of an enum value. */
  public static String name(ErrorReason reason) {
    return reason == ErrorReason.UNRECOGNIZED ? "UNRECOGNIZED" : name(reason.getNumber());
  }
}
