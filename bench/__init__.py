"""`python -m bench`: throughput, latency, Redis memory and scrape-time benchmark.

Runs against the local stack (`deploy/stack.sh up-infra`) with its own topic
prefix, consumer group and Redis key prefix, and removes what it created.
"""
