//! `embed_migrations!` reads `migrations/` at compile time, but Cargo does not know that: without this, a new
//! migration directory is not embedded until something else in the crate changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
