//! A connection to the daemon with one stub per service.

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Request, Status};

use crate::errors::Error;
use crate::target::{resolve_target, Options, Target};
use crate::v1::command_service_client::CommandServiceClient;
use crate::v1::event_service_client::EventServiceClient;
use crate::v1::node_service_client::NodeServiceClient;
use crate::v1::peer_service_client::PeerServiceClient;
use crate::v1::plugin_service_client::PluginServiceClient;
use crate::v1::stream_service_client::StreamServiceClient;
use crate::v1::transfer_service_client::TransferServiceClient;
use crate::v1::GetNodeRequest;

/// The largest response a [`Client`] accepts, as in the Python and Go clients.
pub const MAX_RECEIVE_BYTES: usize = 8 * 1024 * 1024;

/// Presents the API token as `authorization: Bearer <token>` on every call (TCP targets);
/// adds nothing on a Unix socket, whose file mode is the access check. Transport security is
/// not required: the TCP API listens on loopback, where the token (not TLS) keeps other users
/// out.
#[derive(Clone, Default)]
pub struct Bearer {
    value: Option<AsciiMetadataValue>,
}

impl Bearer {
    /// An interceptor presenting `token`; `None` adds nothing.
    pub fn new(token: Option<&str>) -> Result<Bearer, Error> {
        let Some(token) = token else {
            return Ok(Bearer { value: None });
        };
        let mut value = AsciiMetadataValue::try_from(format!("Bearer {token}")).map_err(|_| {
            Error::Target("the API token holds characters a header cannot carry".into())
        })?;
        value.set_sensitive(true);
        Ok(Bearer { value: Some(value) })
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.value {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// What every stub of a [`Client`] calls through: the channel with the [`Bearer`] interceptor.
pub type Connection = InterceptedService<Channel, Bearer>;

/// A connection to the daemon with one stub per service. Cloning is cheap and shares the
/// connection; the stubs' methods take `&mut self`, so clone a stub to call it from several
/// tasks at once.
#[derive(Clone)]
pub struct Client {
    /// Where the client connects and how it was found.
    pub target: Target,
    /// The underlying channel (without the token interceptor).
    pub channel: Channel,
    /// `kizuna.v1.NodeService`.
    pub node: NodeServiceClient<Connection>,
    /// `kizuna.v1.PeerService`.
    pub peers: PeerServiceClient<Connection>,
    /// `kizuna.v1.TransferService`.
    pub transfers: TransferServiceClient<Connection>,
    /// `kizuna.v1.StreamService`.
    pub streams: StreamServiceClient<Connection>,
    /// `kizuna.v1.CommandService`.
    pub commands: CommandServiceClient<Connection>,
    /// `kizuna.v1.PluginService`.
    pub plugins: PluginServiceClient<Connection>,
    /// `kizuna.v1.EventService`.
    pub events: EventServiceClient<Connection>,
}

impl Client {
    /// Resolves the target (see [`resolve_target`]) and returns a client without contacting the
    /// daemon: the connection is made by the first call. Must be called inside a Tokio runtime.
    pub fn new(options: &Options) -> Result<Client, Error> {
        let target = resolve_target(options)?;
        let channel = match &target.socket {
            Some(socket) => {
                let socket = socket.clone();
                // The URI only names the HTTP/2 authority; the connector ignores it.
                Endpoint::from_static("http://localhost").connect_with_connector_lazy(
                    tower::service_fn(move |_: Uri| {
                        let socket = socket.clone();
                        async move { UnixStream::connect(socket).await.map(TokioIo::new) }
                    }),
                )
            }
            None => Endpoint::from_shared(format!("http://{}", target.address))
                .map_err(|e| Error::Target(format!("target {}: {e}", target.address)))?
                .connect_lazy(),
        };
        let connection =
            InterceptedService::new(channel.clone(), Bearer::new(target.token.as_deref())?);
        Ok(Client {
            target,
            channel,
            node: NodeServiceClient::new(connection.clone())
                .max_decoding_message_size(MAX_RECEIVE_BYTES),
            peers: PeerServiceClient::new(connection.clone())
                .max_decoding_message_size(MAX_RECEIVE_BYTES),
            transfers: TransferServiceClient::new(connection.clone())
                .max_decoding_message_size(MAX_RECEIVE_BYTES),
            streams: StreamServiceClient::new(connection.clone())
                .max_decoding_message_size(MAX_RECEIVE_BYTES),
            commands: CommandServiceClient::new(connection.clone())
                .max_decoding_message_size(MAX_RECEIVE_BYTES),
            plugins: PluginServiceClient::new(connection.clone())
                .max_decoding_message_size(MAX_RECEIVE_BYTES),
            events: EventServiceClient::new(connection)
                .max_decoding_message_size(MAX_RECEIVE_BYTES),
        })
    }

    /// [`Client::new`] followed by one `GetNode` call, so a daemon that is not running
    /// (reason `UNAVAILABLE`) or a wrong token (`API_TOKEN_INVALID`) is reported here rather
    /// than by the first real call.
    pub async fn dial(options: &Options) -> Result<Client, Error> {
        let mut client = Client::new(options)?;
        if let Err(status) = client.node.get_node(GetNodeRequest {}).await {
            return Err(Error::Daemon {
                target: client.target.to_string(),
                source: client.target.source,
                status,
            });
        }
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dial_reports_a_missing_daemon() {
        let dir = std::env::temp_dir().join(format!("kizuna-client-dial-{}", std::process::id()));
        let options = Options::new().home(&dir);
        let error = match Client::dial(&options).await {
            Ok(_) => panic!("dial succeeded with no daemon"),
            Err(error) => error,
        };
        assert_eq!(error.reason(), "UNAVAILABLE", "{error}");
        assert!(error.to_string().contains("kizuna.sock"), "{error}");
    }

    #[tokio::test]
    async fn the_token_travels_as_a_sensitive_header() {
        let mut bearer = Bearer::new(Some("abc")).unwrap();
        let request = bearer.call(Request::new(())).unwrap();
        let value = request.metadata().get("authorization").unwrap();
        assert_eq!(value.to_str().unwrap(), "Bearer abc");
        assert!(value.is_sensitive());
        let mut none = Bearer::new(None).unwrap();
        let request = none.call(Request::new(())).unwrap();
        assert!(request.metadata().get("authorization").is_none());
        assert!(Bearer::new(Some("bad\ntoken")).is_err());
    }
}
