//! linli-ledger-client
