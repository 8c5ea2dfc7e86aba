//! Turning a loaded `prometheus.yml` into what the scrape layer runs.

use std::path::Path;

use promlite_config::{Config, HttpClientConfig, ScrapeConfig, TargetGroup as ConfigGroup};
use promlite_model::Labels;
use promlite_scrape::{HttpSettings, ScrapeSettings, TargetGroup, TlsSettings};

/// A secret given inline or in a file (`*_file`), read now.
fn secret(inline: &str, file: &str) -> Result<String, String> {
    if !file.is_empty() {
        return std::fs::read_to_string(Path::new(file))
            .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
            .map_err(|e| format!("unable to read {file}: {e}"));
    }
    Ok(inline.to_string())
}

fn pem(inline: &str, file: &str) -> Result<Option<Vec<u8>>, String> {
    if !file.is_empty() {
        return std::fs::read(file)
            .map(Some)
            .map_err(|e| format!("unable to read {file}: {e}"));
    }
    Ok((!inline.is_empty()).then(|| inline.as_bytes().to_vec()))
}

/// The HTTP client settings of a job.
pub(crate) fn http_settings(h: &HttpClientConfig) -> Result<HttpSettings, String> {
    let basic_auth = match &h.basic_auth {
        Some(b) => Some((
            secret(&b.username, &b.username_file)?,
            secret(b.password.expose(), &b.password_file)?,
        )),
        None => None,
    };
    let authorization = match &h.authorization {
        Some(a) => {
            let kind = if a.auth_type.is_empty() {
                "Bearer"
            } else {
                a.auth_type.as_str()
            };
            Some((
                kind.to_string(),
                secret(a.credentials.expose(), &a.credentials_file)?,
            ))
        }
        None => None,
    };
    let t = &h.tls_config;
    let cert = pem(&t.cert, &t.cert_file)?;
    let key = pem(t.key.expose(), &t.key_file)?;
    let identity_pem = match (cert, key) {
        (Some(mut c), Some(k)) => {
            c.push(b'\n');
            c.extend_from_slice(&k);
            Some(c)
        }
        _ => None,
    };
    Ok(HttpSettings {
        basic_auth,
        authorization,
        tls: TlsSettings {
            ca_pem: pem(&t.ca, &t.ca_file)?,
            identity_pem,
            insecure_skip_verify: t.insecure_skip_verify,
        },
        follow_redirects: h.follow_redirects,
        proxy_url: (!h.proxy_url.is_empty()).then(|| h.proxy_url.clone()),
    })
}

/// The scrape settings of one job.
pub(crate) fn scrape_settings(sc: &ScrapeConfig) -> Result<ScrapeSettings, String> {
    let job = &sc.job_name;
    let err = |what: &str, e: String| format!("job {job:?}: {what}: {e}");
    let mut s = ScrapeSettings::new(job);
    s.interval = sc.scrape_interval.to_std();
    s.timeout = sc.scrape_timeout.to_std();
    s.metrics_path = sc.metrics_path.clone();
    s.scheme = sc.scheme.clone();
    s.params = sc
        .params
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    s.honor_labels = sc.honor_labels;
    s.honor_timestamps = sc.honor_timestamps;
    s.relabel_configs = promlite_config::to_model_configs(&sc.relabel_configs)
        .map_err(|e| err("relabel_configs", e.to_string()))?;
    s.metric_relabel_configs = promlite_config::to_model_configs(&sc.metric_relabel_configs)
        .map_err(|e| err("metric_relabel_configs", e.to_string()))?;
    s.sample_limit = sc.sample_limit as usize;
    s.label_limits.label_limit = sc.label_limit as usize;
    s.label_limits.label_name_length_limit = sc.label_name_length_limit as usize;
    s.label_limits.label_value_length_limit = sc.label_value_length_limit as usize;
    s.body_size_limit = sc.body_size_limit.0 as usize;
    s.target_limit = sc.target_limit as usize;
    if !sc.scrape_protocols.is_empty() {
        s.scrape_protocols = sc
            .scrape_protocols
            .iter()
            .map(|p| {
                p.parse()
                    .map_err(|e| err("scrape_protocols", format!("{e}")))
            })
            .collect::<Result<_, _>>()?;
    }
    if !sc.fallback_scrape_protocol.is_empty() {
        s.fallback_protocol = Some(
            sc.fallback_scrape_protocol
                .parse()
                .map_err(|e| err("fallback_scrape_protocol", format!("{e}")))?,
        );
    }
    s.enable_compression = sc.enable_compression;
    s.http = http_settings(&sc.http_client_config).map_err(|e| err("http client", e))?;
    Ok(s)
}

/// Every job's scrape settings.
pub(crate) fn all_scrape_settings(cfg: &Config) -> Result<Vec<ScrapeSettings>, String> {
    cfg.scrape_configs.iter().map(scrape_settings).collect()
}

