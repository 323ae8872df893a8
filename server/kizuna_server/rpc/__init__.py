"""The local control API: thin grpc.aio servicers that validate, call the core and convert."""
