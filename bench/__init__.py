"""Benchmarks against the real broker; they print figures and assert nothing about speed (see
bench.harness).

Each command is one module run with `python -m bench.<name>`: passthrough (the baseline), ingest,
normalize, aggregate, backfill (the three services end to end), burst, hostile, chaos, rotation,
utility, noise, forecast, mutation. What they share, one idea a module:

- harness: measurement (memory, percentiles, Result and the aligned table, throw-away topics, the
  stamped input producer);
- service: a service under test in its own process (environment, start, readiness, stop, metrics);
- output: reading what the processor under test wrote (latencies, the timed send-and-read, counts);
- command: the command line of the broker benches, and the whole command of a service beside the
  baseline;
- accepted: ingest's accepted envelopes for the simulator's feed, computed in process;
- inprocess: normalize's records, aggregate's state and its first release, computed in process;
- ingest_service: ingest under test (its private topics, waiting until it has read n messages);
- aggregate_service: the aggregate service's run for bench.aggregate (consume, then release);
- plan_at_scale: the in-process plan timed, with its memory.
"""
