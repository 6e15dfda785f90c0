//! Fees and payments (DESIGN §8): fee items, bills per unit per period, WeChat Pay v3 orders in partner mode
//! (each property company is a sub-merchant, so the partner paths `/v3/pay/partner/transactions/...` are used
//! rather than the direct-merchant `/v3/pay/transactions/jsapi`), notifications applied exactly once,
//! reconciliation, refunds, ledger entries and e-receipts.

pub mod cli;
pub mod fees;
pub mod ledger;
pub mod receipt;
pub mod reconcile;
pub mod routes;
pub mod statement;
pub mod store;
