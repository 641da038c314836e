//! `sqlx::migrate!` embeds the migration folders at compile time; without this, a new migration
//! file alone would not rebuild the binary, and tests would run the old schema.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
