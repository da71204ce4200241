"""Builds the metering and billing services over the usage counters and the bound models: the
API's container and the operator CLI (`whatsam usage sync`, `whatsam billing close`) share it."""

from __future__ import annotations

from dataclasses import dataclass

from whatsam.adapters.directory import Directory
from whatsam.adapters.repositories import SessionRepository
from whatsam.config import Settings
from whatsam.metering.billing import BillingService
from whatsam.metering.counters import UsageCounters
from whatsam.metering.monthly_close import MonthlyClose
from whatsam.metering.records import UsageRecords
from whatsam.metering.statements import StatementRepository
from whatsam.metering.usage_reports import UsageReports
from whatsam.metering.usage_sync import UsageSync


@dataclass(frozen=True)
class Billing:
    counters: UsageCounters
    records: UsageRecords
    sync: UsageSync
    usage: UsageReports
    billing: BillingService
    close: MonthlyClose


def build_billing(settings: Settings, counters: UsageCounters, sessions: SessionRepository) -> Billing:
    """Models must be bound (`bind_models`) before any of these touch DynamoDB."""
    records, statements = UsageRecords(), StatementRepository()
    usage = UsageReports(counters, records, sessions)
    billing = BillingService(settings.prices, usage, statements)
    return Billing(counters=counters, records=records,
                   sync=UsageSync(counters, records, grace_seconds=settings.usage_sync_grace_seconds),
                   usage=usage, billing=billing,
                   close=MonthlyClose(Directory(), counters, billing, statements))
