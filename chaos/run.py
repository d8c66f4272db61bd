"""The fault harness: many booking events through the whole product while everything breaks.

    .venv/bin/python chaos/run.py                    # 2000 events, 3 worker kills (make chaos)
    .venv/bin/python chaos/run.py --events 300 --kills 1 --timeout 150   # the CI short run

A private stack (``chaos.stack``: fresh database, private redis-server, both CRM sandboxes,
gunicorn, Celery workers) receives signed webhooks over HTTP from the three booking sources
(OnceHub, Calendly, Cal.com, each booking from one of them, each delivery signed as its source
signs): mixed lifecycle sequences over many bookings, Calendly's reschedules as its two events
(the old invitee canceled, the new one created), 10% of deliveries duplicated and 5% reordered,
and a share of poison bookings (``--poison``, 3%, OnceHub's): signed, well-formed deliveries that
intake accepts but processing cannot handle (a planted bug, ``chaos.poison``). The sandboxes
inject 5xx, 429 (a per-second quota), dropped connections and timeouts; every access token is
expired mid-run; workers are SIGKILLed (and replaced, as a supervisor would) several times; the
broker is stopped and started once, losing every queued message. The harness plays Celery beat
(``requeue_stalled`` + ``run_due_jobs`` every 2 s, with short thresholds).

At the end it compares each sandbox's records with the state the events imply — one contact per
booking, carrying the customer's email and the booking's final lifecycle action — and prints
lost / duplicated / wrong (all must be 0) and the time the system took to converge. Every poison
event must end quarantined (and nothing else); its booking counts as neither lost nor wrong
then — a CRM record of it would be wrong. Exit code 0 only when all of that holds.

The CRM writes go through the harness connector kinds (``chaos.kinds``, one per sandbox), which
follow the same rules as the real integrations (throttle, typed errors, intent + link). Their
expected state is simple and exact; the real ``keap`` / ``salesforce`` / ``hubspot`` kinds
(``--real``) map bookings to many objects whose expected shape is theirs to define.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402

from chaos.stack import Stack, elapsed  # noqa: E402

SECRET = "whsec-chaos-0123456789abcdef"
#: The signing secrets of the account's other booking sources (``SourceConnection``).
SOURCE_SECRETS = {"calendly": "calendly-chaos-0123456789abcdef", "calcom": "calcom-chaos-0123456789abcdef"}
SOURCES = ("oncehub", "calendly", "calcom")
HARNESS_ENV = {
    "SYNC_JOB_LEASE_SECONDS": "20",
    "SYNC_DISPATCH_GRACE_SECONDS": "8",
    "SYNC_CIRCUIT_PAUSE": "3",
    "SYNC_THROTTLE_MAX_INLINE_WAIT": "5",
    "INTAKE_REQUEUE_AFTER_SECONDS": "20",
}
#: With poison events: the planted bug in every process, and quick retries of failed processing,
#: so a poison event reaches its quarantine (5 attempts) within seconds.
POISON_ENV = {"CHAOS_PLANTED_BUG": "1", "INTAKE_PROCESSING_RETRY_SECONDS": "0.25"}
FAULTS = {"error_rate": 0.05, "drop_rate": 0.01, "timeout_rate": 0.01, "timeout_seconds": 11,
          "quota_rps": 40}


@dataclass
class Plan:
    #: (source, document) in delivery order.
    deliveries: list[tuple[str, dict]] = field(default_factory=list)
    expected: dict[str, tuple[str, str]] = field(default_factory=dict)
    events: int = 0
    duplicates: int = 0
    reordered: int = 0
    bookings: int = 0
    #: bookings (chains of one customer's bookings) per source
    by_source: Counter = field(default_factory=Counter)
    #: Calendly reschedules, each delivered as its two events
    calendly_reschedules: int = 0
    #: where each round of deliveries starts (``make_plan``)
    round_starts: list[int] = field(default_factory=list)
    #: envelope ids of the poison bookings' events: each must end quarantined.
    poison_events: set[str] = field(default_factory=set)
    poison_bookings: int = 0


def is_poison(index: int, share: float) -> bool:
    """Spread the poison bookings evenly (every 1/share-th booking), so a short run has some."""
    return int((index + 1) * share) > int(index * share)


def oncehub_chain(index: int, rng: random.Random, run_id: str, plan: Plan, poison: bool) -> list[dict]:
    from apps.demo.samples import BookingStory
    from apps.intake.lifecycle import derive_action
    from chaos.poison.apps import POISON_PREFIX

    story = BookingStory(email=f"chaos-{run_id}-{index}@example.test", name=f"Chaos {index}")
    if poison:
        story.booking_id = f"{POISON_PREFIX}{index:07d}"
    events = [story.scheduled()]
    for _ in range(rng.choice([0, 1, 1, 2])):
        events.append(rng.choice([story.rescheduled, story.rescheduled, story.reassigned])())
    final = rng.choice([None, story.canceled, story.completed, story.no_show])
    if final is not None:
        events.append(final())
    last = events[-1]
    if poison:  # expected nowhere in a CRM: quarantined instead
        plan.poison_events.update(event["id"] for event in events)
        plan.poison_bookings += 1
    else:
        plan.expected[story.booking_id] = (story.email, str(derive_action(last["type"], last["data"])))
    return events


def calendly_chain(index: int, rng: random.Random, run_id: str, plan: Plan) -> list[dict]:
    """An invitee, rescheduled 0-2 times (each a new invitee of the same chain; the old one's
    cancel half is folded and not synced, ../shared/reference/calendly-webhooks.md §6), then
    maybe canceled or marked a no-show. The CRM holds one record per chain, under its first
    booking, with the chain's latest action (as for OnceHub's reschedules)."""
    from apps.demo.source_samples import CalendlyStory
    from apps.intake.lifecycle import LifecycleAction as Action

    story = CalendlyStory(email=f"chaos-{run_id}-{index}@example.test", name=f"Chaos {index}")
    hops, action, first = [[story.created()]], Action.SCHEDULED, story.invitee_uuid
    for _ in range(rng.choice([0, 1, 1, 2])):
        hops.append(list(story.rescheduled()))
        action = Action.RESCHEDULED_BY_CUSTOMER
        plan.calendly_reschedules += 1
    final = rng.choice([None, "canceled", "host", "no_show"])
    if final == "no_show":
        hops[-1].append(story.marked_no_show())
        action = Action.NO_SHOW
    elif final is not None:
        hops[-1].append(story.canceled(by="host" if final == "host" else "invitee"))
        action = Action.CANCELED_BY_OWNER if final == "host" else Action.CANCELED_BY_CUSTOMER
    plan.expected[first] = (story.email, str(action))
    return hops


def calcom_chain(index: int, rng: random.Random, run_id: str, plan: Plan) -> list[dict]:
    """A booking, rescheduled 0-2 times (each a new booking naming the old one: one chain, one
    CRM record under its first booking), then maybe cancelled, ended or marked a no-show."""
    from apps.demo.source_samples import CalcomStory
    from apps.intake.lifecycle import LifecycleAction as Action

    story = CalcomStory(email=f"chaos-{run_id}-{index}@example.test", name=f"Chaos {index}")
    hops, action, first = [[story.created()]], Action.SCHEDULED, story.uid
    for _ in range(rng.choice([0, 1, 1, 2])):
        hops.append([story.rescheduled()])
        action = Action.RESCHEDULED_BY_CUSTOMER
    final = rng.choice([None, "cancelled", "ended", "no_show"])
    if final is not None:
        # After a reschedule, a round of its own: Cal.com's later events of a rebooking do not
        # name the booking it replaced (calcom-webhooks.md §5), so one delivered before the
        # BOOKING_RESCHEDULED that does cannot be known as part of the chain.
        if len(hops) > 1:
            hops.append([])
        hops[-1].append({"cancelled": story.cancelled, "ended": story.meeting_ended,
                       "no_show": story.no_show}[final]())
        action = {"cancelled": Action.CANCELED_BY_CUSTOMER, "ended": Action.COMPLETED,
                  "no_show": Action.NO_SHOW}[final]
    plan.expected[first] = (story.email, str(action))
    return hops


def make_plan(n_events: int, rng: random.Random, run_id: str, poison_share: float = 0.0) -> Plan:
    """Lifecycle sequences over many bookings of the three sources, interleaved, with
    duplicates and reorders. The poison bookings are OnceHub's (the planted bug knows its ids).

    A reschedule that makes a new booking (Calendly's, Cal.com's) is delivered in a later round
    than the booking it replaces, as a person reschedules after booking: each round is mixed,
    duplicated and reordered on its own (``mix``), and the harness lets a round's events settle
    before the next round starts."""
    plan = Plan()
    chains: list[list[list[tuple[str, dict]]]] = []  # per booking chain, its rounds' events
    while plan.events < n_events:
        index = len(chains)
        poison = is_poison(index, poison_share)
        source = "oncehub" if poison else SOURCES[index % len(SOURCES)]
        if source == "oncehub":
            hops = [oncehub_chain(index, rng, run_id, plan, poison)]
        elif source == "calendly":
            hops = calendly_chain(index, rng, run_id, plan)
        else:
            hops = calcom_chain(index, rng, run_id, plan)
        plan.by_source[source] += 1
        chains.append([[(source, document) for document in hop] for hop in hops])
        plan.events += sum(len(hop) for hop in hops)
    plan.bookings = len(chains)
    for round_number in range(max(len(chain) for chain in chains)):
        plan.round_starts.append(len(plan.deliveries))
        plan.deliveries += mix([chain[round_number] for chain in chains if len(chain) > round_number],
                               rng, plan)
    return plan


def mix(per_booking: list[list[tuple[str, dict]]], rng: random.Random, plan: Plan) -> list[tuple[str, dict]]:
    """The bookings' sequences interleaved at random, each in its own order; then 5% reordered
    and 10% duplicated."""
    slots = [i for i, events in enumerate(per_booking) for _ in events]
    rng.shuffle(slots)
    cursors = [0] * len(per_booking)
    sequence: list[tuple[int, tuple[str, dict]]] = []
    for booking in slots:
        sequence.append((booking, per_booking[booking][cursors[booking]]))
        cursors[booking] += 1
    # 5% reordered: a later event of a booking is delivered before the one preceding it.
    last_seen: dict[int, int] = {}
    for position, (booking, _) in enumerate(sequence):
        if booking in last_seen and rng.random() < 0.05 * 2:  # ~half the events have a predecessor
            earlier = last_seen[booking]
            sequence[earlier], sequence[position] = sequence[position], sequence[earlier]
            plan.reordered += 1
            last_seen.pop(booking)
            continue
        last_seen[booking] = position
    deliveries = [delivery for _, delivery in sequence]
    # 10% duplicate deliveries, a little later (the source retrying a delivery it thinks failed).
    for delivery in list(deliveries):
        if rng.random() < 0.10:
            deliveries.insert(min(len(deliveries), deliveries.index(delivery) + rng.randint(1, 50)), delivery)
            plan.duplicates += 1
    return deliveries


def signed(source: str, document: dict) -> tuple[bytes, dict]:
    """The body and headers the source would send (signed now: Calendly's carry a timestamp)."""
    from apps.demo.samples import sign
    from apps.demo.source_samples import sign_calcom, sign_calendly

    if source == "calendly":
        return sign_calendly(document, SOURCE_SECRETS["calendly"])
    if source == "calcom":
        return sign_calcom(document, SOURCE_SECRETS["calcom"])
    return sign(document, SECRET)


def deliver(web: str, delivery: tuple[str, dict]) -> int:
    source, document = delivery
    url = f"{web}/webhooks/{source}/chaos/"
    for attempt in range(8):  # every source retries failed deliveries
        body, headers = signed(source, document)
        try:
            status = requests.post(url, data=body, headers=headers, timeout=10).status_code
        except requests.RequestException:
            status = 0
        if status in (200, 202):
            return attempt
        time.sleep(0.2 * (attempt + 1))
    raise RuntimeError(f"a {source} delivery kept failing (last status {status})")


class Beat(threading.Thread):
    """What celery beat does, every 2 s, with the harness's short thresholds."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopped = threading.Event()
        self.rounds = 0

    def run(self) -> None:
        from django.db import close_old_connections

        from apps.intake.services import requeue_stalled
        from apps.sync.dispatch import dispatch_due_jobs

        while not self.stopped.wait(2.0):
            try:
                close_old_connections()
                # Shorter than production's 60 s to converge sooner; duplicates of events still in a
                # backlog are cheap (process_event returns at once for a processed event).
                requeue_stalled(older_than=timedelta(seconds=20))
                dispatch_due_jobs()
                self.rounds += 1
            except Exception as exc:  # noqa: BLE001 - the broker may be down right now
                print(f"  beat: {exc.__class__.__name__}: {str(exc)[:100]}", flush=True)


def compare(kind: str, state: dict, expected: dict[str, tuple[str, str]]) -> dict[str, int]:
    from chaos.kinds import crm_state

    found = crm_state(kind, state)
    lost = sum(1 for booking in expected if not found.get(booking))
    duplicated = sum(len(found[b]) - 1 for b in expected if len(found.get(b, [])) > 1)
    wrong = sum(1 for b, records in found.items() if b in expected and any(r != expected[b] for r in records))
    wrong += sum(1 for b in found if b not in expected)
    return {"records": sum(len(v) for v in found.values()), "lost": lost, "duplicated": duplicated,
            "wrong": wrong}


def mismatch_examples(kind: str, state: dict, expected: dict[str, tuple[str, str]]) -> list[str]:
    """A few bookings whose records differ from what their events imply: where to look."""
    from chaos.kinds import crm_state

    found = crm_state(kind, state)
    return [f"{kind} {booking}: expected {expected.get(booking)}, found {found.get(booking)}"
            for booking in sorted(set(expected) | set(found))
            if found.get(booking) != [expected.get(booking)]][:5]


def _connect_real(stack: Stack, account, faults: dict) -> dict:
    """The real integrations, each on a sandbox of its own (they match contacts by email)."""
    from apps.connectors import registry

    out = {}
    if registry.get("keap") is not None:
        from apps.integrations.keap.demo import connect_demo_keap

        sandbox = stack.sandbox("keap", **faults)
        sandbox.set_faults(error_rate=0, drop_rate=0, timeout_rate=0, quota_rps=None)  # while connecting
        connect_demo_keap(account=account, sandbox_url=sandbox.url)
        sandbox.set_faults(**faults)
        out["keap"] = sandbox
    if registry.get("salesforce") is not None:
        from apps.integrations.salesforce.demo import connect_demo_salesforce

        sandbox = stack.sandbox("salesforce", **faults)
        sandbox.set_faults(error_rate=0, drop_rate=0, timeout_rate=0, quota_rps=None)
        connect_demo_salesforce(account=account, sandbox_url=sandbox.url)
        sandbox.set_faults(**faults)
        out["salesforce"] = sandbox
    if registry.get("hubspot") is not None:
        from apps.integrations.hubspot.demo import connect_demo_hubspot

        sandbox = stack.sandbox("hubspot", **faults)
        sandbox.set_faults(error_rate=0, drop_rate=0, timeout_rate=0, quota_rps=None)
        connect_demo_hubspot(account=account, sandbox_url=sandbox.url)
        sandbox.set_faults(**faults)
        out["hubspot"] = sandbox
    return out


def compare_by_email(kind: str, state: dict, expected: dict[str, tuple[str, str]]) -> dict[str, int]:
    """Real integrations: one person record per booking's email (Keap contact; Salesforce Lead or
    Contact; HubSpot contact). Their other records and fields follow each integration's own mapping."""
    emails: Counter = Counter()
    if kind == "hubspot":
        for contact in state.get("contacts", []):
            if not contact.get("archived"):
                emails[(contact.get("properties") or {}).get("email") or ""] += 1
    elif kind == "keap":
        for contact in state.get("contacts", []):
            for entry in contact.get("email_addresses") or []:
                if entry.get("field") == "EMAIL1":
                    emails[(entry.get("email") or "").lower()] += 1
    else:
        for obj in ("Lead", "Contact"):
            for record in state.get(obj, []):
                emails[(record.get("Email") or "").lower()] += 1
    wanted = {email.lower() for email, _ in expected.values()}
    return {"records": sum(emails[e] for e in wanted), "lost": sum(1 for e in wanted if not emails[e]),
            "duplicated": sum(emails[e] - 1 for e in wanted if emails[e] > 1)}


