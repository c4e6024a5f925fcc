"""`python -m demo`: run the services as separate processes, publish a simulated feed, show the result.

It prints what each service did and the released tables, and writes the HTML report of the release
(`python -m report`) to .demo/report.html.

Each service runs as in production (`python -m services.<name>`), with its HTTP port on loopback.
The feed is seeded (`--seed`, default: a fresh one per run, printed, because the exchange rightly
drops a second delivery of the same events as duplicates). The run ends when every published
message is accounted for by the services' own metrics, then prints what they did and stops them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from report.file import write_report
from schemas.exchange.aggregates import FORECASTS_TOPIC, TABLES, topic_of
from schemas.shared.resolution import RESOLVED_SITES_TOPIC, ResolvedSite
from schemas.topics import AMFORI_TOPIC, SEDEX_TOPIC
from services.aggregate.population import INPUT_KINDS as AGGREGATE_INPUT_KINDS
from services.compacted import read_compacted
from services.kafka_auth import client_options
from services.normalize.keycheck import KEY_MISMATCH_EXIT
from simulator.feed import generate_feed
from simulator.publish import publish

ROOT = Path(__file__).resolve().parents[1]
INGEST_PORT = 6066
NORMALIZE_PORT = 6067
AGGREGATE_PORT = 6068
# Why a cell that has sites shows no outcomes: its own count below outcome_min, or a cell below it that
# shows none (the recovery rule decides from populations alone: docs/aggregate.md).
WITHHELD = "outcomes withheld (it or a cell below it has fewer than outcome_min sites)"
INPUT_KINDS = frozenset(AGGREGATE_INPUT_KINDS.values())  # the normalize record kinds aggregate reads


def _samples(port: int) -> list[tuple[str, dict[str, str], float]]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0).text
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def _total(port: int, name: str) -> float:
    return sum(v for n, _, v in _samples(port) if n == name)


def _wait(what: str, check: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            if proc.returncode == KEY_MISMATCH_EXIT:
                raise SystemExit(
                    "demo: this broker already holds exchange state written under another "
                    "pseudonymisation key (a deployment's, or an older demo's), so normalize refused to "
                    "start rather than mix two keys. Run the demo on a broker of its own: "
                    "`deploy/kafka/broker.sh reset` wipes the local one, or set KAFKA_BOOTSTRAP_SERVERS "
                    "to another (a deployment moves its own state to a new key with python -m "
                    "services.rotation, docs/normalize.md). Details in .demo/normalize.log."
                )
            raise SystemExit(
                f"demo: a service exited with {proc.returncode} while waiting for {what}; see .demo/"
            )
        try:
            if check():
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)  # polling the service's HTTP endpoints
    raise SystemExit(f"demo: timed out waiting for {what}")


def _principal(name: str) -> dict[str, str]:
    """The environment that signs a process in as `name`, when the broker is secured and the local
    broker's password files are at hand (`SX_KAFKA_SECRETS`); otherwise nothing changes."""
    secrets = os.environ.get("SX_KAFKA_SECRETS")
    if os.environ.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT") == "PLAINTEXT" or not secrets:
        return {}
    password = Path(secrets) / f"{name}.password"
    if not password.exists():
        return {}
    return {"KAFKA_SASL_USERNAME": name, "KAFKA_SASL_PASSWORD_FILE": str(password)}


def _start(module: str, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    """A service as its own principal (`services.ingest` signs in as `sx-ingest`, docs/security.md)."""
    log_dir.mkdir(exist_ok=True)
    name = module.rsplit(".", 1)[-1]
    log = (log_dir / f"{name}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env={**os.environ, **env, **_principal(f"sx-{name}")},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _print_ingest(port: int) -> None:
    accepted: dict[str, dict[str, float]] = defaultdict(dict)
    dead: dict[str, float] = defaultdict(float)
    dup: dict[str, float] = defaultdict(float)
    for name, labels, value in _samples(port):
        if name == "sx_ingest_messages_accepted_total":
            accepted[labels["platform"]][labels["event_type"]] = value
        elif name == "sx_ingest_messages_dead_lettered_total" and value:
            dead[labels["reason"]] += value
        elif name == "sx_ingest_duplicates_total":
            dup[labels["platform"]] += value
    print("\ningest: accepted into exchange.ingest.accepted.v1")
    for platform in sorted(accepted):
        print(
            f"  {platform}: {int(sum(accepted[platform].values())):,} events, "
            f"{int(dup[platform]):,} redeliveries dropped"
        )
        for event_type, n in sorted(accepted[platform].items()):
            print(f"      {event_type:<26}{int(n):>8,}")
    print(f"ingest: dead-lettered to exchange.ingest.dlq.v1: {int(sum(dead.values())):,}")
    for reason, n in sorted(dead.items()):
        print(f"      {reason:<26}{int(n):>8,}")


def _print_normalize(port: int, bootstrap: str) -> None:
    produced: dict[str, float] = defaultdict(float)
    tombstones: dict[str, float] = defaultdict(float)
    resolution: dict[str, float] = defaultdict(float)
    stale = 0.0
    for name, labels, value in _samples(port):
        if name == "sx_normalize_records_produced_total":
            produced[labels["kind"]] += value
        elif name == "sx_normalize_tombstones_produced_total":
            tombstones[labels["kind"]] += value
        elif name == "sx_normalize_resolution_changes_total":
            resolution[labels["change"]] += value
        elif name == "sx_normalize_stale_events_total":
            stale += value
    print("\nnormalize: pseudonymised shared records (compacted topics exchange.normalized.*.v1)")
    for kind in sorted(produced):
        print(f"      {kind:<26}{int(produced[kind]):>8,}  ({int(tombstones[kind]):,} tombstones)")
    print(
        f"normalize: stale entity versions ignored: {int(stale):,}; resolution changes: "
        + ", ".join(f"{k} {int(v):,}" for k, v in sorted(resolution.items()))
    )
    sites = asyncio.run(read_compacted(bootstrap, RESOLVED_SITES_TOPIC))
    records = [ResolvedSite.model_validate_json(v) for v in sites.values()]
    both = sum(1 for r in records if len(r.platforms) == 2)
    print(f"normalize: {len(records):,} resolved sites now, {both:,} of them audited on both platforms")
    if records:
        sample = min(records, key=lambda r: (-len(r.platforms), r.resolved_site_id))
        print(f"      e.g. {sample.model_dump_json()[:300]}...")


DEMO_CADENCE = timedelta(minutes=1)


def _release() -> str:
    """Move aggregate's clock to the next scheduled slot after now (and after its last release).

    The demo's cadence is a minute (`DEMO_CADENCE`): published records are stamped with the release
    time, and the broker refuses timestamps more than an hour ahead of its clock
    (`log.message.timestamp.after.max.ms`). With hourly slots, a second demo in the same hour against
    the same broker had to release two hours ahead of its last release, and every attempt was refused."""
    health = httpx.get(f"http://127.0.0.1:{AGGREGATE_PORT}/health").json()
    now = datetime.now(UTC).replace(second=0, microsecond=0) + DEMO_CADENCE
    if health.get("last_release"):
        now = max(now, datetime.fromisoformat(health["last_release"]) + DEMO_CADENCE)
    httpx.post(f"http://127.0.0.1:{AGGREGATE_PORT}/clock", params={"now": now.isoformat()}).raise_for_status()
    return now.isoformat()


def _print_aggregates(bootstrap: str) -> None:
    print("\naggregate: released tables (latest message per cell; closed periods only)")
    for table in TABLES:
        cells = [json.loads(v) for v in asyncio.run(read_compacted(bootstrap, topic_of(table))).values()]
        by_period: dict[str, Counter[str]] = defaultdict(Counter)
        for c in cells:
            shown = c["measures"] is not None and all(
                v is not None for k, v in c["measures"].items() if k != "critical_missed_pct"
            )
            by_period[c["cell"]["period"]][c["status"] + (" with outcomes" if shown else "")] += 1
        print(f"  {table}: {len(cells):,} cells")
        for period in sorted(by_period):
            counts = ", ".join(f"{n:,} {what}" for what, n in sorted(by_period[period].items()))
            print(f"      {period}: {counts}")
        overall = sorted(
            (
                c
                for c in cells
                if c["cell"]["country"] == "ALL" and c["cell"].get("sector", "ALL") == "ALL" and c["measures"]
            ),
            key=lambda c: (c["cell"]["period"], c["cell"].get("issue", "")),
        )
        if table == "labour-relations":
            for c in overall:
                m = c["measures"]
                if m["sites_with_union"] is None:
                    detail = "outcomes withheld"
                else:
                    n = m["audited_sites"]
                    detail = ", ".join(
                        f"{label} {100 * m[f'sites_with_{name}'] / n:.0f}%"
                        for label, name in (
                            ("union", "union"),
                            ("worker committee", "worker_committee"),
                            ("collective agreement", "collective_agreement"),
                            ("grievance mechanism", "grievance_mechanism"),
                        )
                    )
                print(
                    f"      {c['cell']['period']} all countries and sectors: {m['audited_sites']} "
                    f"audited sites; latest audit shows {detail}"
                )
        elif table == "audit-quality":  # per firm, all countries: the firms with the most audits
            for period in sorted({c["cell"]["period"] for c in overall}):
                firms = [c for c in overall if c["measures"]["unannounced_pct"] is not None]
                rows = [c for c in firms if c["cell"]["period"] == period]
                for c in sorted(rows, key=lambda c: -c["measures"]["audits"])[:2]:
                    m = c["measures"]
                    missed = m["critical_missed_pct"]
                    print(
                        f"      {period} {c['cell']['audit_firm_name']} ({c['cell']['audit_firm']}): "
                        f"{m['audits']} audits at {m['sites']} sites, unannounced {m['unannounced_pct']}%, "
                        f"below minimum days {m['below_minimum_days_pct']}%, critical issue missed "
                        + ("(no follow-up)" if missed is None else f"{missed}%")
                    )
        elif table == "forced-labour":
            for c in overall:
                m = c["measures"]
                shown = m["sites_with_indicator"] is not None
                top = sorted(((n, k) for k, n in (m["by_indicator"] or {}).items() if n), reverse=True)[:3]
                detail = (
                    f"{m['sites_with_indicator']} with an indicator; most: "
                    + ", ".join(f"{k} {n}" for n, k in top)
                    if shown
                    else WITHHELD
                )
                print(
                    f"      {c['cell']['period']} all countries and sectors: {m['audited_sites']} "
                    f"audited sites, {detail}"
                )
        elif table == "remediation":
            for period in sorted({c["cell"]["period"] for c in overall}):
                rows = [c for c in overall if c["cell"]["period"] == period]
                with_outcomes = [c for c in rows if c["measures"]["closed"] is not None]
                findings = sum(c["measures"]["findings"] for c in rows)
                detail = ", ".join(
                    f"{c['cell']['issue']} {c['measures']['closed']} closed "
                    f"({c['measures']['closed_on_time_pct']}% on time), "
                    f"{c['measures']['open_overdue']} overdue"
                    for c in sorted(with_outcomes, key=lambda c: -c["measures"]["findings"])[:2]
                )
                print(
                    f"      {period} all countries: {findings} findings with a corrective action"
                    + (f"; {detail}" if detail else f"; {WITHHELD}")
                )
        elif table == "capacity-building":
            rated = [c for c in overall if c["measures"]["issue_rate_trained_pct"] is not None]
            for c in sorted(rated, key=lambda c: -c["measures"]["sites_trained"])[:3]:
                m = c["measures"]
                print(
                    f"      {c['cell']['period']} {c['cell']['topic']}: {m['sites_trained']} sites trained "
                    f"({m['participants']} participants); findings on it next period: trained "
                    f"{m['issue_rate_trained_pct']}%, untrained "
                    + (
                        f"{m['issue_rate_untrained_pct']}%"
                        if m["issue_rate_untrained_pct"] is not None
                        else "withheld"
                    )
                )
            if not rated:
                print("      no trained group large enough for a rate yet")
        else:
            for period in sorted({c["cell"]["period"] for c in overall}):
                rows = [
                    c
                    for c in overall
                    if c["cell"]["period"] == period and c["measures"]["rate_pct"] is not None
                ]
                leading = sorted(rows, key=lambda c: -c["measures"]["rate_pct"])[:4]
                if leading:
                    print(
                        f"      {period} most prevalent: "
                        + ", ".join(f"{c['cell']['issue']} {c['measures']['rate_pct']}%" for c in leading)
                    )
    print("  (read them yourself: " + ", ".join(topic_of(t) for t in TABLES) + ")")
    if not os.environ.get("AGGREGATE_DP_TABLES"):
        print(
            "  (few outcomes at this scale: a margin shows its outcomes only when every cell below it does,\n"
            "   and most margins here have a cell below outcome_min sites. More sites show more "
            "(bash scripts/demo --sites 3000);\n"
            "   AGGREGATE_DP_TABLES=issue-prevalence,forced-labour,labour-relations bash scripts/demo "
            "publishes them with noise)"
        )


def _print_forecasts(bootstrap: str) -> None:
    """A few of the next-period forecasts (docs/aggregate.md, "Forecasts"), if any series is long enough."""
    forecasts = [json.loads(v) for v in asyncio.run(read_compacted(bootstrap, FORECASTS_TOPIC)).values()]
    latest = max((f["cell"]["period"] for f in forecasts), default=None)
    if latest is None:
        print(f"  forecasts: none yet (a series needs 7 consecutive published periods; {FORECASTS_TOPIC})")
        return
    overall = sorted(
        (
            f
            for f in forecasts
            if f["cell"]["period"] == latest and f["cell"]["country"] == f["cell"]["sector"] == "ALL"
        ),
        key=lambda f: -f["rate_pct"],
    )[:3]
    print(
        f"  forecasts for {latest} ({len(forecasts):,} on {FORECASTS_TOPIC}), all countries and sectors: "
        + ", ".join(
            f"{f['cell']['issue']} {f['rate_pct']}% [{f['lower_80']}, {f['upper_80']}]" for f in overall
        )
    )


def _healthy(port: int, role: str | None = None) -> bool:
    """The service answers healthy (in `role`, if given: a normalize process answers as a standby first,
    from the standby's own endpoints, until it takes the lease and its worker serves the port)."""
    response = httpx.get(f"http://127.0.0.1:{port}/health")
    return response.status_code == 200 and (role is None or response.json().get("role") == role)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--sites", type=int, default=300, help="sites per platform")
    parser.add_argument("--months", type=int, default=12)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 10**6)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    logs = ROOT / ".demo"
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INGEST_WEB_PORT": str(INGEST_PORT),
        "INGEST_LOG_LEVEL": "warning",
        "NORMALIZE_WEB_PORT": str(NORMALIZE_PORT),
        "NORMALIZE_LOG_LEVEL": "warning",
        # Synthetic data: the public demo key is fine here, and normalize says so in its log.
        "NORMALIZE_DEMO_MODE": "1",
        "AGGREGATE_WEB_PORT": str(AGGREGATE_PORT),
        "AGGREGATE_LOG_LEVEL": "warning",
        # The simulated year is in the past: hold aggregate's clock before it, let the feed through,
        # then move the clock to the next scheduled slot so the release sees everything.
        "AGGREGATE_NOW": "2020-01-01T00:00:00Z",
        "AGGREGATE_MANUAL_CLOCK": "true",
        "AGGREGATE_TICK_SECONDS": "0.5",
        "AGGREGATE_CADENCE_SECONDS": str(int(DEMO_CADENCE.total_seconds())),
    }
    ingest = _start("services.ingest", env, logs)
    normalize = _start("services.normalize", env, logs)
    aggregate = _start("services.aggregate", env, logs)
    try:
        _wait("ingest to be healthy", lambda: _healthy(INGEST_PORT), 120, ingest)
        _wait("normalize to be active", lambda: _healthy(NORMALIZE_PORT, "active"), 120, normalize)
        _wait("aggregate to be healthy", lambda: _healthy(AGGREGATE_PORT), 120, aggregate)
        aggregated_before = _total(AGGREGATE_PORT, "sx_aggregate_records_consumed_total")
        produced_before = sum(
            v
            for n, labels, v in _samples(NORMALIZE_PORT)
            if n == "sx_normalize_records_produced_total" and labels["kind"] in INPUT_KINDS
        )
        consumed_before = _total(INGEST_PORT, "sx_ingest_messages_consumed_total")
        accepted_before = _total(INGEST_PORT, "sx_ingest_messages_accepted_total")
        normalized_before = _total(NORMALIZE_PORT, "sx_normalize_events_consumed_total")
        feed = generate_feed(seed, args.sites, months=args.months)
        print(
            f"demo: seed {seed}: {len(feed.messages):,} messages from {args.sites} sites per platform "
            f"over {args.months} months (both platforms, with redeliveries, stale versions and "
            "malformed messages)"
        )
        # Each platform publishes its own feed as itself: the broker's ACLs let each write only its topic.
        result = {"sent": 0, "seconds": 0.0}
        for platform, topic in (("sedex", SEDEX_TOPIC), ("amfori", AMFORI_TOPIC)):
            security = client_options({**os.environ, **_principal(platform)})
            own = [m for m in feed.messages if m.topic == topic]
            done = asyncio.run(publish(own, bootstrap, security=security))
            result["sent"] += done["sent"]
            result["seconds"] += done["seconds"]
        print(f"demo: published {result['sent']:,} messages in {result['seconds']:.1f} s")
        target = consumed_before + result["sent"]
        _wait(
            "ingest to read every message",
            lambda: _total(INGEST_PORT, "sx_ingest_messages_consumed_total") >= target,
            600,
            ingest,
        )
        accepted = _total(INGEST_PORT, "sx_ingest_messages_accepted_total") - accepted_before
        _wait(
            "normalize to read every accepted event",
            lambda: (
                _total(NORMALIZE_PORT, "sx_normalize_events_consumed_total") - normalized_before >= accepted
            ),
            600,
            normalize,
        )
        produced = (
            sum(
                v
                for n, labels, v in _samples(NORMALIZE_PORT)
                if n == "sx_normalize_records_produced_total" and labels["kind"] in INPUT_KINDS
            )
            - produced_before
        )
        _wait(
            "aggregate to read every normalised record",
            lambda: (
                _total(AGGREGATE_PORT, "sx_aggregate_records_consumed_total") - aggregated_before >= produced
            ),
            600,
            aggregate,
        )
        at = _release()
        _wait(
            "the release",
            lambda: httpx.get(f"http://127.0.0.1:{AGGREGATE_PORT}/health").json().get("last_release") == at,
            600,
            aggregate,
        )
        _print_ingest(INGEST_PORT)
        _print_normalize(NORMALIZE_PORT, bootstrap)
        _print_aggregates(bootstrap)
        _print_forecasts(bootstrap)
        report = write_report(bootstrap, logs / "report.html")
        print(f"\ndemo: the report of the release (python -m report): {report}")
        print(
            f"\ndemo: service logs in {logs}; /metrics on ports {INGEST_PORT}, {NORMALIZE_PORT} "
            f"and {AGGREGATE_PORT} while running"
        )
    finally:
        for proc in (ingest, normalize, aggregate):
            proc.send_signal(signal.SIGTERM)
        for proc in (ingest, normalize, aggregate):
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
