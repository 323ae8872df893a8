package kizuna

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func withInfo(t *testing.T, code codes.Code, info *errdetails.ErrorInfo) error {
	t.Helper()
	st, err := status.New(code, "message text").WithDetails(info)
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestErrorReason(t *testing.T) {
	notFound := withInfo(t, codes.NotFound, &errdetails.ErrorInfo{
		Domain: Domain, Reason: "PEER_NOT_FOUND", Metadata: map[string]string{"peer_id": "X"},
	})
	foreign := withInfo(t, codes.NotFound, &errdetails.ErrorInfo{Domain: "example.com", Reason: "OTHER"})
	for _, tc := range []struct {
		err    error
		reason string
	}{
		{nil, ""},
		{notFound, "PEER_NOT_FOUND"},
		{fmt.Errorf("context: %w", notFound), "PEER_NOT_FOUND"},
		{foreign, "NOT_FOUND"},
		{status.Error(codes.Unavailable, "down"), "UNAVAILABLE"},
		{status.Error(codes.DeadlineExceeded, "late"), "DEADLINE_EXCEEDED"},
		{fmt.Errorf("waiting: %w", context.DeadlineExceeded), "DEADLINE_EXCEEDED"},
		{context.Canceled, "CANCELLED"},
		{errors.New("plain"), "UNKNOWN"},
	} {
		if got := ErrorReason(tc.err); got != tc.reason {
			t.Errorf("ErrorReason(%v) = %q, want %q", tc.err, got, tc.reason)
		}
	}
	if got := ErrorMetadata(fmt.Errorf("wrapped: %w", notFound))["peer_id"]; got != "X" {
		t.Errorf("metadata peer_id = %q", got)
	}
	if ErrorMetadata(foreign) != nil || ErrorInfo(errors.New("plain")) != nil {
		t.Error("metadata from an error without kizuna.v1 ErrorInfo")
	}
}

func TestEveryCodeHasACanonicalName(t *testing.T) {
	for code := codes.OK; code <= codes.Unauthenticated; code++ {
		if codeNames[code] == "" {
			t.Errorf("no name for %v", code)
		}
	}
}
