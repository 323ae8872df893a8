package kizuna

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	kizunav1 "kizuna/clients/go/gen/kizuna/v1"
)

// MaxReceiveBytes is the largest response a Client accepts, as in the Python client.
const MaxReceiveBytes = 8 * 1024 * 1024

// Option configures ResolveTarget, NewClient and Dial.
type Option func(*config)

type config struct {
	target, home, token, tokenFile string
	dialOptions                    []grpc.DialOption
}

func newConfig(opts []Option) *config {
	cfg := &config{}
	for _, opt := range opts {
		opt(cfg)
	}
	return cfg
}

// WithTarget connects to this target ("unix:/path/to/socket" or "host:port") instead of
// following $KIZUNA_TARGET and the home.
func WithTarget(target string) Option { return func(c *config) { c.target = target } }

// WithHome uses this daemon home instead of $KIZUNA_HOME (or the XDG layout): its
// run/daemon.json and socket, and its data/api-token for loopback TCP targets.
func WithHome(home string) Option { return func(c *config) { c.home = home } }

// WithToken presents this API token on a TCP target (any address, loopback or not).
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithTokenFile reads the API token for a TCP target from this file (any address).
func WithTokenFile(path string) Option { return func(c *config) { c.tokenFile = path } }

// WithDialOptions adds gRPC dial options (interceptors, keepalive, ...) after the package's
// own.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) { c.dialOptions = append(c.dialOptions, opts...) }
}

// Client is a connection to the daemon with one stub per service.
type Client struct {
	// Target is where the client connects and how it was found.
	Target Target
	// Conn is the underlying connection, for stubs of services not listed here.
	Conn *grpc.ClientConn

	Node      kizunav1.NodeServiceClient
	Peers     kizunav1.PeerServiceClient
	Transfers kizunav1.TransferServiceClient
	Streams   kizunav1.StreamServiceClient
	Commands  kizunav1.CommandServiceClient
	Plugins   kizunav1.PluginServiceClient
	Events    kizunav1.EventServiceClient
}

// NewClient resolves the target (see ResolveTarget) and returns a Client without contacting
// the daemon: like grpc.NewClient, the connection is made by the first call.
func NewClient(opts ...Option) (*Client, error) {
	cfg := newConfig(opts)
	target, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	dialOptions := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxReceiveBytes)),
	}
	if !target.IsUnix() {
		dialOptions = append(dialOptions, grpc.WithPerRPCCredentials(bearer{"Bearer " + target.Token}))
	}
	conn, err := grpc.NewClient(target.Address, append(dialOptions, cfg.dialOptions...)...)
	if err != nil {
		return nil, fmt.Errorf("kizuna: %s: %w", target, err)
	}
	return &Client{
		Target:    target,
		Conn:      conn,
		Node:      kizunav1.NewNodeServiceClient(conn),
		Peers:     kizunav1.NewPeerServiceClient(conn),
		Transfers: kizunav1.NewTransferServiceClient(conn),
		Streams:   kizunav1.NewStreamServiceClient(conn),
		Commands:  kizunav1.NewCommandServiceClient(conn),
		Plugins:   kizunav1.NewPluginServiceClient(conn),
		Events:    kizunav1.NewEventServiceClient(conn),
	}, nil
}

// Dial is NewClient followed by one GetNode call, so a daemon that is not running
// (ErrorReason "UNAVAILABLE") or a wrong token ("API_TOKEN_INVALID") is reported here rather
// than by the first real call. The returned error keeps the call's gRPC status.
func Dial(ctx context.Context, opts ...Option) (*Client, error) {
	client, err := NewClient(opts...)
	if err != nil {
		return nil, err
	}
	if _, err := client.Node.GetNode(ctx, &kizunav1.GetNodeRequest{}); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("kizuna: daemon at %s (%s): %w", client.Target, client.Target.Source, err)
	}
	return client, nil
}

// Close closes the connection; calls in progress fail with CANCELLED.
func (c *Client) Close() error { return c.Conn.Close() }

// bearer presents the API token on every call. Transport security is not required: the TCP
// API listens on loopback, where the token (not TLS) is what keeps other users out.
type bearer struct{ value string }

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": b.value}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }
