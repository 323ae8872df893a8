// Command kizuna-status is a small Go client of the Kizuna daemon's local API (kizuna.v1).
//
// It prints this device, can follow events and list peers, and shows how every error carries a
// machine-readable reason (google.rpc.ErrorInfo) that a client in any language can branch on.
//
//	kizuna-status [-socket PATH] [-events N] [-peers] [-peer ID]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	kizunav1 "kizuna/clients/go/gen/kizuna/v1"
)

func main() {
	socket := flag.String("socket", "", "the daemon's Unix socket (default: from $KIZUNA_HOME or the XDG runtime directory)")
	events := flag.Int("events", 0, "also print this many events of the current run, oldest first")
	peers := flag.Bool("peers", false, "also list the peers the daemon knows")
	peerID := flag.String("peer", "", "also show the peer with this device ID")
	flag.Parse()

	path := *socket
	if path == "" {
		path = defaultSocket()
	}
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	node, err := kizunav1.NewNodeServiceClient(conn).GetNode(ctx, &kizunav1.GetNodeRequest{})
	if err != nil {
		fail(err)
	}
	printJSON(node.GetNode())

	if *peers {
		listed, err := kizunav1.NewPeerServiceClient(conn).ListPeers(ctx, &kizunav1.ListPeersRequest{})
		if err != nil {
			report(err)
		} else {
			for _, peer := range listed.GetPeers() {
				printJSON(peer)
			}
		}
	}

	if *peerID != "" {
		got, err := kizunav1.NewPeerServiceClient(conn).GetPeer(ctx, &kizunav1.GetPeerRequest{PeerId: *peerID})
		if err != nil {
			report(err)
		} else {
			printJSON(got.GetPeer())
		}
	}

	if *events > 0 {
		// from_start replays the current run from its first event (sequence 1); after_sequence
		// 1 would skip that event, and after_sequence 0 alone means live events only.
		stream, err := kizunav1.NewEventServiceClient(conn).SubscribeEvents(ctx, &kizunav1.SubscribeEventsRequest{
			FromStart: true,
		})
		if err != nil {
			fail(err)
		}
		printed := 0
		for printed < *events {
			response, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				fail(err)
			}
			for _, event := range response.GetEvents() {
				if printed < *events {
					printJSON(event)
					printed++
				}
			}
		}
	}
}

// defaultSocket follows the daemon's own rule: $KIZUNA_HOME/run/kizuna.sock, else the XDG
// runtime directory, else /tmp/kizuna-UID.
func defaultSocket() string {
	if home := os.Getenv("KIZUNA_HOME"); home != "" {
		return filepath.Join(home, "run", "kizuna.sock")
	}
	if runtime := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(runtime) {
		return filepath.Join(runtime, "kizuna", "kizuna.sock")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("kizuna-%d", os.Getuid()), "kizuna.sock")
}

func printJSON(message proto.Message) {
	out, err := protojson.Marshal(message)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

// report prints a failed call's reason, from its ErrorInfo when the daemon sent one.
func report(err error) {
	reason := status.Code(err).String()
	if st, ok := status.FromError(err); ok {
		for _, detail := range st.Details() {
			if info, ok := detail.(*errdetails.ErrorInfo); ok && info.GetDomain() == "kizuna.v1" {
				reason = info.GetReason()
			}
		}
		fmt.Fprintf(os.Stderr, "kizuna-status: %s: %s\n", reason, st.Message())
		return
	}
	fmt.Fprintf(os.Stderr, "kizuna-status: %v\n", err)
}

func fail(err error) {
	report(err)
	os.Exit(1)
}
