//! Sends one file to a paired peer and follows it to the end: the example every Kizuna client
//! language ships (docs/api-other-languages.md), in Rust.
//!
//! ```text
//! send_and_follow PEER_ID FILE
//! ```
//!
//! It prints, one per line:
//!
//! ```text
//! peer <id> <connected>          for each peer ListPeers returns (connected: true or false)
//! error <REASON>                 for GetPeer of an unknown ID, the google.rpc.ErrorInfo reason
//! transfer <id>                  once CreateTransfer answers
//! progress <bytes_done> <total>  for each transfer_progress event of that transfer
//! completed <id> <bytes>         and exits 0
//! ```
//!
//! A transfer that fails or is cancelled prints `failed <id> <REASON> <message>` or
//! `cancelled <id> <REASON>` and exits 1. It subscribes to events, and waits for the
//! subscription's start message, before it sends, so no event of its transfer can be missed.
//! The daemon is found like every Kizuna client finds it: `$KIZUNA_TARGET`, else
//! `$KIZUNA_HOME`'s daemon.json, else the default socket; over TCP the API token is presented.

use std::fmt::Display;
use std::path::Path;
use std::process::ExitCode;

use kizuna_client::v1::event::Payload;
use kizuna_client::v1::peer::Connection;
use kizuna_client::v1::transfer::State;
use kizuna_client::v1::{
    CreateTransferRequest, EventType, GetPeerRequest, GetTransferRequest, ListPeersRequest,
    SubscribeEventsRequest, Transfer,
};
use kizuna_client::{error_reason, Client, Options};
use tonic::Status;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [peer_id, file] = args.as_slice() else {
        eprintln!("usage: send_and_follow PEER_ID FILE");
        return ExitCode::from(2);
    };
    // The daemon reads the file itself: it needs an absolute path.
    let path = match std::path::absolute(Path::new(file)) {
        Ok(path) => path.to_string_lossy().into_owned(),
        Err(error) => return fail("FILE", "INVALID_ARGUMENT", error),
    };
    let client = match Client::dial(&Options::new()).await {
        Ok(client) => client,
        Err(error) => return fail("connecting", &error.reason(), error),
    };
    match run(client, peer_id, path).await {
        Ok(code) => code,
        Err((step, status)) => fail(step, &error_reason(&status), status.message()),
    }
}

/// A failed call: which step and its status.
type Failed = (&'static str, Status);

async fn run(mut client: Client, peer_id: &str, path: String) -> Result<ExitCode, Failed> {
    // Every peer, page by page.
    let mut request = ListPeersRequest::default();
    loop {
        let listed = client
            .peers
            .list_peers(request.clone())
            .await
            .map_err(|s| ("ListPeers", s))?
            .into_inner();
        for peer in &listed.peers {
            let connected = peer.connection() == Connection::Connected;
            println!("peer {} {connected}", peer.device_id);
        }
        if listed.next_page_token.is_empty() {
            break;
        }
        request.page_token = listed.next_page_token;
    }

    // A failed call: branch on its reason, never on the message.
    let unknown = GetPeerRequest {
        peer_id: "A".repeat(52), // well-formed (52 base32 characters), known to no daemon
    };
    match client.peers.get_peer(unknown).await {
        Err(status) => println!("error {}", error_reason(&status)),
        Ok(_) => {
            eprintln!("send_and_follow: GetPeer of an unknown ID succeeded");
            return Ok(ExitCode::FAILURE);
        }
    }

    // Subscribe first, and wait until the daemon registered the subscription (its start
    // message): every event published after that reaches this stream.
    let types = [
        EventType::TransferProgress,
        EventType::TransferCompleted,
        EventType::TransferFailed,
        EventType::TransferCancelled,
    ];
    let subscribe = SubscribeEventsRequest {
        types: types.into_iter().map(i32::from).collect(),
        ..Default::default()
    };
    let mut stream = client
        .events
        .subscribe_events(subscribe)
        .await
        .map_err(|s| ("SubscribeEvents", s))?
        .into_inner();
    loop {
        match stream.message().await.map_err(|s| ("SubscribeEvents", s))? {
            Some(response) if response.start.is_some() => break,
            Some(_) => continue,
            None => return Err(("SubscribeEvents", Status::unavailable("the stream ended"))),
        }
    }

    let create = CreateTransferRequest {
        peer_id: peer_id.to_string(),
        paths: vec![path],
        ..Default::default()
    };
    let created = client
        .transfers
        .create_transfer(create)
        .await
        .map_err(|s| ("CreateTransfer", s))?
        .into_inner();
    let id = created.transfer.unwrap_or_default().id;
    println!("transfer {id}");

    // Events of this transfer that arrived while CreateTransfer was answering wait in the
    // stream, in order.
    let step = "the event stream ended before the transfer did";
    loop {
        let Some(response) = stream.message().await.map_err(|s| (step, s))? else {
            return Err((step, Status::unavailable("the daemon closed the stream")));
        };
        if response.gap.is_some() {
            // Events were lost (this subscriber fell behind): the end may be among them, so
            // read the transfer's state instead.
            let request = GetTransferRequest {
                transfer_id: id.clone(),
            };
            let got = client
                .transfers
                .get_transfer(request)
                .await
                .map_err(|s| ("GetTransfer", s))?
                .into_inner();
            if let Some(code) = got.transfer.as_ref().and_then(ended) {
                return Ok(code);
            }
        }
        for event in response.events {
            let transfer = match event.payload {
                Some(Payload::TransferProgress(progress)) if progress.transfer_id == id => {
                    println!("progress {} {}", progress.bytes_done, progress.total_bytes);
                    continue;
                }
                Some(Payload::TransferCompleted(event)) => event.transfer,
                Some(Payload::TransferFailed(event)) => event.transfer,
                Some(Payload::TransferCancelled(event)) => event.transfer,
                _ => None,
            };
            if let Some(code) = transfer.filter(|t| t.id == id).as_ref().and_then(ended) {
                return Ok(code);
            }
        }
    }
}

/// For a transfer in a final state, prints how it ended and gives the exit code; `None` while
/// it is still going.
fn ended(transfer: &Transfer) -> Option<ExitCode> {
    let error = transfer.error.clone().unwrap_or_default();
    // The reason as docs/errors.md names it ("PEER_UNREACHABLE").
    let name = error.reason().as_str_name();
    let reason = name.strip_prefix("ERROR_REASON_").unwrap_or(name);
    match transfer.state() {
        State::Completed => {
            println!("completed {} {}", transfer.id, transfer.bytes_done);
            Some(ExitCode::SUCCESS)
        }
        State::Failed => {
            println!("failed {} {reason} {}", transfer.id, error.message);
            Some(ExitCode::FAILURE)
        }
        State::Cancelled => {
            println!("cancelled {} {reason}", transfer.id);
            Some(ExitCode::FAILURE)
        }
        _ => None,
    }
}

/// Reports a failed step with its reason and exits 1.
fn fail(step: &str, reason: &str, error: impl Display) -> ExitCode {
    eprintln!("send_and_follow: {step}: {reason}: {error}");
    ExitCode::FAILURE
}
