//! Sends bytes this program reads itself (the daemon need not see the file) to a paired peer
//! with `TransferService.UploadTransfer`, a bidirectional call: the header goes first, the
//! daemon's first answer (`started`) gives the transfer's ID and where each file stands, the
//! chunks follow from that offset, and once this side is closed the daemon's last answer
//! (`finished`) gives the transfer as it stands then.
//!
//! ```text
//! upload PEER_ID NAME FILE
//! ```
//!
//! NAME is the file's name inside the transfer (what the peer saves). It prints, one per line,
//! `started <transfer_id> <offset>` and `finished <transfer_id> <STATE>` (the transfer's state
//! then, for example `TRANSFERRING` while the peer still receives, or `COMPLETED`), and exits 0;
//! 1 when a call fails or the transfer already failed or was cancelled.

use std::io::SeekFrom;
use std::process::ExitCode;

use kizuna_client::v1::transfer::State;
use kizuna_client::v1::upload_transfer_request::Part as Sent;
use kizuna_client::v1::upload_transfer_response::Part as Answer;
use kizuna_client::v1::{UploadChunk, UploadFile, UploadHeader, UploadTransferRequest};
use kizuna_client::{error_reason, Client, Options};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

/// The largest chunk the daemon accepts.
const CHUNK: usize = 4 * 1024 * 1024;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [peer_id, name, file] = args.as_slice() else {
        eprintln!("usage: upload PEER_ID NAME FILE");
        return ExitCode::from(2);
    };
    let client = match Client::dial(&Options::new()).await {
        Ok(client) => client,
        Err(error) => {
            eprintln!("upload: connecting: {}: {error}", error.reason());
            return ExitCode::FAILURE;
        }
    };
    match upload(client, peer_id, name, file).await {
        Ok(code) => code,
        Err(status) => {
            eprintln!("upload: {}: {}", error_reason(&status), status.message());
            ExitCode::FAILURE
        }
    }
}

async fn upload(
    mut client: Client,
    peer_id: &str,
    name: &str,
    file: &str,
) -> Result<ExitCode, Status> {
    let local = |e: std::io::Error| Status::invalid_argument(format!("{file}: {e}"));
    let mut source = tokio::fs::File::open(file).await.map_err(local)?;
    let size = source.metadata().await.map_err(local)?.len();

    // What this side sends goes through a channel the call reads from; the header first.
    let (requests, outgoing) = mpsc::channel(2);
    let header = UploadHeader {
        peer_id: peer_id.to_string(),
        files: vec![UploadFile {
            path: name.to_string(),
            size,
            ..Default::default()
        }],
        ..Default::default()
    };
    let send = |part| UploadTransferRequest { part: Some(part) };
    let closed = || Status::cancelled("the call ended while sending");
    requests
        .send(send(Sent::Header(header)))
        .await
        .map_err(|_| closed())?;
    let mut answers = client
        .transfers
        .upload_transfer(ReceiverStream::new(outgoing))
        .await?
        .into_inner();

    // The first answer: the transfer's ID and how much of the file the daemon already holds
    // (zero for a new upload, more when continuing one).
    let Some(Answer::Started(started)) = answers.message().await?.and_then(|a| a.part) else {
        return Err(Status::internal(
            "the daemon's first answer was not `started`",
        ));
    };
    let mut offset = started.offsets.first().copied().unwrap_or(0);
    println!("started {} {offset}", started.transfer_id);

    source.seek(SeekFrom::Start(offset)).await.map_err(local)?;
    loop {
        let mut data = Vec::with_capacity(CHUNK);
        (&mut source)
            .take(CHUNK as u64)
            .read_to_end(&mut data)
            .await
            .map_err(local)?;
        if data.is_empty() {
            break;
        }
        let length = data.len() as u64;
        let chunk = UploadChunk {
            file_index: 0,
            offset,
            data,
        };
        if requests.send(send(Sent::Chunk(chunk))).await.is_err() {
            break; // the call ended: its status comes with the next answer
        }
        offset += length;
    }
    // Closing this side tells the daemon every byte was sent.
    drop(requests);

    let Some(Answer::Finished(transfer)) = answers.message().await?.and_then(|a| a.part) else {
        return Err(Status::internal(
            "the daemon's last answer was not `finished`",
        ));
    };
    let state = transfer.state();
    let name = state.as_str_name();
    println!(
        "finished {} {}",
        transfer.id,
        name.strip_prefix("STATE_").unwrap_or(name)
    );
    Ok(match state {
        State::Failed | State::Cancelled => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}
