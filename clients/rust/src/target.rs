//! Finding the daemon: the layout of its files, the target rule and the API token
//! (docs/api-other-languages.md).

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};

use crate::errors::Error;

/// Names the daemon's home directory (its `data` and `run` directories).
pub const ENV_HOME: &str = "KIZUNA_HOME";
/// Names the daemon's API: `unix:/path/to/socket` or `host:port`.
pub const ENV_TARGET: &str = "KIZUNA_TARGET";
/// Names the file holding the API token for TCP targets.
pub const ENV_TOKEN_FILE: &str = "KIZUNA_TOKEN_FILE";

/// Where one daemon keeps its files. With a home `H` everything lives under it (`H/data`,
/// `H/run`); without one the per-user XDG directories are used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The daemon's home; `None` for the XDG layout.
    pub home: Option<PathBuf>,
    /// Holds the daemon's data, including the API token.
    pub data_dir: PathBuf,
    /// Holds the Unix socket and `daemon.json` while the daemon runs.
    pub runtime_dir: PathBuf,
}

impl Layout {
    /// Applies the layout rule: `home` if given, else `$KIZUNA_HOME`, else the XDG directories
    /// (`$XDG_DATA_HOME/kizuna` or `~/.local/share/kizuna` for data; `$XDG_RUNTIME_DIR/kizuna`,
    /// or `/tmp/kizuna-<uid>` without an absolute `XDG_RUNTIME_DIR`, for the socket). An empty
    /// variable counts as unset.
    pub fn resolve(home: Option<&Path>) -> Result<Layout, Error> {
        Layout::resolve_in(home, &process_env)
    }

    fn resolve_in(home: Option<&Path>, env: &Env<'_>) -> Result<Layout, Error> {
        let home = match home {
            Some(home) if !home.as_os_str().is_empty() => Some(home.to_path_buf()),
            _ => env(ENV_HOME).map(PathBuf::from),
        };
        if let Some(home) = home {
            let root = absolute(&expand_user(&home, env))
                .map_err(|e| Error::Home(format!("home {}: {e}", home.display())))?;
            return Ok(Layout {
                data_dir: root.join("data"),
                runtime_dir: root.join("run"),
                home: Some(root),
            });
        }
        let user_home = user_home(env).ok_or_else(|| {
            Error::Home("no home directory for the XDG layout: HOME is not set".into())
        })?;
        // The XDG spec says relative values must be ignored.
        let data_home = env("XDG_DATA_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .unwrap_or_else(|| user_home.join(".local").join("share"));
        let runtime_dir = match env("XDG_RUNTIME_DIR").map(PathBuf::from) {
            Some(dir) if dir.is_absolute() => dir.join("kizuna"),
            // Literally /tmp, not std::env::temp_dir(): the daemon does not look at TMPDIR.
            _ => PathBuf::from(format!("/tmp/kizuna-{}", uid())),
        };
        Ok(Layout {
            home: None,
            data_dir: data_home.join("kizuna"),
            runtime_dir,
        })
    }

    /// The Unix socket of the local API.
    pub fn socket_path(&self) -> PathBuf {
        self.runtime_dir.join("kizuna.sock")
    }

    /// The file holding the bearer token TCP clients present.
    pub fn token_file(&self) -> PathBuf {
        self.data_dir.join("api-token")
    }

    /// `daemon.json`, written by the running daemon: the endpoints it actually listens on.
    pub fn endpoint_file(&self) -> PathBuf {
        self.runtime_dir.join("daemon.json")
    }
}

/// Which step of the rule chose the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Given by the program ([`Options::target`]).
    Option,
    /// `$KIZUNA_TARGET`.
    Env,
    /// The Unix endpoint in the layout's `daemon.json`.
    DaemonJson,
    /// The layout's default socket, `<runtime dir>/kizuna.sock`.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Option => "option",
            Source::Env => ENV_TARGET,
            Source::DaemonJson => "daemon.json",
            Source::Default => "default socket",
        })
    }
}

