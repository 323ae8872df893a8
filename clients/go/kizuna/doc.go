// Package kizuna connects Go programs to the Kizuna daemon's local gRPC API (kizuna.v1).
//
// Dial finds the daemon by the rule every Kizuna client follows (see ResolveTarget): an
// explicit target, else $KIZUNA_TARGET, else the Unix socket the daemon published in its
// home's run/daemon.json, else the default socket. Over TCP it presents the API token as
// "authorization: Bearer <token>" on every call. The returned Client holds one stub per
// service of the generated package kizuna/clients/go/gen/kizuna/v1:
//
//	client, err := kizuna.Dial(ctx)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer client.Close()
//	_, err = client.Peers.GetPeer(ctx, &kizunav1.GetPeerRequest{PeerId: id})
//	if kizuna.ErrorReason(err) == "PEER_NOT_FOUND" {
//		...
//	}
//
// Every failed call carries a google.rpc.ErrorInfo of domain "kizuna.v1"; ErrorReason and
// ErrorMetadata read it. Branch on the reason, never on the message text.
package kizuna
