//! Integration tests: one binary, laid out by feature. Every test gets a fresh database: a
//! SQLite file in a temporary directory, or, when `YUNYI_TEST_DATABASE_URL` is set, a fresh
//! database on that PostgreSQL server — a copy of a template built once per run (see
//! `helpers::TestDb`). `scripts/test` runs the suite both ways.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in the test harness a panic is a failed test, which is what it should be"
)]

mod helpers;

mod access;
mod audit;
mod billing;
mod blob;
mod booking;
mod browser;
mod care;
mod care_plan;
mod care_record;
mod care_report;
mod channels;
mod cli;
mod consult;
mod demo;
mod denials;
mod directory;
mod dispensing;
mod education;
mod errors;
mod fhir;
mod fhir_pharmacy;
mod fhir_scheduling;
mod formulary;
mod groups;
mod identity;
mod jobs;
mod layering;
mod logs;
mod notifications;
mod openapi;
mod ops;
mod practice;
mod prescriptions;
mod referral;
mod refill;
mod schedule_pages;
mod schedule_plan;
mod schema;
mod security;
mod service_lines;
mod smart;
mod statistics;
mod surveillance;
mod teleconsult;
mod training;
mod triage;
mod waitlist;
mod web;
