"""What every gRPC server of the daemon shares, whichever plane it serves.

The control API (`rpc`), the peer plane (`p2p`) and each capability package import these; none of
them imports another plane for it. `errors` maps error reasons to statuses and back (ErrorInfo in
the trailers); `guard` wraps every servicer method (token, shutdown gate, error mapping, in-flight
call tracking).
"""