/// What a program may give instead of the environment. Every field is optional; empty strings
/// count as unset.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Connect here (`unix:/path/to/socket` or `host:port`) instead of following
    /// `$KIZUNA_TARGET` and the home.
    pub target: Option<String>,
    /// Use this daemon home instead of `$KIZUNA_HOME` (or the XDG layout).
    pub home: Option<PathBuf>,
    /// Present this API token on a TCP target (any address, loopback or not).
    pub token: Option<String>,
    /// Read the API token for a TCP target from this file (any address).
    pub token_file: Option<PathBuf>,
}

impl Options {
    /// No options: everything comes from the environment.
    pub fn new() -> Options {
        Options::default()
    }

    /// Sets [`Options::target`].
    pub fn target(mut self, target: impl Into<String>) -> Options {
        self.target = Some(target.into());
        self
    }

    /// Sets [`Options::home`].
    pub fn home(mut self, home: impl Into<PathBuf>) -> Options {
        self.home = Some(home.into());
        self
    }

    /// Sets [`Options::token`].
    pub fn token(mut self, token: impl Into<String>) -> Options {
        self.token = Some(token.into());
        self
    }

    /// Sets [`Options::token_file`].
    pub fn token_file(mut self, path: impl Into<PathBuf>) -> Options {
        self.token_file = Some(path.into());
        self
    }
}

/// The daemon's API as [`resolve_target`] found it: where to connect and, for TCP, the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// The Unix socket; `None` for a TCP target.
    pub socket: Option<PathBuf>,
    /// `host:port` of a TCP target (prefixes such as `dns:///` removed); empty for a socket.
    pub address: String,
    /// The API token, sent as `authorization: Bearer <token>`; TCP targets only.
    pub token: Option<String>,
    /// The file the token was read from; `None` when it was given as a string.
    pub token_file: Option<PathBuf>,
    /// Which step of the rule chose the target.
    pub source: Source,
    /// The layout that was consulted.
    pub layout: Layout,
}

impl Target {
    /// Whether the target is a Unix socket.
    pub fn is_unix(&self) -> bool {
        self.socket.is_some()
    }
}

/// `unix:/path` or `host:port`, as people write it.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.socket {
            Some(socket) => write!(f, "unix:{}", socket.display()),
            None => f.write_str(&self.address),
        }
    }
}

/// The token is left out.
impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("socket", &self.socket)
            .field("address", &self.address)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_file", &self.token_file)
            .field("source", &self.source)
            .field("layout", &self.layout)
            .finish()
    }
}

/// Finds the daemon by the rule every Kizuna client follows, first match wins:
///
/// 1. [`Options::target`], else
/// 2. `$KIZUNA_TARGET` (`unix:/path` or `host:port`), else
/// 3. the Unix endpoint the running daemon published in its layout's `run/daemon.json`, else
/// 4. the layout's default socket, `<runtime dir>/kizuna.sock`.
///
/// The layout is [`Options::home`]'s, else `$KIZUNA_HOME`'s, else the XDG one (see
/// [`Layout::resolve`]).
///
/// A TCP target needs the API token: [`Options::token`] or [`Options::token_file`], else (for
/// loopback targets only) the file `$KIZUNA_TOKEN_FILE` names, else the `token_file`
/// `daemon.json` names, else `<data dir>/api-token`. Touches no network; reads `daemon.json`
/// and the token file.
pub fn resolve_target(options: &Options) -> Result<Target, Error> {
    resolve_in(options, &process_env)
}

/// Looks up an environment variable; `None` when unset or empty.
type Env<'a> = dyn Fn(&str) -> Option<String> + 'a;

fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(|v| v.to_string_lossy().into_owned())
}

