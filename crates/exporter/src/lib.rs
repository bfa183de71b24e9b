#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod collect;
mod exporter;
mod exposition;
mod labels;
mod read;
mod sources;
mod watch;

pub use collect::{Collection, SourceError, collect};
pub use exporter::{Exporter, ExporterOptions, Scrape};
pub use labels::CertSeries;
pub use read::Reason;
pub use sources::{SourceKind, Sources};
