package dev.kizuna.examples;

import dev.kizuna.client.ErrorReasons;
import dev.kizuna.client.KizunaChannels;
import dev.kizuna.client.KizunaTarget;
import dev.kizuna.v1.CreateTransferRequest;
import dev.kizuna.v1.Event;
import dev.kizuna.v1.EventServiceGrpc;
import dev.kizuna.v1.EventType;
import dev.kizuna.v1.GetPeerRequest;
import dev.kizuna.v1.GetTransferRequest;
import dev.kizuna.v1.ListPeersRequest;
import dev.kizuna.v1.ListPeersResponse;
import dev.kizuna.v1.Peer;
import dev.kizuna.v1.PeerServiceGrpc;
import dev.kizuna.v1.SubscribeEventsRequest;
import dev.kizuna.v1.SubscribeEventsResponse;
import dev.kizuna.v1.Transfer;
import dev.kizuna.v1.TransferProgress;
import dev.kizuna.v1.TransferServiceGrpc;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;

/**
 * Sends a file to a peer and follows it to the end, printing one line per step:
 *
 * <pre>
 * peer &lt;id&gt; &lt;connected&gt;       for each peer ListPeers returns (true/false)
 * error &lt;REASON&gt;              GetPeer of an unknown ID, the reason read from ErrorInfo
 * transfer &lt;id&gt;               once CreateTransfer answers
 * progress &lt;done&gt; &lt;total&gt;     for each transfer_progress event of that transfer
 * completed &lt;id&gt; &lt;bytes&gt;      and exit 0 (failed/cancelled: a line saying why, exit 1)
 * </pre>
 *
 * <p>It subscribes to events, and waits for the subscription's start message, before it sends,
 * so no event of its transfer can be missed. The daemon is found by {@link KizunaChannels}'
 * rule ({@code KIZUNA_TARGET}, {@code KIZUNA_HOME}, ...).
 *
 * <pre>java -jar target/kizuna-examples.jar PEER_ID FILE</pre>
 */
public final class SendAndFollow {

  /** A device ID no daemon knows (52 base32 characters), for the error it decodes. */
  private static final String UNKNOWN_PEER = "A".repeat(52);
  /** How long a single unary call may take. */
  private static final long CALL_SECONDS = 30;

  private static final PrintStream OUT = new PrintStream(System.out, true, StandardCharsets.UTF_8);

  private SendAndFollow() {}

  public static void main(String[] args) {
    if (args.length != 2) {
      System.err.println("usage: SendAndFollow PEER_ID FILE");
      System.exit(2);
    }
    KizunaTarget target;
    ManagedChannel channel;
    try {
      // KIZUNA_TARGET, else KIZUNA_HOME's (or the XDG layout's) daemon.json, else the default
      // socket; the token file for a loopback TCP target.
      target = KizunaChannels.resolve(null, null, null, System.getenv());
      channel = KizunaChannels.newChannelBuilder(target).build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      // No usable target (a TCP target without a readable token, no epoll, ...).
      System.err.println("cannot reach the daemon: " + e.getMessage());
      System.exit(2);
      return;
    }
    int code;
    try {
      code = run(channel, args[0], Path.of(args[1]).toAbsolutePath().toString());
    } catch (StatusRuntimeException e) {
      // The daemon's ErrorInfo reason, or gRPC's own code when the call never reached it.
      String reason = ErrorReasons.reason(e);
      io.grpc.Status status = e.getStatus();
      System.err.println(
          "call to "
              + target.target()
              + " failed: "
              + (reason != null ? reason : status.getCode().name())
              + ": "
              + status.getDescription()
              + (status.getCause() != null ? " (" + cause(status.getCause()) + ")" : ""));
      code = 1;
    } finally {
      channel.shutdownNow();
    }
    System.exit(code);
  }

  private static String cause(Throwable cause) {
    return cause.getMessage() != null ? cause.getMessage() : cause.toString();
  }

  static int run(ManagedChannel channel, String peerId, String file) {
    PeerServiceGrpc.PeerServiceBlockingStub peers = PeerServiceGrpc.newBlockingStub(channel);
    TransferServiceGrpc.TransferServiceBlockingStub transfers =
        TransferServiceGrpc.newBlockingStub(channel);

    // Every peer, page by page.
    String pageToken = "";
    do {
      ListPeersResponse page =
          peers
              .withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS)
              .listPeers(ListPeersRequest.newBuilder().setPageToken(pageToken).build());
      for (Peer peer : page.getPeersList()) {
        boolean connected = peer.getConnection() == Peer.Connection.CONNECTION_CONNECTED;
        OUT.println("peer " + peer.getDeviceId() + " " + connected);
      }
      pageToken = page.getNextPageToken();
    } while (!pageToken.isEmpty());

