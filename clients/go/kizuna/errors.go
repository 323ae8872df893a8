package kizuna

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Domain is the google.rpc.ErrorInfo domain of every error the daemon returns.
const Domain = "kizuna.v1"

// ErrorInfo is the google.rpc.ErrorInfo of domain kizuna.v1 that err carries (also when err
// wraps a gRPC status error), or nil.
func ErrorInfo(err error) *errdetails.ErrorInfo {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return nil
	}
	for _, detail := range st.Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok && info.GetDomain() == Domain {
			return info
		}
	}
	return nil
}

// ErrorReason is what to branch on when a call fails: the ErrorInfo reason the daemon sent
// ("PEER_NOT_FOUND", see docs/errors.md), else the gRPC code's canonical name ("UNAVAILABLE"
// when the daemon cannot be reached, "DEADLINE_EXCEEDED", ...). It is "" for a nil error and
// "UNKNOWN" for an error that is neither a gRPC status nor a context error.
func ErrorReason(err error) string {
	if err == nil {
		return ""
	}
	if info := ErrorInfo(err); info != nil && info.GetReason() != "" {
		return info.GetReason()
	}
	if _, ok := status.FromError(err); !ok {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return codeNames[codes.DeadlineExceeded]
		case errors.Is(err, context.Canceled):
			return codeNames[codes.Canceled]
		}
	}
	code := status.Code(err)
	if name, ok := codeNames[code]; ok {
		return name
	}
	return code.String()
}

// ErrorMetadata is the ErrorInfo metadata err carries (keys per reason in docs/errors.md, for
// example "peer_id"), or nil.
func ErrorMetadata(err error) map[string]string {
	return ErrorInfo(err).GetMetadata()
}

// codeNames are the canonical gRPC code names, as in the status-code table of docs/errors.md
// (codes.Code.String gives "NotFound" instead).
var codeNames = map[codes.Code]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// TokenError says why a TCP target has no API token. Like the Python client's error for the
// same case it reads as INVALID_ARGUMENT with metadata field=token through ErrorReason and
// ErrorMetadata; errors.As finds it, and errors.Is sees the file error it wraps
// (fs.ErrNotExist, fs.ErrPermission).
type TokenError struct {
	// Target is the TCP target that needs the token.
	Target string
	// NotLoopback is set when the token was not read from a file because the target is not a
	// loopback address (a token file is read automatically only for loopback targets).
	NotLoopback bool
	// File is the token file that could not be used.
	File string
	// Err is why File could not be used.
	Err error
}

func (e *TokenError) Error() string {
	if e.NotLoopback {
		return fmt.Sprintf("kizuna: %s is not a loopback address: the API token is read from its file "+
			"only for loopback targets; pass the token explicitly (WithToken, WithTokenFile)", e.Target)
	}
	why := e.Err
	var pathErr *fs.PathError
	if errors.As(why, &pathErr) {
		why = pathErr.Err // the path is in the message already
	}
	return fmt.Sprintf("kizuna: TCP target %s needs the API token; cannot read %s (%v); "+
		"pass the token explicitly (WithToken, WithTokenFile) or set %s", e.Target, e.File, why, EnvTokenFile)
}

func (e *TokenError) Unwrap() error { return e.Err }

// GRPCStatus makes the error read like the daemon's own INVALID_ARGUMENT for field "token".
func (e *TokenError) GRPCStatus() *status.Status {
	st := status.New(codes.InvalidArgument, e.Error())
	detailed, err := st.WithDetails(&errdetails.ErrorInfo{
		Reason:   "INVALID_ARGUMENT",
		Domain:   Domain,
		Metadata: map[string]string{"field": "token"},
	})
	if err != nil {
		return st
	}
	return detailed
}
