"""Whatsam Gateway core: domain, commands/events, adapters and services shared by the
control plane (`functions/`) and the worker fleet (`worker_fleet/`)."""

__version__ = "0.1.0"
