//! Yunyi (云医): an internet hospital platform.
//!
//! The crate is cut by bounded context (`directory`, later `identity`, `scheduling`, …) plus
//! cross-cutting modules (`db`, `jobs`, `web`, `fhir`, `config`). See ARCHITECTURE.md at the
//! repository root for the map.

pub mod app;
pub mod audit;
pub mod billing;
pub mod blob;
pub mod capability;
pub mod care;
pub mod cli;
pub mod clock;
pub mod config;
pub mod consult;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod directory;
pub mod dispensing;
pub mod education;
pub mod error;
pub mod extract;
pub mod fhir;
pub mod groups;
pub mod hub;
pub mod identity;
pub mod jobs;
pub mod money;
pub mod notification;
pub mod openapi;
pub mod ops;
pub mod paging;
pub mod pharmacy;
pub mod policy;
pub mod referral;
pub mod room;
pub mod scheduling;
pub mod scrub;
pub mod smart;
pub mod socket;
pub mod surveillance;
pub mod teleconsult;
pub mod text;
pub mod time;
pub mod training;
pub mod triage;
pub mod ttl_cache;
pub mod web;

pub use app::{AppState, Application};
pub use config::Config;
pub use error::AppError;
