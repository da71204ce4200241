"""Messaging: what a customer may send, how it is recorded, and how its state moves."""
