//! Integration tests: one binary, laid out by feature. Every test gets a fresh database: a
//! SQLite file in a temporary directory, or, when `YUNYI_TEST_DATABASE_URL` is set, a fresh
//! schema in that PostgreSQL database. `scripts/test` runs the suite both ways.

mod helpers;

mod cli;
mod demo;
mod directory;
mod errors;
mod jobs;
mod ops;
mod web;
