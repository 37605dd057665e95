"""Inventory alerts: rules as configuration, a pure evaluator, Redis state and outbox, delivery.

    rules.py        rule models and `load_rules(path | None)` (None: default_rules.yaml)
    views.py        Protocols over the KPI engine's views (what conditions read)
    conditions.py   views → observations, one function per rule kind
    evaluator.py    `evaluate(rules, observations, states, now)` → states + transitions
    pipeline.py     `evaluate_engine(...)`: one pass over the engine, per-location event time
    model.py        AlertState, Transition, Observation, fingerprints
    links.py        runbook and dashboard URLs
    store.py        Redis alert states + per-channel outbox, committed atomically
    dispatcher.py   drains the outbox per channel with retries and back-off
    notifiers/      alertmanager (v2 API + re-send), webhook (HMAC-signed), kafka_topic
    signing.py      HMAC-SHA256 of `timestamp + "." + body`
    receiver.py     reference receiver of the signed webhook
    runtime.py      wiring for the worker (`AlertRuntime`)

See alerts/README.md.
"""
