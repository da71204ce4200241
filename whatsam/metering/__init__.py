"""Usage metering, rate limits and billing (spec §3.5)."""