/// A group from the config crate (static or file_sd) as the scrape layer takes it.
pub(crate) fn convert_group(g: &ConfigGroup) -> TargetGroup {
    TargetGroup {
        source: g.source.clone(),
        targets: g
            .targets
            .iter()
            .map(|t| Labels::from_pairs(&[("__address__", t.as_str())]))
            .collect(),
        labels: Labels::from_pairs(&g.labels.iter().collect::<Vec<_>>()),
    }
}

/// The static target groups of a job, sourced `0`, `1`, ... as in Prometheus.
pub(crate) fn static_groups(sc: &ScrapeConfig) -> Vec<TargetGroup> {
    sc.static_configs
        .iter()
        .enumerate()
        .map(|(i, c)| TargetGroup {
            source: i.to_string(),
            targets: c
                .targets
                .iter()
                .map(|t| Labels::from_pairs(&[("__address__", t.as_str())]))
                .collect(),
            labels: Labels::from_pairs(&c.labels.iter().collect::<Vec<_>>()),
        })
        .collect()
}

/// The remote-write sender's settings for every `remote_write` entry.
pub(crate) fn remote_write_settings(
    cfg: &promlite_config::Config,
) -> Result<Vec<promlite_remote::WriteSettings>, String> {
    let external = Labels::from_pairs(&cfg.global.external_labels.iter().collect::<Vec<_>>());
    cfg.remote_write
        .iter()
        .map(|rw| {
            let http = http_settings(&rw.http_client_config)?;
            let q = &rw.queue_config;
            let mut s = promlite_remote::WriteSettings::new(rw.url.clone());
            s.name = rw.name.clone();
            s.protobuf_message = match rw.protobuf_message.as_str() {
                "io.prometheus.write.v2.Request" => promlite_remote::ProtobufMessage::V2,
                _ => promlite_remote::ProtobufMessage::V1,
            };
            s.remote_timeout = rw.remote_timeout.to_std();
            s.headers = rw
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            s.external_labels = external.clone();
            s.write_relabel_configs = promlite_config::to_model_configs(&rw.write_relabel_configs)
                .map_err(|e| format!("remote_write {}: write_relabel_configs: {e}", rw.url))?;
            s.queue.capacity = q.capacity as usize;
            s.queue.max_shards = q.max_shards as usize;
            s.queue.min_shards = q.min_shards as usize;
            s.queue.max_samples_per_send = q.max_samples_per_send as usize;
            s.queue.batch_send_deadline = q.batch_send_deadline.to_std();
            s.queue.min_backoff = q.min_backoff.to_std();
            s.queue.max_backoff = q.max_backoff.to_std();
            s.queue.retry_on_http_429 = q.retry_on_http_429;
            s.queue.sample_age_limit = q.sample_age_limit.to_std();
            s.http = promlite_remote::HttpSettings {
                basic_auth: http.basic_auth,
                authorization: http.authorization,
                tls: promlite_remote::TlsSettings {
                    ca_pem: http.tls.ca_pem,
                    identity_pem: http.tls.identity_pem,
                    insecure_skip_verify: http.tls.insecure_skip_verify,
                },
                follow_redirects: http.follow_redirects,
                proxy_url: http.proxy_url,
            };
            Ok(s)
        })
        .collect()
}

/// Endpoints that get metric metadata (`metadata_config.send`), with their
/// send interval and batch size.
pub(crate) fn metadata_targets(
    cfg: &promlite_config::Config,
    writes: &[promlite_remote::WriteSettings],
) -> Vec<(promlite_remote::WriteSettings, std::time::Duration, usize)> {
    cfg.remote_write
        .iter()
        .zip(writes)
        .filter(|(rw, _)| rw.metadata_config.send)
        .map(|(rw, w)| {
            (
                w.clone(),
                rw.metadata_config.send_interval.to_std(),
                rw.metadata_config.max_samples_per_send as usize,
            )
        })
        .collect()
}

/// The OTLP receiver's settings from the `otlp` section (already
/// validated: an unknown strategy cannot load, so the default is never
/// used in practice).
pub(crate) fn otlp_options(o: &promlite_config::OtlpConfig) -> promlite_api::OtlpOptions {
    promlite_api::OtlpOptions {
        translation_strategy: promlite_api::OtlpTranslationStrategy::from_config(
            &o.translation_strategy,
        )
        .unwrap_or_default(),
        promote_resource_attributes: o.promote_resource_attributes.clone(),
        promote_all_resource_attributes: o.promote_all_resource_attributes,
        ignore_resource_attributes: o.ignore_resource_attributes.clone(),
        keep_identifying_resource_attributes: o.keep_identifying_resource_attributes,
        label_name_underscore_sanitization: o.label_name_underscore_sanitization,
        label_name_preserve_multiple_underscores: o.label_name_preserve_multiple_underscores,
    }
}
