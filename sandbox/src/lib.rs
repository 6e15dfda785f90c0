//! linli-sandbox
