"""Domain state and rules: events, peers, trust, transfers, streams, commands.

Nothing here does I/O or imports asyncio, grpc or zeroconf; time is passed in as `now`.
"""
