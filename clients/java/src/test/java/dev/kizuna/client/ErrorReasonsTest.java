package dev.kizuna.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.rpc.Code;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import com.google.rpc.Status;
import dev.kizuna.v1.ErrorReason;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** ErrorInfo decoding, on errors built as the daemon sends them. */
class ErrorReasonsTest {

  private static StatusRuntimeException failure(Any... details) {
    Status.Builder status =
        Status.newBuilder().setCode(Code.NOT_FOUND_VALUE).setMessage("no such peer");
    for (Any detail : details) {
      status.addDetails(detail);
    }
    return StatusProto.toStatusRuntimeException(status.build());
  }

  private static Any info(String domain, String reason) {
    return Any.pack(
        ErrorInfo.newBuilder()
            .setDomain(domain)
            .setReason(reason)
            .putMetadata("peer_id", "AAAA")
            .build());
  }

  @Test
  void readsTheKizunaErrorInfo() {
    StatusRuntimeException error =
        failure(Any.pack(RetryInfo.getDefaultInstance()), info("kizuna.v1", "PEER_NOT_FOUND"));
    assertEquals("PEER_NOT_FOUND", ErrorReasons.reason(error));
    assertEquals(ErrorReason.ERROR_REASON_PEER_NOT_FOUND, ErrorReasons.errorReason(error));
    assertEquals(Map.of("peer_id", "AAAA"), ErrorReasons.metadata(error));
    // Also through a wrapping exception.
    assertEquals("PEER_NOT_FOUND", ErrorReasons.reason(new RuntimeException(error)));
  }

  @Test
  void ignoresOtherDomainsAndMissingDetails() {
    assertNull(ErrorReasons.reason(failure(info("example.com", "PEER_NOT_FOUND"))));
    StatusRuntimeException bare = io.grpc.Status.UNAVAILABLE.asRuntimeException();
    assertNull(ErrorReasons.reason(bare));
    assertEquals(ErrorReason.ERROR_REASON_UNSPECIFIED, ErrorReasons.errorReason(bare));
    assertTrue(ErrorReasons.metadata(bare).isEmpty());
  }

  @Test
  void aReasonNewerThanThisClientIsUnrecognized() {
    StatusRuntimeException error = failure(info("kizuna.v1", "SOMETHING_NEW"));
    assertEquals("SOMETHING_NEW", ErrorReasons.reason(error));
    assertEquals(ErrorReason.UNRECOGNIZED, ErrorReasons.errorReason(error));
  }

  @Test
  void namesAsErrorInfoSpellsThem() {
    assertEquals("PEER_NOT_FOUND", ErrorReasons.name(ErrorReason.ERROR_REASON_PEER_NOT_FOUND));
    assertEquals(
        "TRANSFER_REJECTED",
        ErrorReasons.name(ErrorReason.ERROR_REASON_TRANSFER_REJECTED.getNumber()));
    assertEquals("REASON_99999", ErrorReasons.name(99999));
  }
}
