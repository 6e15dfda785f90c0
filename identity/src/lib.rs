//! linli-identity
