//! Payment integration tests on real PostgreSQL: the provider flow through its HTTP pages,
//! idempotency, webhooks, refunds and reconciliation — with the provider's own ledger checked
//! against the payments table after every test.

mod flow;
mod idempotency;
mod refunds;
mod support;
mod webhooks;
