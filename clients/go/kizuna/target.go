package kizuna

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Environment variables read when the matching option is not given. An empty value counts as
// unset, as in the Python client.
const (
	// EnvHome names the daemon's home directory (its config, data and run directories).
	EnvHome = "KIZUNA_HOME"
	// EnvTarget names the daemon's API: "unix:/path/to/socket" or "host:port".
	EnvTarget = "KIZUNA_TARGET"
	// EnvTokenFile names the file holding the API token for TCP targets.
	EnvTokenFile = "KIZUNA_TOKEN_FILE"
)

// Where the resolved target came from (Target.Source).
const (
	SourceOption     = "option"
	SourceEnv        = EnvTarget
	SourceDaemonJSON = "daemon.json"
	SourceDefault    = "default socket"
)

// Layout is where one daemon keeps its files. With a home H everything lives under it
// (H/data, H/run); without one the per-user XDG directories are used.
type Layout struct {
	// Home is the daemon's home, empty for the XDG layout.
	Home string
	// DataDir holds the daemon's data, including the API token.
	DataDir string
	// RuntimeDir holds the Unix socket and daemon.json while the daemon runs.
	RuntimeDir string
}

// SocketPath is the Unix socket of the local API.
func (l Layout) SocketPath() string { return filepath.Join(l.RuntimeDir, "kizuna.sock") }

// TokenFile is the file holding the bearer token TCP clients present.
func (l Layout) TokenFile() string { return filepath.Join(l.DataDir, "api-token") }

// EndpointFile is written by the running daemon: the endpoints it actually listens on.
func (l Layout) EndpointFile() string { return filepath.Join(l.RuntimeDir, "daemon.json") }

// ResolveLayout applies the layout rule: home if not empty, else $KIZUNA_HOME, else the XDG
// directories ($XDG_DATA_HOME/kizuna or ~/.local/share/kizuna for data; $XDG_RUNTIME_DIR/kizuna,
// or /tmp/kizuna-UID without an absolute XDG_RUNTIME_DIR, for the socket).
func ResolveLayout(home string) (Layout, error) {
	if home == "" {
		home = os.Getenv(EnvHome)
	}
	if home != "" {
		root, err := absolute(expandUser(home))
		if err != nil {
			return Layout{}, fmt.Errorf("kizuna: home %q: %w", home, err)
		}
		return Layout{Home: root, DataDir: filepath.Join(root, "data"), RuntimeDir: filepath.Join(root, "run")}, nil
	}
	userHome := os.Getenv("HOME")
	if userHome == "" {
		var err error
		if userHome, err = os.UserHomeDir(); err != nil {
			return Layout{}, fmt.Errorf("kizuna: no home directory for the XDG layout: %w", err)
		}
	}
	dataHome := os.Getenv("XDG_DATA_HOME")
	if !filepath.IsAbs(dataHome) { // the XDG spec says relative values must be ignored
		dataHome = filepath.Join(userHome, ".local", "share")
	}
	runtimeDir := os.Getenv("XDG_RUNTIME_DIR")
	if filepath.IsAbs(runtimeDir) {
		runtimeDir = filepath.Join(runtimeDir, "kizuna")
	} else {
		// Literally /tmp, not os.TempDir(): the daemon does not look at TMPDIR.
		runtimeDir = fmt.Sprintf("/tmp/kizuna-%d", os.Getuid())
	}
	return Layout{DataDir: filepath.Join(dataHome, "kizuna"), RuntimeDir: runtimeDir}, nil
}

// Target is the daemon's API as resolved by ResolveTarget: where to connect and, for TCP, the
// bearer token to present.
type Target struct {
	// Address is what grpc.NewClient is given: "unix:///path/to/kizuna.sock" or "host:port".
	Address string
	// Socket is the Unix socket's path; empty for TCP.
	Socket string
	// Token is the API token attached to every call as "authorization: Bearer <token>"; TCP
	// targets only.
	Token string
	// TokenFile is the file Token was read from; empty when it was given as a string.
	TokenFile string
	// Source says which rule chose the target: SourceOption, SourceEnv, SourceDaemonJSON or
	// SourceDefault.
	Source string
	// Layout is the daemon layout that was consulted.
	Layout Layout
}

// IsUnix reports whether the target is a Unix socket.
func (t Target) IsUnix() bool { return t.Socket != "" }

// String is the target as people write it: "unix:/path" or "host:port".
func (t Target) String() string {
	if t.IsUnix() {
		return "unix:" + t.Socket
	}
	return t.Address
}

// ResolveTarget finds the daemon by the rule every Kizuna client follows:
//
//  1. the target given with WithTarget, else
//  2. $KIZUNA_TARGET ("unix:/path" or "host:port"), else
//  3. the Unix endpoint the running daemon published in its layout's run/daemon.json, else
//  4. the layout's default socket, <runtime dir>/kizuna.sock.
//
// The layout is WithHome's, else $KIZUNA_HOME's, else the XDG one (see ResolveLayout).
//
// A TCP target needs the API token: WithToken or WithTokenFile, else (loopback targets only)
// the file named by $KIZUNA_TOKEN_FILE, else the token_file daemon.json names (the daemon's
// api.token_file), else <data dir>/api-token. ResolveTarget touches no
// network; it reads daemon.json and the token file.
func ResolveTarget(opts ...Option) (Target, error) {
	cfg := newConfig(opts)
	return cfg.resolve()
}

