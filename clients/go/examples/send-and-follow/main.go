// Command send-and-follow sends one file to a paired peer and follows it to the end: the
// example every Kizuna client language ships (docs/api-other-languages.md), in Go.
//
//	send-and-follow PEER_ID FILE
//
// It prints, one per line:
//
//	peer <id> <connected>          for each peer ListPeers returns (connected: true or false)
//	error <REASON>                 for GetPeer of an unknown ID, the google.rpc.ErrorInfo reason
//	transfer <id>                  once CreateTransfer answers
//	progress <bytes_done> <total>  for each transfer_progress event of that transfer
//	completed <id> <bytes>         and exits 0
//
// A transfer that fails or is cancelled prints "failed <id> <REASON> <message>" or
// "cancelled <id> <REASON>" and exits 1. It subscribes to events, and waits for the
// subscription's start message, before it sends, so no event of its transfer can be missed.
// The daemon is found like every Kizuna client finds it (package kizuna): $KIZUNA_TARGET, else
// $KIZUNA_HOME's daemon.json, else the default socket; over TCP the API token is presented.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	kizunav1 "kizuna/clients/go/gen/kizuna/v1"
	"kizuna/clients/go/kizuna"
)

// unknownPeer is a well-formed device ID (52 base32 characters) that no daemon knows.
var unknownPeer = strings.Repeat("A", 52)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: send-and-follow PEER_ID FILE")
		os.Exit(2)
	}
	peerID := os.Args[1]
	// The daemon reads the file itself: it needs an absolute path.
	path, err := filepath.Abs(os.Args[2])
	if err != nil {
		fail("FILE", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	client, err := kizuna.Dial(ctx)
	if err != nil {
		fail("connecting", err)
	}
	code := run(ctx, client, peerID, path)
	_ = client.Close()
	stop()
	os.Exit(code)
}

func run(ctx context.Context, client *kizuna.Client, peerID, path string) int {
	// Every peer, page by page.
	request := &kizunav1.ListPeersRequest{}
	for {
		listed, err := client.Peers.ListPeers(ctx, request)
		if err != nil {
			fail("ListPeers", err)
		}
		for _, peer := range listed.GetPeers() {
			connected := peer.GetConnection() == kizunav1.Peer_CONNECTION_CONNECTED
			fmt.Printf("peer %s %t\n", peer.GetDeviceId(), connected)
		}
		if listed.GetNextPageToken() == "" {
			break
		}
		request.PageToken = listed.GetNextPageToken()
	}

	// A failed call: branch on its reason, never on the message.
	if _, err := client.Peers.GetPeer(ctx, &kizunav1.GetPeerRequest{PeerId: unknownPeer}); err != nil {
		fmt.Printf("error %s\n", kizuna.ErrorReason(err))
	} else {
		fmt.Fprintln(os.Stderr, "send-and-follow: GetPeer of an unknown ID succeeded")
		return 1
	}

	// Subscribe first, and wait until the daemon registered the subscription (its start
	// message): every event published after that reaches this stream.
	follow, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.Events.SubscribeEvents(follow, &kizunav1.SubscribeEventsRequest{
		Types: []kizunav1.EventType{
			kizunav1.EventType_EVENT_TYPE_TRANSFER_PROGRESS,
			kizunav1.EventType_EVENT_TYPE_TRANSFER_COMPLETED,
			kizunav1.EventType_EVENT_TYPE_TRANSFER_FAILED,
			kizunav1.EventType_EVENT_TYPE_TRANSFER_CANCELLED,
		},
	})
	if err != nil {
		fail("SubscribeEvents", err)
	}
	for started := false; !started; {
		response, err := stream.Recv()
		if err != nil {
			fail("SubscribeEvents", err)
		}
		started = response.GetStart() != nil
	}

	created, err := client.Transfers.CreateTransfer(ctx, &kizunav1.CreateTransferRequest{
		PeerId: peerID,
		Paths:  []string{path},
	})
	if err != nil {
		fail("CreateTransfer", err)
	}
	id := created.GetTransfer().GetId()
	fmt.Printf("transfer %s\n", id)

	// Events of this transfer that arrived while CreateTransfer was answering wait in the
	// stream, in order.
	for {
		response, err := stream.Recv()
		if err != nil { // io.EOF included: the daemon shut down
			fail("the event stream ended before the transfer did", err)
		}
		if response.GetGap() != nil {
			// Events were lost (this subscriber fell behind): the end may be among them, so
			// read the transfer's state instead.
			got, err := client.Transfers.GetTransfer(ctx, &kizunav1.GetTransferRequest{TransferId: id})
			if err != nil {
				fail("GetTransfer", err)
			}
			if code, done := ended(got.GetTransfer()); done {
				return code
			}
		}
		for _, event := range response.GetEvents() {
			if progress := event.GetTransferProgress(); progress.GetTransferId() == id {
				fmt.Printf("progress %d %d\n", progress.GetBytesDone(), progress.GetTotalBytes())
				continue
			}
			for _, transfer := range []*kizunav1.Transfer{
				event.GetTransferCompleted().GetTransfer(),
				event.GetTransferFailed().GetTransfer(),
				event.GetTransferCancelled().GetTransfer(),
			} {
				if transfer.GetId() != id {
					continue
				}
				if code, done := ended(transfer); done {
					return code
				}
			}
		}
	}
}

// ended prints how a transfer in a final state ended and returns the exit code; done is false
// while it is still going.
func ended(transfer *kizunav1.Transfer) (code int, done bool) {
	switch transfer.GetState() {
	case kizunav1.Transfer_STATE_COMPLETED:
		fmt.Printf("completed %s %d\n", transfer.GetId(), transfer.GetBytesDone())
		return 0, true
	case kizunav1.Transfer_STATE_FAILED:
		fmt.Printf("failed %s %s %s\n", transfer.GetId(), reason(transfer.GetError()), transfer.GetError().GetMessage())
		return 1, true
	case kizunav1.Transfer_STATE_CANCELLED:
		fmt.Printf("cancelled %s %s\n", transfer.GetId(), reason(transfer.GetError()))
		return 1, true
	}
	return 0, false
}

// reason is an Error's reason as docs/errors.md names it ("PEER_UNREACHABLE").
func reason(err *kizunav1.Error) string {
	if err == nil || err.GetReason() == kizunav1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		return "UNSPECIFIED"
	}
	return strings.TrimPrefix(err.GetReason().String(), "ERROR_REASON_")
}

// fail reports a failed step with its reason and exits 1.
func fail(step string, err error) {
	fmt.Fprintf(os.Stderr, "send-and-follow: %s: %s: %v\n", step, kizuna.ErrorReason(err), err)
	os.Exit(1)
}
