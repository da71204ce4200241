"""Webhooks (spec §3.4): endpoints with event filters, Standard Webhooks signing, durable
retries through SQS, a per-attempt delivery log with replay, and an SSRF guard that pins the
connection to the address it checked."""
