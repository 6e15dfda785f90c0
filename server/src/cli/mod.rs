//! Operator subcommands of `linli` that are more than a call into the server.

pub mod import_register;
