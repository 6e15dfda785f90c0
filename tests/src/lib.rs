//! linli-tests
