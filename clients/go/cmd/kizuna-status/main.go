// Command kizuna-status is a small Go client of the Kizuna daemon's local API (kizuna.v1).
//
// It prints this device, can follow events and list peers, and shows how every error carries a
// machine-readable reason (google.rpc.ErrorInfo) that a client in any language can branch on.
//
//	kizuna-status [-target unix:PATH|HOST:PORT] [-token-file FILE] [-events N] [-peers] [-peer ID]
//
// It finds the daemon like every Kizuna client (package kizuna): -target, else $KIZUNA_TARGET,
// else the Unix socket in $KIZUNA_HOME's (or the XDG runtime directory's) daemon.json, else the
// default socket. Over TCP it presents the API token: -token-file, else (loopback only)
// $KIZUNA_TOKEN_FILE, else the home's data/api-token. -socket PATH is the older spelling of
// -target unix:PATH.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	kizunav1 "kizuna/clients/go/gen/kizuna/v1"
	"kizuna/clients/go/kizuna"
)

func main() {
	target := flag.String("target", "", "the daemon's API, unix:PATH or HOST:PORT (default: $KIZUNA_TARGET, else the home's daemon.json, else the default socket)")
	tokenFile := flag.String("token-file", "", "file holding the API token for a TCP target (default: $KIZUNA_TOKEN_FILE, else the home's data/api-token; loopback targets only)")
	socket := flag.String("socket", "", "the daemon's Unix socket (the same as -target unix:PATH)")
	events := flag.Int("events", 0, "also print this many events of the current run, oldest first")
	peers := flag.Bool("peers", false, "also list the peers the daemon knows")
	peerID := flag.String("peer", "", "also show the peer with this device ID")
	flag.Parse()

	var opts []kizuna.Option
	switch {
	case *socket != "" && *target != "":
		fmt.Fprintln(os.Stderr, "kizuna-status: give -target or -socket, not both")
		os.Exit(2)
	case *socket != "":
		opts = append(opts, kizuna.WithTarget("unix:"+*socket))
	case *target != "":
		opts = append(opts, kizuna.WithTarget(*target))
	}
	if *tokenFile != "" {
		opts = append(opts, kizuna.WithTokenFile(*tokenFile))
	}
	client, err := kizuna.NewClient(opts...)
	if err != nil {
		fail(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	node, err := client.Node.GetNode(ctx, &kizunav1.GetNodeRequest{})
	if err != nil {
		fail(err)
	}
	printJSON(node.GetNode())

	if *peers {
		request := &kizunav1.ListPeersRequest{}
		for {
			listed, err := client.Peers.ListPeers(ctx, request)
			if err != nil {
				report(err)
				break
			}
			for _, peer := range listed.GetPeers() {
				printJSON(peer)
			}
			if listed.GetNextPageToken() == "" {
				break
			}
			request.PageToken = listed.GetNextPageToken()
		}
	}

	if *peerID != "" {
		got, err := client.Peers.GetPeer(ctx, &kizunav1.GetPeerRequest{PeerId: *peerID})
		if err != nil {
			report(err)
		} else {
			printJSON(got.GetPeer())
		}
	}

	if *events > 0 {
		// from_start replays the current run from its first event (sequence 1); after_sequence
		// 1 would skip that event, and after_sequence 0 alone means live events only.
		stream, err := client.Events.SubscribeEvents(ctx, &kizunav1.SubscribeEventsRequest{
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

func printJSON(message proto.Message) {
	out, err := protojson.Marshal(message)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

// report prints a failed call's reason (its ErrorInfo reason when the daemon sent one, else the
// status code's name) and what went wrong.
func report(err error) {
	message := err.Error()
	if st, ok := status.FromError(err); ok {
		message = st.Message() // not "rpc error: code = ... desc = ..."
	}
	fmt.Fprintf(os.Stderr, "kizuna-status: %s: %s\n", kizuna.ErrorReason(err), message)
	var tokenErr *kizuna.TokenError
	if errors.As(err, &tokenErr) {
		fmt.Fprintln(os.Stderr, "kizuna-status: give the token file with -token-file FILE")
	}
}

func fail(err error) {
	report(err)
	os.Exit(1)
}