def settle(deadline: float, *, quiet: bool = False) -> bool:
    """Wait until every event is processed (or quarantined) and every job finished."""
    from apps.intake.models import BookingEvent
    from apps.sync.models import JobStatus, SyncJob

    unfinished = (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.RETRYING)
    started = progress_at = time.monotonic()
    while True:
        open_events = BookingEvent.objects.filter(processed_at__isnull=True,
                                                  quarantined_at__isnull=True).count()
        open_jobs = SyncJob.objects.filter(status__in=unfinished).count()
        if open_events == 0 and open_jobs == 0:
            return True
        if time.monotonic() > deadline:
            print(f"  NOT CONVERGED in time: {open_events} events unprocessed, {open_jobs} jobs unfinished",
                  flush=True)
            return False
        if not quiet and time.monotonic() - progress_at > 10:
            progress_at = time.monotonic()
            print(f"  … {open_events} events unprocessed, {open_jobs} jobs unfinished "
                  f"({elapsed(started):.0f}s)", flush=True)
        time.sleep(0.5)


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    started = time.monotonic()
    extra_env = {**HARNESS_ENV, **(POISON_ENV if args.poison else {})}
    with Stack(name="chaos", extra_env=extra_env, echo=args.verbose) as stack:
        stack.setup_django()
        from apps.accounts.models import Account, WebhookSecret
        from apps.connectors.models import Connector, ConnectorStatus
        from apps.intake.models import BookingEvent, SourceConnection
        from apps.sync.models import CrmCall, JobStatus, SyncJob

        faults = {**(FAULTS if not args.no_faults else {}), "seed": args.seed}
        keap = stack.sandbox("keap", **faults)
        salesforce = stack.sandbox("salesforce", **faults)
        account = Account.objects.create(slug="chaos", name="Chaos")
        WebhookSecret.objects.create(account=account, secret=SECRET)
        for source, secret in SOURCE_SECRETS.items():
            SourceConnection.objects.create(account=account, source=source, signing_secret=secret)
        sandboxes = {"sandbox_keap": keap, "sandbox_salesforce": salesforce}
        for kind, sandbox in sandboxes.items():
            Connector.objects.create(account=account, kind=kind, name=kind, status=ConnectorStatus.CONNECTED,
                                     settings={"base_url": sandbox.url})
        real = {}
        if args.real:
            real = _connect_real(stack, account, faults)
        web = stack.web(workers=2, threads=2)
        for _ in range(args.workers):
            stack.worker(concurrency=args.concurrency)
        plan = make_plan(args.events, rng, run_id=f"{args.seed}", poison_share=args.poison)
        print(f"Bookbridge fault harness — {stack.database}, broker: {stack.broker} "
              f"(stack up in {elapsed(started):.1f}s)", flush=True)
        print(f"  {plan.events} events over {plan.bookings} bookings → {len(plan.deliveries)} deliveries "
              f"({plan.duplicates} duplicates, {plan.reordered} reordered); "
              f"{args.workers} workers × {args.concurrency} threads", flush=True)
        print(f"  sources: OnceHub {plan.by_source['oncehub']}, Calendly {plan.by_source['calendly']}, "
              f"Cal.com {plan.by_source['calcom']} bookings; {plan.calendly_reschedules} Calendly "
              f"reschedules (two events each); {len(plan.round_starts)} rounds", flush=True)
        print(f"  poison: {len(plan.poison_events)} poison events over {plan.poison_bookings} bookings "
              f"({args.poison:.0%} of the bookings; a planted bug fails their processing)", flush=True)
        print(f"  sandbox faults: {FAULTS}", flush=True)

        beat = Beat()
        beat.start()
        total = len(plan.deliveries)
        kill_at = {int(total * (i + 1) / (args.kills + 1)) for i in range(args.kills)}
        expire_at, restart_at = int(total * 0.4), int(total * 0.6)
        actions: list[str] = []
        redeliveries = 0
        starting: list[threading.Thread] = []
        chunk = 25
        delivery_started = time.monotonic()
        bounds = sorted({*range(0, total, chunk), *plan.round_starts, total})
        with ThreadPoolExecutor(max_workers=8) as pool:
            for offset, stop in zip(bounds, bounds[1:], strict=False):
                if offset in plan.round_starts[1:]:  # the earlier rounds settle first
                    settle(time.monotonic() + args.timeout, quiet=True)
                batch = plan.deliveries[offset:stop]
                redeliveries += sum(pool.map(lambda d: deliver(web, d), batch))
                for point in range(offset, offset + len(batch)):
                    if point in kill_at:
                        if not stack.workers:  # all killed, their replacements still starting
                            for thread in starting:
                                thread.join()
                        victim = rng.choice(stack.workers)
                        stack.kill_worker(victim)
                        # A supervisor restarts it; deliveries go on meanwhile.
                        replacement = threading.Thread(target=stack.worker,
                                                       kwargs={"concurrency": args.concurrency})
                        replacement.start()
                        starting.append(replacement)
                        actions.append(f"SIGKILL worker pid {victim.popen.pid} at delivery {point}")
                    if point == expire_at:
                        for sandbox in [keap, salesforce, *real.values()]:
                            sandbox.expire_tokens()
                        actions.append(f"expired every access token at delivery {point}")
                    if point == restart_at and not args.no_broker_restart:
                        if stack.can_restart_broker:
                            stack.restart_broker()
                            actions.append(f"restarted the broker (queued messages lost) at delivery {point}")
                        else:
                            actions.append("broker restart skipped: no private redis-server")
                if args.pace:
                    time.sleep(args.pace)
        delivered_in = elapsed(delivery_started)
        for thread in starting:
            thread.join()
        for action in actions:
            print(f"  fault: {action}", flush=True)
        print(f"  delivered in {delivered_in:.1f}s ({redeliveries} webhook re-deliveries after errors)",
              flush=True)

        last_delivery = time.monotonic()
        settle(last_delivery + args.timeout)
        converged_in = elapsed(last_delivery)
        beat.stopped.set()

        statuses = Counter(SyncJob.objects.values_list("status", flat=True))
        calls = CrmCall.objects.all()
        call_stats = Counter()
        for status_code in calls.values_list("status_code", flat=True):
            key = ("no answer" if status_code is None else "429" if status_code == 429
                   else "5xx" if status_code >= 500 else "401" if status_code == 401 else "ok")
            call_stats[key] += 1
        print()
        healthy = len(plan.expected)  # the poison bookings are expected in the quarantine instead
        print(f"{'CRM':22} {'bookings':>8} {'records':>8} {'lost':>6} {'duplicated':>10} {'wrong':>6}")
        bad = 0
        mismatches: list[str] = []
        for kind, sandbox in sandboxes.items():
            state = sandbox.state()
            result = compare(kind, state, plan.expected)
            bad += result["lost"] + result["duplicated"] + result["wrong"]
            print(f"{kind:22} {healthy:>8} {result['records']:>8} {result['lost']:>6} "
                  f"{result['duplicated']:>10} {result['wrong']:>6}")
            mismatches += mismatch_examples(kind, state, plan.expected)
        for kind, sandbox in real.items():
            result = compare_by_email(kind, sandbox.state(), plan.expected)
            bad += result["lost"] + result["duplicated"]
            print(f"{kind + ' (real)':22} {healthy:>8} {result['records']:>8} {result['lost']:>6} "
                  f"{result['duplicated']:>10} {'n/a':>6}")
        for line in mismatches[:10]:
            print(f"  {line}")
        quarantined = set(BookingEvent.objects.filter(quarantined_at__isnull=False)
                          .values_list("envelope_id", flat=True))
        quarantine_ok = quarantined == plan.poison_events
        print(f"quarantined: {len(quarantined)} events ({len(quarantined & plan.poison_events)} of "
              f"{len(plan.poison_events)} poison events; other events quarantined: "
              f"{len(quarantined - plan.poison_events)})")
        failed = statuses.get(JobStatus.FAILED, 0) + statuses.get(JobStatus.DEAD, 0)
        print()
        print(f"jobs: {dict(statuses)}; CRM calls: {sum(call_stats.values())} {dict(call_stats)}")
        print(f"converged {converged_in:.1f}s after the last delivery; whole run {elapsed(started):.1f}s")
        for job in SyncJob.objects.filter(status__in=(JobStatus.FAILED, JobStatus.DEAD))[:5]:
            print(f"  {job.status} job {job.pk} ({job.connector.kind}, {job.booking_id}, "
                  f"{job.attempts} attempts): {job.error_code} {job.error[:300]}")
        for event in BookingEvent.objects.filter(quarantined_at__isnull=False).exclude(
                envelope_id__in=plan.poison_events)[:5]:
            print(f"  quarantined, not poison: {event.envelope_id} ({event.booking_id}): "
                  f"{event.processing_error[:300]}")
        ok = bad == 0 and failed == 0 and statuses.get(JobStatus.PENDING, 0) == 0 and quarantine_ok
        print(f"RESULT: {'PASS' if ok else 'FAIL'} — lost/duplicated/wrong all zero: {bad == 0}, "
              f"failed or dead jobs: {failed}, "
              f"poison events all quarantined (and only they): {quarantine_ok}")
        return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=3, help="worker SIGKILLs during the run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="threads per worker")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed to converge")
    parser.add_argument("--pace", type=float, default=0.0, help="pause between delivery batches (s)")
    parser.add_argument("--poison", type=float, default=0.03,
                        help="share of bookings whose events processing cannot handle (0 = none)")
    parser.add_argument("--no-broker-restart", action="store_true")
    parser.add_argument("--no-faults", action="store_true", help="healthy sandboxes (a baseline)")
    parser.add_argument("--real", action="store_true",
                        help="also sync through the real Keap, Salesforce and HubSpot integrations "
                             "(own sandboxes)")
    parser.add_argument("--verbose", action="store_true", help="echo every process's output")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
