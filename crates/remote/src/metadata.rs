//! Sending metric metadata (`metadata_config`), as Prometheus' queue
//! manager does every `send_interval`: the HELP, TYPE and UNIT of the
//! metric families the scrape targets expose, in Remote-Write 1.0 requests.

use promlite_prompb::write::{MetricMetadata, WriteRequest};
use prost::Message;

use crate::client::Client;
use crate::error::Result;
use crate::settings::WriteSettings;

/// One metric family's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyMetadata {
    /// The family name.
    pub name: String,
    /// `counter`, `gauge`, `histogram`, `gaugehistogram`, `summary`, `info`,
    /// `stateset` or anything else (sent as unknown).
    pub metric_type: String,
    /// HELP.
    pub help: String,
    /// UNIT.
    pub unit: String,
}

fn type_code(t: &str) -> i32 {
    match t {
        "counter" => 1,
        "gauge" => 2,
        "histogram" => 3,
        "gaugehistogram" => 4,
        "summary" => 5,
        "info" => 6,
        "stateset" => 7,
        _ => 0,
    }
}

/// Sends `families` to the endpoint in batches of `max_per_send`. Errors
/// are returned for the caller to log; metadata is resent on the next
/// interval anyway.
pub async fn send_metadata(
    s: &WriteSettings,
    families: &[FamilyMetadata],
    max_per_send: usize,
) -> Result<usize> {
    let client = Client::new(s)?;
    let mut sent = 0;
    for part in families.chunks(max_per_send.max(1)) {
        // A series-less `WriteRequest`, as Prometheus sends metadata.
        let req = WriteRequest {
            timeseries: Vec::new(),
            metadata: part
                .iter()
                .map(|f| MetricMetadata {
                    r#type: type_code(&f.metric_type),
                    metric_family_name: f.name.clone(),
                    help: f.help.clone(),
                    unit: f.unit.clone(),
                })
                .collect(),
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .map_err(|e| crate::error::Error::Metadata(e.to_string()))?;
        client
            .store(body)
            .await
            .map_err(|e| crate::error::Error::Metadata(e.to_string()))?;
        sent += part.len();
    }
    Ok(sent)
}
