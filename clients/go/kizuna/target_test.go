package kizuna

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cleanEnv clears every variable the rule reads, so the machine's own settings never leak in.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{EnvHome, EnvTarget, EnvTokenFile, "XDG_RUNTIME_DIR", "XDG_DATA_HOME"} {
		t.Setenv(name, "")
	}
	t.Setenv("HOME", t.TempDir())
}

// newHome is a daemon home; with endpoints it holds the daemon.json a running daemon writes.
func newHome(t *testing.T, endpoints ...string) string {
	t.Helper()
	home := t.TempDir()
	for _, dir := range []string{"run", "data"} {
		if err := os.MkdirAll(filepath.Join(home, dir), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if len(endpoints) > 0 {
		writeFile(t, filepath.Join(home, "run", "daemon.json"),
			fmt.Sprintf(`{"pid": 1, "run_id": "r", "endpoints": [%s]}`, strings.Join(endpoints, ", ")))
	}
	return home
}

func endpoint(transport, address string) string {
	return fmt.Sprintf(`{"transport": %q, "address": %q, "requires_token": %t}`, transport, address, transport == "tcp")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func resolve(t *testing.T, opts ...Option) Target {
	t.Helper()
	target, err := ResolveTarget(opts...)
	if err != nil {
		t.Fatalf("ResolveTarget: %v", err)
	}
	return target
}

func expectUnix(t *testing.T, target Target, socket, source string) {
	t.Helper()
	if target.Socket != socket || target.Source != source || target.Token != "" {
		t.Fatalf("got socket %q from %q (token %q), want %q from %q", target.Socket, target.Source, target.Token, socket, source)
	}
	if target.String() != "unix:"+socket {
		t.Fatalf("String() = %q", target.String())
	}
}

func TestDaemonJSONUnixEndpointIsPreferred(t *testing.T) {
	cleanEnv(t)
	home := newHome(t, endpoint("tcp", "127.0.0.1:4000"), endpoint("unix", "/somewhere/else.sock"))
	t.Setenv(EnvHome, home)
	expectUnix(t, resolve(t), "/somewhere/else.sock", SourceDaemonJSON)
}

func TestDefaultSocketWithoutDaemonJSON(t *testing.T) {
	cleanEnv(t)
	home := newHome(t)
	t.Setenv(EnvHome, home)
	expectUnix(t, resolve(t), filepath.Join(home, "run", "kizuna.sock"), SourceDefault)

	// A daemon.json without a Unix endpoint, or one that is not JSON, is not followed either.
	writeFile(t, filepath.Join(home, "run", "daemon.json"), `{"endpoints": [`+endpoint("tcp", "127.0.0.1:1")+`]}`)
	expectUnix(t, resolve(t), filepath.Join(home, "run", "kizuna.sock"), SourceDefault)
	writeFile(t, filepath.Join(home, "run", "daemon.json"), `{"endpoints": `)
	expectUnix(t, resolve(t), filepath.Join(home, "run", "kizuna.sock"), SourceDefault)
}

func TestTargetOrder(t *testing.T) {
	cleanEnv(t)
	home := newHome(t, endpoint("unix", "/published.sock"))
	t.Setenv(EnvHome, home)
	t.Setenv(EnvTarget, "unix:/from-env.sock")
	expectUnix(t, resolve(t), "/from-env.sock", SourceEnv)
	expectUnix(t, resolve(t, WithTarget("unix:///explicit.sock")), "/explicit.sock", SourceOption)
}

func TestWithHomeOverridesKizunaHome(t *testing.T) {
	cleanEnv(t)
	t.Setenv(EnvHome, newHome(t, endpoint("unix", "/env-home.sock")))
	chosen := newHome(t, endpoint("unix", "/chosen-home.sock"))
	expectUnix(t, resolve(t, WithHome(chosen)), "/chosen-home.sock", SourceDaemonJSON)
}

func TestRelativeHomeIsMadeAbsolute(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(EnvHome, "h")
	expectUnix(t, resolve(t), filepath.Join(dir, "h", "run", "kizuna.sock"), SourceDefault)
}

func TestXDGLayout(t *testing.T) {
	cleanEnv(t)
	runtime, data := t.TempDir(), t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", runtime)
	t.Setenv("XDG_DATA_HOME", data)
	target := resolve(t)
	expectUnix(t, target, filepath.Join(runtime, "kizuna", "kizuna.sock"), SourceDefault)
	if got, want := target.Layout.TokenFile(), filepath.Join(data, "kizuna", "api-token"); got != want {
		t.Fatalf("token file %q, want %q", got, want)
	}

	// The daemon.json of the XDG runtime directory is followed like a home's.
	if err := os.MkdirAll(filepath.Join(runtime, "kizuna"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(runtime, "kizuna", "daemon.json"), `{"endpoints": [`+endpoint("unix", "/xdg.sock")+`]}`)
	expectUnix(t, resolve(t), "/xdg.sock", SourceDaemonJSON)
}

func TestXDGFallbacks(t *testing.T) {
	cleanEnv(t)
	// Relative XDG values are invalid and ignored: /tmp/kizuna-UID (not $TMPDIR) and
	// ~/.local/share.
	t.Setenv("XDG_RUNTIME_DIR", "relative/run")
	t.Setenv("XDG_DATA_HOME", "relative/data")
	t.Setenv("TMPDIR", t.TempDir())
	target := resolve(t)
	expectUnix(t, target, fmt.Sprintf("/tmp/kizuna-%d/kizuna.sock", os.Getuid()), SourceDefault)
	want := filepath.Join(os.Getenv("HOME"), ".local", "share", "kizuna", "api-token")
	if got := target.Layout.TokenFile(); got != want {
		t.Fatalf("token file %q, want %q", got, want)
	}
}

func TestUnixTargetForms(t *testing.T) {
	cleanEnv(t)
	dir := t.TempDir()
	t.Chdir(dir)
	for raw, socket := range map[string]string{
		"unix:/run/k.sock":        "/run/k.sock",
		"unix:///run/k.sock":      "/run/k.sock",
		"unix:k.sock":             filepath.Join(dir, "k.sock"),
		"unix:/tmp/a b/k%1?.sock": "/tmp/a b/k%1?.sock",
	} {
		target := resolve(t, WithTarget(raw))
		expectUnix(t, target, socket, SourceOption)
		// grpc parses the address as a URL: it must give the very path back.
		parsed, err := url.Parse(target.Address)
		if err != nil || parsed.Scheme != "unix" || parsed.Path != socket {
			t.Fatalf("%s: address %q parses to %v (%v)", raw, target.Address, parsed, err)
		}
	}
	if _, err := ResolveTarget(WithTarget("unix:")); err == nil {
		t.Fatal("unix: without a path was accepted")
	}
}

func TestTCPTokenFromHome(t *testing.T) {
	cleanEnv(t)
	home := newHome(t, endpoint("unix", "/published.sock"))
	t.Setenv(EnvHome, home)
	writeFile(t, filepath.Join(home, "data", "api-token"), "home-token\n")
	t.Setenv(EnvTarget, "127.0.0.1:4000")
	target := resolve(t)
	if target.IsUnix() || target.Address != "127.0.0.1:4000" || target.Source != SourceEnv {
		t.Fatalf("got %+v", target)
	}
	if target.Token != "home-token" || target.TokenFile != filepath.Join(home, "data", "api-token") {
		t.Fatalf("token %q from %q", target.Token, target.TokenFile)
	}

	// KIZUNA_TOKEN_FILE comes before the home's file; an explicit token before both.
	other := filepath.Join(t.TempDir(), "token")
	writeFile(t, other, "  env-token  ")
	t.Setenv(EnvTokenFile, other)
	if got := resolve(t).Token; got != "env-token" {
		t.Fatalf("token %q, want env-token", got)
	}
	if got := resolve(t, WithToken("given")); got.Token != "given" || got.TokenFile != "" {
		t.Fatalf("token %q from %q, want the given one", got.Token, got.TokenFile)
	}
	for _, raw := range []string{"localhost:4000", "[::1]:4000", "ipv4:127.0.0.1:4000", "dns:///localhost:4000"} {
		if got := resolve(t, WithTarget(raw)).Token; got != "env-token" {
			t.Fatalf("%s: token %q", raw, got)
		}
	}
}

func TestTokenFileNamedInDaemonJSON(t *testing.T) {
	cleanEnv(t)
	moved := filepath.Join(t.TempDir(), "moved-token")
	writeFile(t, moved, "moved\n")
	tcp := fmt.Sprintf(`{"transport": "tcp", "address": "127.0.0.1:4000", "requires_token": true, "token_file": %q}`, moved)
	home := newHome(t, endpoint("unix", "/published.sock"), tcp)
	t.Setenv(EnvHome, home)
	writeFile(t, filepath.Join(home, "data", "api-token"), "default\n")
	target := resolve(t, WithTarget("127.0.0.1:4000"))
	if target.Token != "moved" || target.TokenFile != moved {
		t.Fatalf("token %q from %q, want daemon.json's file", target.Token, target.TokenFile)
	}
}

func TestTCPWithoutReadableToken(t *testing.T) {
	cleanEnv(t)
	home := newHome(t)
	t.Setenv(EnvHome, home)
	t.Setenv(EnvTarget, "127.0.0.1:4000")
	_, err := ResolveTarget()
	var tokenErr *TokenError
	if !errors.As(err, &tokenErr) || tokenErr.File != filepath.Join(home, "data", "api-token") {
		t.Fatalf("got %v, want a TokenError naming the home's token file", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%v does not wrap fs.ErrNotExist", err)
	}
	if ErrorReason(err) != "INVALID_ARGUMENT" || ErrorMetadata(err)["field"] != "token" {
		t.Fatalf("reason %q, metadata %v", ErrorReason(err), ErrorMetadata(err))
	}
	for _, want := range []string{"127.0.0.1:4000", tokenErr.File, EnvTokenFile} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("message %q does not mention %q", err, want)
		}
	}

	// An empty token file is no token.
	writeFile(t, tokenErr.File, "\n")
	if _, err := ResolveTarget(); !errors.As(err, &tokenErr) {
		t.Fatalf("empty token file: got %v", err)
	}
}

func TestNonLoopbackTCPNeedsAnExplicitToken(t *testing.T) {
	cleanEnv(t)
	home := newHome(t)
	t.Setenv(EnvHome, home)
	token := filepath.Join(home, "data", "api-token")
	writeFile(t, token, "secret")
	t.Setenv(EnvTokenFile, token)
	// The token file is never sent to another machine unasked, even when it names one.
	_, err := ResolveTarget(WithTarget("192.0.2.7:4000"))
	var tokenErr *TokenError
	if !errors.As(err, &tokenErr) || !tokenErr.NotLoopback || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("got %v, want a not-loopback TokenError", err)
	}
	if got := resolve(t, WithTarget("192.0.2.7:4000"), WithToken("t")).Token; got != "t" {
		t.Fatalf("token %q", got)
	}
	if got := resolve(t, WithTarget("192.0.2.7:4000"), WithTokenFile(token)).Token; got != "secret" {
		t.Fatalf("token %q", got)
	}
}

func TestIsLoopback(t *testing.T) {
	for target, want := range map[string]bool{
		"127.0.0.1:1":        true,
		"127.8.9.10:1":       true,
		"[::1]:1":            true,
		"localhost:1":        true,
		"LOCALHOST:1":        true,
		"dns:///localhost:1": true,
		"ipv6:[::1]:1":       true,
		"127.0.0.1":          true,
		"192.0.2.7:1":        false,
		"example.com:1":      false,
		"[::2]:1":            false,
		"0.0.0.0:1":          false,
		"":                   false,
	} {
		if got := IsLoopback(target); got != want {
			t.Errorf("IsLoopback(%q) = %t, want %t", target, got, want)
		}
	}
}

func TestDialReportsAMissingDaemon(t *testing.T) {
	cleanEnv(t)
	t.Setenv(EnvHome, newHome(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := Dial(ctx)
	if err == nil {
		_ = client.Close()
		t.Fatal("Dial succeeded with no daemon")
	}
	if ErrorReason(err) != "UNAVAILABLE" || !strings.Contains(err.Error(), "kizuna.sock") {
		t.Fatalf("got %q: %v", ErrorReason(err), err)
	}
}
