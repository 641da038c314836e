//! Surveillance and early warning (issue #9), first part: aberration detection on daily
//! counts with the `aberration` crate, and `yunyi ears` for epidemiologists.

pub mod ears_cli;
