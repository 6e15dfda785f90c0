//! linli-server