fn resolve_in(options: &Options, env: &Env<'_>) -> Result<Target, Error> {
    let layout = Layout::resolve_in(options.home.as_deref(), env)?;
    let given = options.target.clone().filter(|t| !t.is_empty());
    let (raw, source) = if let Some(target) = given {
        (target, Source::Option)
    } else if let Some(target) = env(ENV_TARGET) {
        (target, Source::Env)
    } else if let Some(socket) = published_socket(&layout.endpoint_file()) {
        (format!("unix:{socket}"), Source::DaemonJson)
    } else {
        (
            format!("unix:{}", layout.socket_path().display()),
            Source::Default,
        )
    };
    let mut target = Target {
        socket: None,
        address: String::new(),
        token: None,
        token_file: None,
        source,
        layout,
    };
    if let Some(path) = raw.strip_prefix("unix:") {
        // "unix:/abs", "unix:///abs" and "unix:relative" all name a path.
        let path = path.strip_prefix("//").unwrap_or(path);
        if path.is_empty() {
            return Err(Error::Target(format!(
                "target {raw:?} names no socket path"
            )));
        }
        let socket =
            absolute(Path::new(path)).map_err(|e| Error::Target(format!("target {raw:?}: {e}")))?;
        target.socket = Some(socket);
        return Ok(target);
    }
    target.address = host_port(&raw).to_string();
    if target.address.is_empty() {
        return Err(Error::Target(format!("target {raw:?} names no address")));
    }
    let token = options.token.clone().filter(|t| !t.is_empty());
    let token_file = options
        .token_file
        .clone()
        .filter(|p| !p.as_os_str().is_empty());
    if let Some(token) = token {
        target.token = Some(token);
        return Ok(target);
    }
    let file = match token_file {
        Some(file) => file,
        None if !is_loopback(&raw) => {
            return Err(Error::Token(TokenError {
                target: raw,
                not_loopback: true,
                file: None,
                cause: None,
            }))
        }
        None => env(ENV_TOKEN_FILE)
            .map(PathBuf::from)
            .or_else(|| published_token_file(&target.layout.endpoint_file()))
            .unwrap_or_else(|| target.layout.token_file()),
    };
    let token = std::fs::read_to_string(&file)
        .and_then(|text| {
            let token = text.trim();
            if token.is_empty() {
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the file is empty",
                ))
            } else {
                Ok(token.to_string())
            }
        })
        .map_err(|cause| {
            Error::Token(TokenError {
                target: raw.clone(),
                not_loopback: false,
                file: Some(file.clone()),
                cause: Some(cause),
            })
        })?;
    target.token = Some(token);
    target.token_file = Some(file);
    Ok(target)
}

/// `host:port` without the `ipv4:`, `ipv6:` or `dns:` scheme gRPC targets may carry.
fn host_port(target: &str) -> &str {
    let mut rest = target;
    for prefix in ["ipv4:", "ipv6:", "dns:"] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    rest.trim_start_matches('/') // "dns:///host:port"
}