func (c *config) resolve() (Target, error) {
	layout, err := ResolveLayout(c.home)
	if err != nil {
		return Target{}, err
	}
	raw, source := c.target, SourceOption
	if raw == "" {
		raw, source = os.Getenv(EnvTarget), SourceEnv
	}
	if raw == "" {
		raw, source = publishedSocket(layout.EndpointFile()), SourceDaemonJSON
	}
	if raw == "" {
		raw, source = "unix:"+layout.SocketPath(), SourceDefault
	}
	target := Target{Source: source, Layout: layout}
	if path, ok := strings.CutPrefix(raw, "unix:"); ok {
		// "unix:/abs", "unix:///abs" and "unix:relative" all name a path.
		if rest, ok := strings.CutPrefix(path, "//"); ok {
			path = rest
		}
		if path == "" {
			return Target{}, fmt.Errorf("kizuna: target %q names no socket path", raw)
		}
		if target.Socket, err = absolute(path); err != nil {
			return Target{}, fmt.Errorf("kizuna: target %q: %w", raw, err)
		}
		// Escaped, so a path with spaces or '%' survives grpc's URL parsing.
		target.Address = "unix://" + (&url.URL{Path: target.Socket}).EscapedPath()
		return target, nil
	}
	target.Address = strings.TrimPrefix(strings.TrimPrefix(raw, "ipv4:"), "ipv6:")
	switch {
	case c.token != "":
		target.Token = c.token
	case c.tokenFile != "":
		target.TokenFile = c.tokenFile
	case !IsLoopback(raw):
		return Target{}, &TokenError{Target: raw, NotLoopback: true}
	default:
		target.TokenFile = os.Getenv(EnvTokenFile)
		if target.TokenFile == "" {
			target.TokenFile = publishedTokenFile(layout.EndpointFile())
		}
		if target.TokenFile == "" {
			target.TokenFile = layout.TokenFile()
		}
	}
	if target.Token == "" {
		data, err := os.ReadFile(target.TokenFile)
		if err != nil {
			return Target{}, &TokenError{Target: raw, File: target.TokenFile, Err: err}
		}
		target.Token = strings.TrimSpace(string(data))
		if target.Token == "" {
			return Target{}, &TokenError{Target: raw, File: target.TokenFile, Err: errors.New("the file is empty")}
		}
	}
	return target, nil
}

// IsLoopback reports whether a "host:port" target names this machine: "localhost" or a
// loopback IP address ("127.0.0.1:PORT", "[::1]:PORT"; "dns:", "ipv4:" and "ipv6:" prefixes
// allowed).
func IsLoopback(target string) bool {
	for _, prefix := range []string{"ipv4:", "ipv6:", "dns:"} {
		target = strings.TrimPrefix(target, prefix)
	}
	target = strings.TrimLeft(target, "/") // "dns:///host:port"
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		host = strings.Trim(target, "[]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.IsLoopback()
}

// publishedEndpoint is one entry of daemon.json's "endpoints" (docs/api-other-languages.md).
type publishedEndpoint struct {
	Transport string `json:"transport"`
	Address   string `json:"address"`
	TokenFile string `json:"token_file"`
}

// published reads daemon.json's endpoints; none when there is no daemon running or the file
// is unreadable.
func published(endpointFile string) []publishedEndpoint {
	data, err := os.ReadFile(endpointFile)
	if err != nil {
		return nil
	}
	var info struct {
		Endpoints []publishedEndpoint `json:"endpoints"`
	}
	if json.Unmarshal(data, &info) != nil {
		return nil
	}
	return info.Endpoints
}

// publishedSocket is "unix:PATH" for the first Unix endpoint in daemon.json, or "".
func publishedSocket(endpointFile string) string {
	for _, endpoint := range published(endpointFile) {
		if endpoint.Transport == "unix" && endpoint.Address != "" {
			return "unix:" + endpoint.Address
		}
	}
	return ""
}

// publishedTokenFile is the token file daemon.json names for its TCP endpoint, or "".
func publishedTokenFile(endpointFile string) string {
	for _, endpoint := range published(endpointFile) {
		if endpoint.TokenFile != "" {
			return endpoint.TokenFile
		}
	}
	return ""
}

func expandUser(path string) string {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path
	}
	home := os.Getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return path
		}
	}
	return filepath.Join(home, strings.TrimPrefix(path, "~"))
}

func absolute(path string) (string, error) {
	if filepath.IsAbs(path) {
		return filepath.Clean(path), nil
	}
	return filepath.Abs(path)
}
