//! Reading why a call failed: the `google.rpc.ErrorInfo` every error of the daemon carries.

use std::collections::HashMap;
use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetail, ErrorDetails, ErrorInfo, StatusExt};

use crate::target::{Source, TokenError};

/// The `google.rpc.ErrorInfo` domain of every error the daemon returns.
pub const DOMAIN: &str = "kizuna.v1";

/// The `google.rpc.ErrorInfo` of domain `kizuna.v1` that `status` carries (decoded from the
/// `grpc-status-details-bin` trailer), if any.
pub fn error_info(status: &Status) -> Option<ErrorInfo> {
    status
        .get_error_details_vec()
        .into_iter()
        .find_map(|detail| match detail {
            ErrorDetail::ErrorInfo(info) if info.domain == DOMAIN => Some(info),
            _ => None,
        })
}

/// What to branch on when a call fails: the `ErrorInfo` reason the daemon sent
/// (`"PEER_NOT_FOUND"`, see docs/errors.md), else the gRPC code's canonical name
/// (`"UNAVAILABLE"` when the daemon cannot be reached, `"DEADLINE_EXCEEDED"`, ...). Never the
/// message text.
pub fn error_reason(status: &Status) -> String {
    match error_info(status) {
        Some(info) if !info.reason.is_empty() => info.reason,
        _ => code_name(status.code()).to_string(),
    }
}

/// The `ErrorInfo` metadata `status` carries (keys per reason in docs/errors.md, for example
/// `peer_id`); empty without a `kizuna.v1` `ErrorInfo`.
pub fn error_metadata(status: &Status) -> HashMap<String, String> {
    error_info(status)
        .map(|info| info.metadata)
        .unwrap_or_default()
}

/// The canonical name of a gRPC status code, as in the status-code table of docs/errors.md
/// (`NOT_FOUND`; `Code`'s `Debug` gives `NotFound`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Why the client could not find or reach the daemon.
#[derive(Debug)]
pub enum Error {
    /// The layout could not be worked out (no home directory).
    Home(String),
    /// The target is malformed (`unix:` without a path).
    Target(String),
    /// A TCP target has no API token.
    Token(TokenError),
    /// The daemon did not answer `Client::dial`'s first call: not running (`UNAVAILABLE`), or a
    /// wrong token (`API_TOKEN_INVALID`).
    Daemon {
        /// The target, as people write it.
        target: String,
        /// Which step of the rule chose it.
        source: Source,
        /// The call's status.
        status: Status,
    },
}

impl Error {
    /// What to branch on, as [`error_reason`] says for a call: the daemon's reason for
    /// [`Error::Daemon`], `INVALID_ARGUMENT` for the rest (as the Python client says).
    pub fn reason(&self) -> String {
        match self {
            Error::Daemon { status, .. } => error_reason(status),
            _ => code_name(Code::InvalidArgument).to_string(),
        }
    }

    /// The status of a failed call, for [`Error::Daemon`].
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Daemon { status, .. } => Some(status),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Home(why) | Error::Target(why) => write!(f, "kizuna: {why}"),
            Error::Token(error) => error.fmt(f),
            Error::Daemon {
                target,
                source,
                status,
            } => write!(
                f,
                "kizuna: daemon at {target} ({source}): {}: {}",
                error_reason(status),
                status.message()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Token(error) => Some(error),
            Error::Daemon { status, .. } => Some(status),
            _ => None,
        }
    }
}

/// A status that reads like the daemon's own: the call's for [`Error::Daemon`], else
/// `INVALID_ARGUMENT` with a `kizuna.v1` ErrorInfo (metadata `field`: `token` or `target`).
impl From<Error> for Status {
    fn from(error: Error) -> Status {
        let field = match &error {
            Error::Daemon { status, .. } => return status.clone(),
            Error::Token(_) => "token",
            Error::Home(_) | Error::Target(_) => "target",
        };
        let metadata = HashMap::from([("field".to_string(), field.to_string())]);
        let details = ErrorDetails::with_error_info("INVALID_ARGUMENT", DOMAIN, metadata);
        Status::with_error_details(Code::InvalidArgument, error.to_string(), details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_info(code: Code, reason: &str, domain: &str) -> Status {
        let metadata = HashMap::from([("peer_id".to_string(), "X".to_string())]);
        let details = ErrorDetails::with_error_info(reason, domain, metadata);
        Status::with_error_details(code, "message text", details)
    }

    #[test]
    fn reason_from_error_info() {
        let not_found = with_info(Code::NotFound, "PEER_NOT_FOUND", DOMAIN);
        assert_eq!(error_reason(&not_found), "PEER_NOT_FOUND");
        assert_eq!(error_metadata(&not_found)["peer_id"], "X");
    }

    #[test]
    fn code_name_without_a_kizuna_error_info() {
        let foreign = with_info(Code::NotFound, "OTHER", "example.com");
        assert_eq!(error_reason(&foreign), "NOT_FOUND");
        assert!(error_metadata(&foreign).is_empty());
        assert_eq!(error_reason(&Status::unavailable("down")), "UNAVAILABLE");
        assert_eq!(
            error_reason(&Status::deadline_exceeded("late")),
            "DEADLINE_EXCEEDED"
        );
        assert_eq!(error_reason(&Status::cancelled("gone")), "CANCELLED");
    }

    #[test]
    fn every_code_has_a_canonical_name() {
        for value in 0..=16 {
            let name = code_name(Code::from_i32(value));
            let upper = name.chars().all(|c| c.is_ascii_uppercase() || c == '_');
            assert!(upper, "{value}: {name}");
        }
    }

    #[test]
    fn resolving_errors_read_as_invalid_argument() {
        let error = Error::Target("target \"unix:\" names no socket path".into());
        assert_eq!(error.reason(), "INVALID_ARGUMENT");
        let status = Status::from(error);
        assert_eq!(error_reason(&status), "INVALID_ARGUMENT");
        assert_eq!(error_metadata(&status)["field"], "target");
        assert!(status.message().contains("names no socket path"));
        let daemon = Error::Daemon {
            target: "unix:/x.sock".into(),
            source: Source::Default,
            status: with_info(Code::Unauthenticated, "API_TOKEN_INVALID", DOMAIN),
        };
        assert_eq!(daemon.reason(), "API_TOKEN_INVALID");
        let message = daemon.to_string();
        assert!(
            message.contains("unix:/x.sock (default socket): API_TOKEN_INVALID"),
            "{message}"
        );
    }
}