/// Whether a `host:port` target names this machine: `localhost` or a loopback IP address
/// (`127.0.0.1:PORT`, `[::1]:PORT`; `dns:`, `ipv4:` and `ipv6:` prefixes allowed).
pub fn is_loopback(target: &str) -> bool {
    let rest = host_port(target);
    let host = if let Some(bracketed) = rest.strip_prefix('[') {
        // "[::1]:port" or "[::1]"
        bracketed.split(']').next().unwrap_or("")
    } else {
        match rest.rsplit_once(':') {
            // One colon: host:port. More: a bare IPv6 address without a port.
            Some((host, _)) if !host.contains(':') => host,
            _ => rest,
        }
    };
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// daemon.json's endpoints: (transport, address, token_file) of each; none when there is no
/// daemon running or the file is unreadable. Unknown keys are ignored.
fn published(endpoint_file: &Path) -> Vec<(String, String, String)> {
    let Ok(text) = std::fs::read_to_string(endpoint_file) else {
        return Vec::new();
    };
    let Ok(info) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    let field = |endpoint: &serde_json::Value, key: &str| {
        endpoint
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    info.get("endpoints")
        .and_then(|e| e.as_array())
        .map(|endpoints| {
            endpoints
                .iter()
                .map(|e| {
                    (
                        field(e, "transport"),
                        field(e, "address"),
                        field(e, "token_file"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The path of the first Unix endpoint in daemon.json.
fn published_socket(endpoint_file: &Path) -> Option<String> {
    published(endpoint_file)
        .into_iter()
        .find(|(transport, address, _)| transport == "unix" && !address.is_empty())
        .map(|(_, address, _)| address)
}

/// The token file daemon.json names for its TCP endpoint.
fn published_token_file(endpoint_file: &Path) -> Option<PathBuf> {
    published(endpoint_file)
        .into_iter()
        .find(|(_, _, token_file)| !token_file.is_empty())
        .map(|(_, _, token_file)| PathBuf::from(token_file))
}

fn user_home(env: &Env<'_>) -> Option<PathBuf> {
    env("HOME").map(PathBuf::from)
}

fn expand_user(path: &Path, env: &Env<'_>) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => match user_home(env) {
            Some(home) => home.join(rest),
            None => path.to_path_buf(),
        },
        Err(_) => path.to_path_buf(),
    }
}

/// The path made absolute against the working directory and cleaned lexically (`.` and `..`
/// removed), like Go's filepath.Abs and Python's os.path.abspath.
fn absolute(path: &Path) -> io::Result<PathBuf> {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()?.join(path)
    };
    let mut clean = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    Ok(clean)
}

fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Why a TCP target has no API token. Reads as `INVALID_ARGUMENT` (field `token`), like the
/// Python client's error for the same case.
#[derive(Debug)]
pub struct TokenError {
    /// The TCP target that needs the token, as given.
    pub target: String,
    /// Set when no token file was read because the target is not a loopback address (a token
    /// file is read automatically only for loopback targets).
    pub not_loopback: bool,
    /// The token file that could not be used.
    pub file: Option<PathBuf>,
    /// Why `file` could not be used.
    pub cause: Option<io::Error>,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.not_loopback {
            return write!(
                f,
                "kizuna: {} is not a loopback address: the API token is read from its file \
                 only for loopback targets; pass the token explicitly (Options::token, \
                 Options::token_file)",
                self.target
            );
        }
        let file = self.file.as_deref().unwrap_or(Path::new("")).display();
        write!(
            f,
            "kizuna: TCP target {} needs the API token; cannot read {file}",
            self.target
        )?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        write!(
            f,
            "; pass the token explicitly (Options::token, Options::token_file) or set \
             {ENV_TOKEN_FILE}"
        )
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_ref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system's temporary directory, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static COUNT: AtomicUsize = AtomicUsize::new(0);
            let n = COUNT.fetch_add(1, Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("kizuna-client-test-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A fake environment: tests never touch the process's own (they run in parallel).
    #[derive(Default)]
    struct FakeEnv(HashMap<String, String>);

    impl FakeEnv {
        fn new() -> FakeEnv {
            FakeEnv::default().with("HOME", "/home/tester")
        }

        fn with(mut self, name: &str, value: impl AsRef<Path>) -> FakeEnv {
            let value = value.as_ref().to_string_lossy().into_owned();
            self.0.insert(name.to_string(), value);
            self
        }

        fn resolve(&self, options: &Options) -> Result<Target, Error> {
            resolve_in(options, &|name| {
                self.0.get(name).filter(|v| !v.is_empty()).cloned()
            })
        }

        fn target(&self, options: &Options) -> Target {
            self.resolve(options).unwrap_or_else(|e| panic!("{e}"))
        }
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn endpoint(transport: &str, address: &str) -> String {
        format!(
            r#"{{"transport": "{transport}", "address": "{address}", "requires_token": false}}"#
        )
    }

    /// A home whose run/daemon.json lists these endpoints (none: no daemon.json).
    fn home(endpoints: &[String]) -> TempDir {
        let dir = TempDir::new();
        std::fs::create_dir_all(dir.path().join("run")).unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        if !endpoints.is_empty() {
            let json = format!(
                r#"{{"pid": 1, "version": "0.1.0", "new_key": [1], "endpoints": [{}]}}"#,
                endpoints.join(", ")
            );
            write(&dir.path().join("run").join("daemon.json"), &json);
        }
        dir
    }

    fn expect_unix(target: &Target, socket: impl AsRef<Path>, source: Source) {
        assert_eq!(
            target.socket.as_deref(),
            Some(socket.as_ref()),
            "{target:?}"
        );
        assert_eq!(target.source, source, "{target:?}");
        assert_eq!(target.token, None);
    }

    #[test]
    fn daemon_json_unix_endpoint_is_used() {
        let home = home(&[
            endpoint("tcp", "127.0.0.1:4000"),
            endpoint("unix", "/somewhere/else.sock"),
        ]);
        let env = FakeEnv::new().with(ENV_HOME, home.path());
        let target = env.target(&Options::new());
        expect_unix(&target, "/somewhere/else.sock", Source::DaemonJson);
        assert_eq!(target.to_string(), "unix:/somewhere/else.sock");
        assert_eq!(target.layout.home.as_deref(), Some(home.path()));
    }

    #[test]
    fn default_socket_without_daemon_json() {
        let home = home(&[]);
        let env = FakeEnv::new().with(ENV_HOME, home.path());
        let default = home.path().join("run").join("kizuna.sock");
        expect_unix(&env.target(&Options::new()), &default, Source::Default);

        // A daemon.json without a Unix endpoint, or one that is not JSON, is not followed.
        let file = home.path().join("run").join("daemon.json");
        write(
            &file,
            &format!(r#"{{"endpoints": [{}]}}"#, endpoint("tcp", "127.0.0.1:1")),
        );
        expect_unix(&env.target(&Options::new()), &default, Source::Default);
        write(&file, r#"{"endpoints": "#);
        expect_unix(&env.target(&Options::new()), &default, Source::Default);
    }

    #[test]
    fn target_order() {
        let home = home(&[endpoint("unix", "/published.sock")]);
        let env = FakeEnv::new()
            .with(ENV_HOME, home.path())
            .with(ENV_TARGET, "unix:/from-env.sock");
        expect_unix(&env.target(&Options::new()), "/from-env.sock", Source::Env);
        let explicit = Options::new().target("unix:///explicit.sock");
        expect_unix(&env.target(&explicit), "/explicit.sock", Source::Option);
        // An empty value counts as unset.
        let env = env.with(ENV_TARGET, "");
        let empty = Options::new().target("");
        expect_unix(&env.target(&empty), "/published.sock", Source::DaemonJson);
    }

    #[test]
    fn home_option_overrides_kizuna_home() {
        let env_home = home(&[endpoint("unix", "/env-home.sock")]);
        let chosen = home(&[endpoint("unix", "/chosen-home.sock")]);
        let env = FakeEnv::new().with(ENV_HOME, env_home.path());
        let target = env.target(&Options::new().home(chosen.path()));
        expect_unix(&target, "/chosen-home.sock", Source::DaemonJson);
    }

    #[test]
    fn relative_and_user_homes_are_made_absolute() {
        let cwd = std::env::current_dir().unwrap();
        let env = FakeEnv::new().with(ENV_HOME, "h/./x/..");
        let expected = cwd.join("h").join("run").join("kizuna.sock");
        expect_unix(&env.target(&Options::new()), expected, Source::Default);
        let env = FakeEnv::new().with(ENV_HOME, "~/kz");
        let expected = Path::new("/home/tester/kz/run/kizuna.sock");
        expect_unix(&env.target(&Options::new()), expected, Source::Default);
    }

    #[test]
    fn xdg_layout() {
        let (runtime, data) = (TempDir::new(), TempDir::new());
        let env = FakeEnv::new()
            .with("XDG_RUNTIME_DIR", runtime.path())
            .with("XDG_DATA_HOME", data.path());
        let target = env.target(&Options::new());
        let socket = runtime.path().join("kizuna").join("kizuna.sock");
        expect_unix(&target, socket, Source::Default);
        assert_eq!(target.layout.home, None);
        assert_eq!(
            target.layout.token_file(),
            data.path().join("kizuna").join("api-token")
        );

        // The daemon.json of the XDG runtime directory is followed like a home's.
        let json = format!(r#"{{"endpoints": [{}]}}"#, endpoint("unix", "/xdg.sock"));
        write(&runtime.path().join("kizuna").join("daemon.json"), &json);
        expect_unix(
            &env.target(&Options::new()),
            "/xdg.sock",
            Source::DaemonJson,
        );
    }

    #[test]
    fn xdg_fallbacks() {
        // Relative XDG values are invalid and ignored: /tmp/kizuna-UID (not $TMPDIR) and
        // ~/.local/share.
        let env = FakeEnv::new()
            .with("XDG_RUNTIME_DIR", "relative/run")
            .with("XDG_DATA_HOME", "relative/data")
            .with("TMPDIR", "/elsewhere");
        let target = env.target(&Options::new());
        let socket = format!("/tmp/kizuna-{}/kizuna.sock", uid());
        expect_unix(&target, socket, Source::Default);
        let token = Path::new("/home/tester/.local/share/kizuna/api-token");
        assert_eq!(target.layout.token_file(), token);
        // Without HOME the XDG layout cannot be worked out.
        let result = FakeEnv::default().resolve(&Options::new());
        assert!(matches!(result, Err(Error::Home(_))), "{result:?}");
    }

    #[test]
    fn unix_target_forms() {
        let cwd = std::env::current_dir().unwrap();
        let env = FakeEnv::new();
        for (raw, socket) in [
            ("unix:/run/k.sock", PathBuf::from("/run/k.sock")),
            ("unix:///run/k.sock", PathBuf::from("/run/k.sock")),
            ("unix:k.sock", cwd.join("k.sock")),
            (
                "unix:/tmp/a b/k%1?.sock",
                PathBuf::from("/tmp/a b/k%1?.sock"),
            ),
        ] {
            expect_unix(
                &env.target(&Options::new().target(raw)),
                socket,
                Source::Option,
            );
        }
        let result = env.resolve(&Options::new().target("unix:"));
        assert!(matches!(result, Err(Error::Target(_))), "{result:?}");
    }

    #[test]
    fn tcp_token_from_home() {
        let home = home(&[endpoint("unix", "/published.sock")]);
        let token_file = home.path().join("data").join("api-token");
        write(&token_file, "home-token\n");
        let env = FakeEnv::new()
            .with(ENV_HOME, home.path())
            .with(ENV_TARGET, "127.0.0.1:4000");
        let target = env.target(&Options::new());
        assert!(!target.is_unix());
        assert_eq!(target.address, "127.0.0.1:4000");
        assert_eq!(target.source, Source::Env);
        assert_eq!(target.token.as_deref(), Some("home-token"));
        assert_eq!(target.token_file.as_deref(), Some(token_file.as_path()));
        assert!(
            !format!("{target:?}").contains("home-token"),
            "Debug shows the token"
        );

        // KIZUNA_TOKEN_FILE comes before the home's file; an explicit token before both.
        let other_dir = TempDir::new();
        let other = other_dir.path().join("token");
        write(&other, "  env-token  ");
        let env = env.with(ENV_TOKEN_FILE, &other);
        assert_eq!(
            env.target(&Options::new()).token.as_deref(),
            Some("env-token")
        );
        let given = env.target(&Options::new().token("given"));
        assert_eq!(
            (given.token.as_deref(), given.token_file),
            (Some("given"), None)
        );
        for (raw, address) in [
            ("localhost:4000", "localhost:4000"),
            ("[::1]:4000", "[::1]:4000"),
            ("ipv4:127.0.0.1:4000", "127.0.0.1:4000"),
            ("dns:///localhost:4000", "localhost:4000"),
        ] {
            let target = env.target(&Options::new().target(raw));
            assert_eq!(target.token.as_deref(), Some("env-token"), "{raw}");
            assert_eq!(target.address, address);
        }
    }

    #[test]
    fn token_file_named_in_daemon_json() {
        let moved_dir = TempDir::new();
        let moved = moved_dir.path().join("moved-token");
        write(&moved, "moved\n");
        let tcp = format!(
            r#"{{"transport": "tcp", "address": "127.0.0.1:4000", "requires_token": true, "token_file": "{}"}}"#,
            moved.display()
        );
        let home = home(&[endpoint("unix", "/published.sock"), tcp]);
        write(&home.path().join("data").join("api-token"), "default\n");
        let env = FakeEnv::new().with(ENV_HOME, home.path());
        let target = env.target(&Options::new().target("127.0.0.1:4000"));
        assert_eq!(target.token.as_deref(), Some("moved"));
        assert_eq!(target.token_file.as_deref(), Some(moved.as_path()));
    }

    #[test]
    fn tcp_without_a_readable_token() {
        let home = home(&[]);
        let env = FakeEnv::new()
            .with(ENV_HOME, home.path())
            .with(ENV_TARGET, "127.0.0.1:4000");
        let file = home.path().join("data").join("api-token");
        let Err(Error::Token(error)) = env.resolve(&Options::new()) else {
            panic!("no token error");
        };
        assert_eq!(error.file.as_deref(), Some(file.as_path()));
        assert!(!error.not_loopback);
        let kind = error.cause.as_ref().map(io::Error::kind);
        assert_eq!(kind, Some(io::ErrorKind::NotFound));
        let message = error.to_string();
        for words in [
            "127.0.0.1:4000",
            &file.display().to_string(),
            ENV_TOKEN_FILE,
        ] {
            assert!(
                message.contains(words),
                "{message:?} does not mention {words:?}"
            );
        }

        // An empty token file is no token.
        write(&file, "\n");
        let result = env.resolve(&Options::new());
        assert!(matches!(result, Err(Error::Token(_))), "{result:?}");
    }

    #[test]
    fn non_loopback_tcp_needs_an_explicit_token() {
        let home = home(&[]);
        let token = home.path().join("data").join("api-token");
        write(&token, "secret");
        let env = FakeEnv::new()
            .with(ENV_HOME, home.path())
            .with(ENV_TOKEN_FILE, &token);
        // The token file is never sent to another machine unasked, even when it names one.
        let remote = Options::new().target("192.0.2.7:4000");
        let Err(Error::Token(error)) = env.resolve(&remote) else {
            panic!("no token error");
        };
        assert!(
            error.not_loopback && error.to_string().contains("loopback"),
            "{error}"
        );
        let given = env.target(&remote.clone().token("t"));
        assert_eq!(given.token.as_deref(), Some("t"));
        let from_file = env.target(&remote.token_file(&token));
        assert_eq!(from_file.token.as_deref(), Some("secret"));
    }

    #[test]
    fn loopback_targets() {
        for (target, want) in [
            ("127.0.0.1:1", true),
            ("127.8.9.10:1", true),
            ("[::1]:1", true),
            ("localhost:1", true),
            ("LOCALHOST:1", true),
            ("dns:///localhost:1", true),
            ("ipv6:[::1]:1", true),
            ("127.0.0.1", true),
            ("::1", true),
            ("192.0.2.7:1", false),
            ("example.com:1", false),
            ("[::2]:1", false),
            ("0.0.0.0:1", false),
            ("", false),
        ] {
            assert_eq!(is_loopback(target), want, "{target}");
        }
    }
}