    // An error, decoded from its google.rpc.ErrorInfo.
    try {
      peers
          .withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS)
          .getPeer(GetPeerRequest.newBuilder().setPeerId(UNKNOWN_PEER).build());
      System.err.println("GetPeer of an unknown ID succeeded");
      return 1;
    } catch (StatusRuntimeException e) {
      String reason = ErrorReasons.reason(e);
      OUT.println("error " + (reason != null ? reason : e.getStatus().getCode().name()));
    }

    // The stream is cancelled with this context when the transfer ends.
    try (Context.CancellableContext context = Context.current().withCancellation()) {
      SubscribeEventsRequest request =
          SubscribeEventsRequest.newBuilder()
              .addTypes(EventType.EVENT_TYPE_TRANSFER_PROGRESS)
              .addTypes(EventType.EVENT_TYPE_TRANSFER_COMPLETED)
              .addTypes(EventType.EVENT_TYPE_TRANSFER_FAILED)
              .addTypes(EventType.EVENT_TYPE_TRANSFER_CANCELLED)
              .build();
      Iterator<SubscribeEventsResponse> events;
      Context previous = context.attach();
      try {
        events = EventServiceGrpc.newBlockingStub(channel).subscribeEvents(request);
      } finally {
        context.detach(previous);
      }
      // The first message is the start: from here on every event reaches this subscriber.
      if (!events.hasNext() || !events.next().hasStart()) {
        System.err.println("the event stream did not start with a SubscriptionStart");
        return 1;
      }

      Transfer created =
          transfers
              .withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS)
              .createTransfer(
                  CreateTransferRequest.newBuilder().setPeerId(peerId).addPaths(file).build())
              .getTransfer();
      String id = created.getId();
      OUT.println("transfer " + id);

      while (events.hasNext()) {
        SubscribeEventsResponse response = events.next();
        if (response.hasGap()) {
          // Events were lost for this subscriber: read the transfer's state instead.
          System.err.println(
              "event gap "
                  + Long.toUnsignedString(response.getGap().getFirstSequence())
                  + ".."
                  + Long.toUnsignedString(response.getGap().getLastSequence()));
          Transfer now =
              transfers
                  .withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS)
                  .getTransfer(GetTransferRequest.newBuilder().setTransferId(id).build())
                  .getTransfer();
          Integer end = ended(now, false);
          if (end != null) {
            return end;
          }
        }
        for (Event event : response.getEventsList()) {
          Integer end = handle(event, id);
          if (end != null) {
            return end;
          }
        }
      }
      System.err.println("the event stream ended before transfer " + id + " did");
      return 1;
    }
  }

  /** Prints what an event says about transfer {@code id}; the exit code once it ended. */
  private static Integer handle(Event event, String id) {
    switch (event.getPayloadCase()) {
      case TRANSFER_PROGRESS -> {
        TransferProgress progress = event.getTransferProgress();
        if (progress.getTransferId().equals(id)) {
          // uint64 fields are Java longs: print them unsigned.
          OUT.println(
              "progress "
                  + Long.toUnsignedString(progress.getBytesDone())
                  + " "
                  + Long.toUnsignedString(progress.getTotalBytes()));
        }
        return null;
      }
      case TRANSFER_COMPLETED -> {
        Transfer transfer = event.getTransferCompleted().getTransfer();
        return transfer.getId().equals(id) ? ended(transfer, false) : null;
      }
      case TRANSFER_FAILED -> {
        Transfer transfer = event.getTransferFailed().getTransfer();
        return transfer.getId().equals(id) ? ended(transfer, false) : null;
      }
      case TRANSFER_CANCELLED -> {
        Transfer transfer = event.getTransferCancelled().getTransfer();
        boolean byPeer = event.getTransferCancelled().getByPeer();
        return transfer.getId().equals(id) ? ended(transfer, byPeer) : null;
      }
      default -> {
        return null;
      }
    }
  }

  /** Prints the last line of a transfer that ended; {@code null} while it runs. */
  private static Integer ended(Transfer transfer, boolean byPeer) {
    String id = transfer.getId();
    switch (transfer.getState()) {
      case STATE_COMPLETED -> {
        OUT.println("completed " + id + " " + Long.toUnsignedString(transfer.getBytesDone()));
        return 0;
      }
      case STATE_FAILED -> {
        OUT.println("failed " + id + " " + ErrorReasons.name(transfer.getError().getReasonValue()));
        System.err.println(transfer.getError().getMessage());
        return 1;
      }
      case STATE_CANCELLED -> {
        String reason =
            transfer.hasError()
                ? ErrorReasons.name(transfer.getError().getReasonValue())
                : byPeer ? "BY_PEER" : "BY_THIS_DEVICE";
        OUT.println("cancelled " + id + " " + reason);
        return 1;
      }
      default -> {
        return null;
      }
    }
  }
}
