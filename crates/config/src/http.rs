//! HTTP client settings shared by scrape jobs, Alertmanagers, remote
//! endpoints and http_sd (Prometheus' `common/config.HTTPClientConfig`),
//! and the macro that inlines their YAML fields into a section.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::types::{is_false, Secret};

/// `basic_auth`: a user name and a password or password file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawBasicAuth")]
pub struct BasicAuth {
    /// User name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// File holding the user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username_file: String,
    /// Password, printed as `<secret>`.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub password: Secret,
    /// File holding the password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_file: String,
}

/// `authorization`: an `Authorization: <type> <credentials>` header.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawAuthorization")]
pub struct Authorization {
    /// Scheme, `Bearer` when not given.
    #[serde(rename = "type", default)]
    pub auth_type: String,
    /// Credentials, printed as `<secret>`.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub credentials: Secret,
    /// File holding the credentials.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBasicAuth {
    #[serde(default)]
    username: String,
    #[serde(default)]
    username_file: String,
    #[serde(default)]
    password: Secret,
    #[serde(default)]
    password_file: String,
}

impl TryFrom<RawBasicAuth> for BasicAuth {
    type Error = String;

    fn try_from(r: RawBasicAuth) -> Result<Self, String> {
        if !r.username.is_empty() && !r.username_file.is_empty() {
            return Err(
                "at most one of basic_auth username & username_file must be configured".into(),
            );
        }
        if !r.password.is_empty() && !r.password_file.is_empty() {
            return Err(
                "at most one of basic_auth password & password_file must be configured".into(),
            );
        }
        Ok(BasicAuth {
            username: r.username,
            username_file: r.username_file,
            password: r.password,
            password_file: r.password_file,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthorization {
    #[serde(rename = "type", default)]
    auth_type: String,
    #[serde(default)]
    credentials: Secret,
    #[serde(default)]
    credentials_file: String,
}

impl TryFrom<RawAuthorization> for Authorization {
    type Error = String;

    fn try_from(r: RawAuthorization) -> Result<Self, String> {
        if !r.credentials.is_empty() && !r.credentials_file.is_empty() {
            return Err(
                "at most one of authorization credentials & credentials_file must be configured"
                    .into(),
            );
        }
        let mut auth_type = r.auth_type.trim().to_string();
        if auth_type.is_empty() {
            auth_type = "Bearer".into();
        }
        if auth_type.eq_ignore_ascii_case("basic") {
            return Err(
                "authorization type cannot be set to \"basic\", use \"basic_auth\" instead".into(),
            );
        }
        Ok(Authorization {
            auth_type,
            credentials: r.credentials,
            credentials_file: r.credentials_file,
        })
    }
}

/// `tls_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawTls")]
pub struct TlsConfig {
    /// Inline CA certificate (PEM).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca: String,
    /// Inline client certificate (PEM).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert: String,
    /// Inline client key (PEM), printed as `<secret>`.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub key: Secret,
    /// CA certificate file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    /// Client certificate file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    /// Client key file.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    /// Server name for SNI and verification.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// Skip server certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Minimum TLS version (`TLS10` .. `TLS13`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub min_version: String,
    /// Maximum TLS version (`TLS10` .. `TLS13`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_version: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    #[serde(default)]
    ca: String,
    #[serde(default)]
    cert: String,
    #[serde(default)]
    key: Secret,
    #[serde(default)]
    ca_file: String,
    #[serde(default)]
    cert_file: String,
    #[serde(default)]
    key_file: String,
    #[serde(default)]
    server_name: String,
    #[serde(default)]
    insecure_skip_verify: bool,
    #[serde(default)]
    min_version: String,
    #[serde(default)]
    max_version: String,
}

impl TryFrom<RawTls> for TlsConfig {
    type Error = String;

    fn try_from(r: RawTls) -> Result<Self, String> {
        let c = TlsConfig {
            ca: r.ca,
            cert: r.cert,
            key: r.key,
            ca_file: r.ca_file,
            cert_file: r.cert_file,
            key_file: r.key_file,
            server_name: r.server_name,
            insecure_skip_verify: r.insecure_skip_verify,
            min_version: r.min_version,
            max_version: r.max_version,
        };
        c.validate()?;
        Ok(c)
    }
}

const TLS_VERSIONS: [&str; 4] = ["TLS10", "TLS11", "TLS12", "TLS13"];

impl TlsConfig {
    /// Prometheus' `TLSConfig.Validate` rules.
    pub fn validate(&self) -> Result<(), String> {
        if !self.ca.is_empty() && !self.ca_file.is_empty() {
            return Err("at most one of ca and ca_file must be configured".into());
        }
        if !self.cert.is_empty() && !self.cert_file.is_empty() {
            return Err("at most one of cert and cert_file must be configured".into());
        }
        if !self.key.is_empty() && !self.key_file.is_empty() {
            return Err("at most one of key and key_file must be configured".into());
        }
        let has_cert = !self.cert.is_empty() || !self.cert_file.is_empty();
        let has_key = !self.key.is_empty() || !self.key_file.is_empty();
        if has_cert && !has_key {
            return Err(
                "exactly one of key or key_file must be configured when a client certificate is configured"
                    .into(),
            );
        }
        if has_key && !has_cert {
            return Err(
                "exactly one of cert or cert_file must be configured when a client key is configured"
                    .into(),
            );
        }
        for v in [&self.min_version, &self.max_version] {
            if !v.is_empty() && !TLS_VERSIONS.contains(&v.as_str()) {
                return Err(format!("unknown TLS version: {v}"));
            }
        }
        Ok(())
    }

    fn set_directory(&mut self, dir: &Path) {
        for f in [&mut self.ca_file, &mut self.cert_file, &mut self.key_file] {
            *f = crate::join_dir(dir, f);
        }
    }
}

/// HTTP client settings of a section (`config.HTTPClientConfig`), inlined
/// in the section's YAML.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpClientConfig {
    /// `basic_auth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// `authorization` (also set from the deprecated `bearer_token` and
    /// `bearer_token_file`, as Prometheus does).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// `oauth2`, kept as written: promlite does not implement it yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<serde_json::Value>,
    /// `proxy_url`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub proxy_url: String,
    /// `no_proxy`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub no_proxy: String,
    /// `proxy_from_environment`.
    #[serde(skip_serializing_if = "is_false")]
    pub proxy_from_environment: bool,
    /// `proxy_connect_header`: header name to values, printed as `<secret>`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
    /// `tls_config`.
    pub tls_config: TlsConfig,
    /// `follow_redirects` (default true).
    pub follow_redirects: bool,
    /// `enable_http2` (default true; false for remote_write).
    pub enable_http2: bool,
    /// `http_headers`, kept as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_headers: Option<serde_json::Value>,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        HttpClientConfig {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            proxy_url: String::new(),
            no_proxy: String::new(),
            proxy_from_environment: false,
            proxy_connect_header: BTreeMap::new(),
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
            http_headers: None,
        }
    }
}

/// The inlined HTTP client fields as read from YAML.
#[derive(Debug, Default)]
pub(crate) struct RawHttp {
    pub(crate) basic_auth: Option<BasicAuth>,
    pub(crate) authorization: Option<Authorization>,
    pub(crate) oauth2: Option<serde_json::Value>,
    pub(crate) bearer_token: Option<Secret>,
    pub(crate) bearer_token_file: Option<String>,
    pub(crate) tls_config: Option<TlsConfig>,
    pub(crate) proxy_url: Option<String>,
    pub(crate) no_proxy: Option<String>,
    pub(crate) proxy_from_environment: Option<bool>,
    pub(crate) proxy_connect_header: Option<BTreeMap<String, Vec<Secret>>>,
    pub(crate) follow_redirects: Option<bool>,
    pub(crate) enable_http2: Option<bool>,
    pub(crate) http_headers: Option<serde_json::Value>,
}

impl RawHttp {
    /// Applies defaults and Prometheus' `HTTPClientConfig.Validate`.
    /// `enable_http2_default` differs for remote_write. Warnings about
    /// deprecated or unimplemented settings are pushed to `warnings`.
    pub(crate) fn build(
        self,
        enable_http2_default: bool,
        warnings: &mut Vec<String>,
    ) -> Result<HttpClientConfig, String> {
        let bearer_token = self.bearer_token.unwrap_or_default();
        let bearer_token_file = self.bearer_token_file.unwrap_or_default();
        let has_bearer = !bearer_token.is_empty() || !bearer_token_file.is_empty();
        if !bearer_token.is_empty() && !bearer_token_file.is_empty() {
            return Err(
                "at most one of bearer_token & bearer_token_file must be configured".into(),
            );
        }
        if (self.basic_auth.is_some() || self.oauth2.is_some()) && has_bearer {
            return Err(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"
                    .into(),
            );
        }
        let mut authorization = self.authorization;
        if authorization.is_some() && has_bearer {
            return Err(
                "authorization is not compatible with bearer_token & bearer_token_file".into(),
            );
        }
        let auth_count = usize::from(self.basic_auth.is_some())
            + usize::from(self.oauth2.is_some())
            + usize::from(authorization.is_some());
        if auth_count > 1 {
            return Err(
                "at most one of basic_auth, oauth2 & authorization must be configured".into(),
            );
        }
        if let Some(o) = &self.oauth2 {
            let get = |k: &str| o.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            if get("client_id").is_empty() {
                return Err("oauth2 client_id must be configured".into());
            }
            if get("token_url").is_empty() {
                return Err("oauth2 token_url must be configured".into());
            }
            warnings
                .push("oauth2 is not supported by promlite; requests are sent without it".into());
        }
        if has_bearer {
            warnings.push(
                "bearer_token and bearer_token_file are deprecated; use authorization instead"
                    .into(),
            );
            authorization = Some(Authorization {
                auth_type: "Bearer".into(),
                credentials: bearer_token,
                credentials_file: bearer_token_file,
            });
        }
        let tls_config = self.tls_config.unwrap_or_default();
        tls_config.validate()?;
        let proxy_url = self.proxy_url.unwrap_or_default();
        let no_proxy = self.no_proxy.unwrap_or_default();
        let proxy_from_environment = self.proxy_from_environment.unwrap_or(false);
        if proxy_from_environment && !proxy_url.is_empty() {
            return Err(
                "if proxy_from_environment is configured, proxy_url must not be configured".into(),
            );
        }
        if proxy_from_environment && !no_proxy.is_empty() {
            return Err(
                "if proxy_from_environment is configured, no_proxy must not be configured".into(),
            );
        }
        if proxy_url.is_empty() && !no_proxy.is_empty() {
            return Err("if no_proxy is configured, proxy_url must also be configured".into());
        }
        let proxy_connect_header = self.proxy_connect_header.unwrap_or_default();
        if proxy_url.is_empty() && !proxy_from_environment && !proxy_connect_header.is_empty() {
            return Err("if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured".into());
        }
        Ok(HttpClientConfig {
            basic_auth: self.basic_auth,
            authorization,
            oauth2: self.oauth2,
            proxy_url,
            no_proxy,
            proxy_from_environment,
            proxy_connect_header,
            tls_config,
            follow_redirects: self.follow_redirects.unwrap_or(true),
            enable_http2: self.enable_http2.unwrap_or(enable_http2_default),
            http_headers: self.http_headers,
        })
    }
}

impl HttpClientConfig {
    /// Joins relative secret and TLS file paths with `dir`.
    pub(crate) fn set_directory(&mut self, dir: &Path) {
        if let Some(b) = &mut self.basic_auth {
            b.password_file = crate::join_dir(dir, &b.password_file);
            b.username_file = crate::join_dir(dir, &b.username_file);
        }
        if let Some(a) = &mut self.authorization {
            a.credentials_file = crate::join_dir(dir, &a.credentials_file);
        }
        self.tls_config.set_directory(dir);
    }

    /// Files promtool requires to exist: authorization credentials and the
    /// TLS client certificate and key.
    pub fn referenced_files(&self) -> Vec<(&'static str, &str)> {
        let mut v = Vec::new();
        if let Some(a) = &self.authorization {
            v.push((
                "authorization credentials or bearer token file",
                a.credentials_file.as_str(),
            ));
        }
        v.push(("client cert file", self.tls_config.cert_file.as_str()));
        v.push(("client key file", self.tls_config.key_file.as_str()));
        v.retain(|(_, f)| !f.is_empty());
        v
    }
}

/// Declares a raw YAML struct with the given fields plus the inlined HTTP
/// client fields (and, with `sd`, every service discovery key).
macro_rules! raw_section {
    (@http $(#[$m:meta])* struct $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($(#[$fm])* $f: $t,)*
            #[serde(default)] basic_auth: Option<$crate::http::BasicAuth>,
            #[serde(default)] authorization: Option<$crate::http::Authorization>,
            #[serde(default)] oauth2: Option<serde_json::Value>,
            #[serde(default)] bearer_token: Option<$crate::types::Secret>,
            #[serde(default)] bearer_token_file: Option<String>,
            #[serde(default)] tls_config: Option<$crate::http::TlsConfig>,
            #[serde(default)] proxy_url: Option<String>,
            #[serde(default)] no_proxy: Option<String>,
            #[serde(default)] proxy_from_environment: Option<bool>,
            #[serde(default)] proxy_connect_header: Option<std::collections::BTreeMap<String, Vec<$crate::types::Secret>>>,
            #[serde(default)] follow_redirects: Option<bool>,
            #[serde(default)] enable_http2: Option<bool>,
            #[serde(default)] http_headers: Option<serde_json::Value>,
        }
        impl $name {
            #[allow(dead_code)]
            fn take_http(&mut self) -> $crate::http::RawHttp {
                $crate::http::RawHttp {
                    basic_auth: self.basic_auth.take(),
                    authorization: self.authorization.take(),
                    oauth2: self.oauth2.take(),
                    bearer_token: self.bearer_token.take(),
                    bearer_token_file: self.bearer_token_file.take(),
                    tls_config: self.tls_config.take(),
                    proxy_url: self.proxy_url.take(),
                    no_proxy: self.no_proxy.take(),
                    proxy_from_environment: self.proxy_from_environment.take(),
                    proxy_connect_header: self.proxy_connect_header.take(),
                    follow_redirects: self.follow_redirects.take(),
                    enable_http2: self.enable_http2.take(),
                    http_headers: self.http_headers.take(),
                }
            }
        }
    };
    (@http_sd $(#[$m:meta])* struct $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty,)* }) => {
        raw_section!(@http $(#[$m])* struct $name {
            $($(#[$fm])* $f: $t,)*
            #[serde(default)] static_configs: Vec<$crate::scrape::StaticConfig>,
            #[serde(default)] file_sd_configs: Vec<$crate::scrape::FileSdConfig>,
            #[serde(default)] http_sd_configs: Vec<$crate::scrape::HttpSdConfig>,
            #[serde(default)] azure_sd_configs: Option<serde_json::Value>,
            #[serde(default)] consul_sd_configs: Option<serde_json::Value>,
            #[serde(default)] digitalocean_sd_configs: Option<serde_json::Value>,
            #[serde(default)] docker_sd_configs: Option<serde_json::Value>,
            #[serde(default)] dockerswarm_sd_configs: Option<serde_json::Value>,
            #[serde(default)] dns_sd_configs: Option<serde_json::Value>,
            #[serde(default)] ec2_sd_configs: Option<serde_json::Value>,
            #[serde(default)] ecs_sd_configs: Option<serde_json::Value>,
            #[serde(default)] eureka_sd_configs: Option<serde_json::Value>,
            #[serde(default)] gce_sd_configs: Option<serde_json::Value>,
            #[serde(default)] hetzner_sd_configs: Option<serde_json::Value>,
            #[serde(default)] ionos_sd_configs: Option<serde_json::Value>,
            #[serde(default)] kubernetes_sd_configs: Option<serde_json::Value>,
            #[serde(default)] kuma_sd_configs: Option<serde_json::Value>,
            #[serde(default)] lightsail_sd_configs: Option<serde_json::Value>,
            #[serde(default)] linode_sd_configs: Option<serde_json::Value>,
            #[serde(default)] marathon_sd_configs: Option<serde_json::Value>,
            #[serde(default)] nerve_sd_configs: Option<serde_json::Value>,
            #[serde(default)] nomad_sd_configs: Option<serde_json::Value>,
            #[serde(default)] openstack_sd_configs: Option<serde_json::Value>,
            #[serde(default)] ovhcloud_sd_configs: Option<serde_json::Value>,
            #[serde(default)] puppetdb_sd_configs: Option<serde_json::Value>,
            #[serde(default)] scaleway_sd_configs: Option<serde_json::Value>,
            #[serde(default)] serverset_sd_configs: Option<serde_json::Value>,
            #[serde(default)] stackit_sd_configs: Option<serde_json::Value>,
            #[serde(default)] triton_sd_configs: Option<serde_json::Value>,
            #[serde(default)] uyuni_sd_configs: Option<serde_json::Value>,
            #[serde(default)] vultr_sd_configs: Option<serde_json::Value>,
        });
        impl $name {
            fn take_unsupported_sd(&mut self) -> Vec<$crate::scrape::UnsupportedSd> {
                let mut v = Vec::new();
                let mut push = |kind: &'static str, c: Option<serde_json::Value>| {
                    if let Some(config) = c {
                        v.push($crate::scrape::UnsupportedSd { kind, config });
                    }
                };
                push("azure_sd_configs", self.azure_sd_configs.take());
                push("consul_sd_configs", self.consul_sd_configs.take());
                push("digitalocean_sd_configs", self.digitalocean_sd_configs.take());
                push("docker_sd_configs", self.docker_sd_configs.take());
                push("dockerswarm_sd_configs", self.dockerswarm_sd_configs.take());
                push("dns_sd_configs", self.dns_sd_configs.take());
                push("ec2_sd_configs", self.ec2_sd_configs.take());
                push("ecs_sd_configs", self.ecs_sd_configs.take());
                push("eureka_sd_configs", self.eureka_sd_configs.take());
                push("gce_sd_configs", self.gce_sd_configs.take());
                push("hetzner_sd_configs", self.hetzner_sd_configs.take());
                push("ionos_sd_configs", self.ionos_sd_configs.take());
                push("kubernetes_sd_configs", self.kubernetes_sd_configs.take());
                push("kuma_sd_configs", self.kuma_sd_configs.take());
                push("lightsail_sd_configs", self.lightsail_sd_configs.take());
                push("linode_sd_configs", self.linode_sd_configs.take());
                push("marathon_sd_configs", self.marathon_sd_configs.take());
                push("nerve_sd_configs", self.nerve_sd_configs.take());
                push("nomad_sd_configs", self.nomad_sd_configs.take());
                push("openstack_sd_configs", self.openstack_sd_configs.take());
                push("ovhcloud_sd_configs", self.ovhcloud_sd_configs.take());
                push("puppetdb_sd_configs", self.puppetdb_sd_configs.take());
                push("scaleway_sd_configs", self.scaleway_sd_configs.take());
                push("serverset_sd_configs", self.serverset_sd_configs.take());
                push("stackit_sd_configs", self.stackit_sd_configs.take());
                push("triton_sd_configs", self.triton_sd_configs.take());
                push("uyuni_sd_configs", self.uyuni_sd_configs.take());
                push("vultr_sd_configs", self.vultr_sd_configs.take());
                v
            }
        }
    };
}
pub(crate) use raw_section;

#[cfg(test)]
mod tests {
    use super::*;

    fn build(raw: RawHttp) -> Result<HttpClientConfig, String> {
        raw.build(true, &mut Vec::new())
    }

    #[test]
    fn defaults_follow_redirects_and_http2() {
        let c = build(RawHttp::default()).unwrap();
        assert!(c.follow_redirects && c.enable_http2);
        let c = RawHttp::default().build(false, &mut Vec::new()).unwrap();
        assert!(!c.enable_http2);
    }

    #[test]
    fn auth_methods_are_exclusive() {
        let e = build(RawHttp {
            basic_auth: Some(BasicAuth::default()),
            bearer_token: Some(Secret::new("t")),
            ..RawHttp::default()
        })
        .unwrap_err();
        assert!(
            e.contains("at most one of basic_auth, oauth2, bearer_token"),
            "{e}"
        );
        let e = build(RawHttp {
            authorization: Some(Authorization::default()),
            bearer_token_file: Some("f".into()),
            ..RawHttp::default()
        })
        .unwrap_err();
        assert!(e.contains("authorization is not compatible"), "{e}");
    }

    #[test]
    fn oauth2_needs_client_id_and_token_url_and_warns() {
        let mut w = Vec::new();
        let o = serde_json::json!({"client_id": "a"});
        let e = RawHttp {
            oauth2: Some(o),
            ..RawHttp::default()
        }
        .build(true, &mut w)
        .unwrap_err();
        assert_eq!(e, "oauth2 token_url must be configured");
        let o = serde_json::json!({"client_id": "a", "token_url": "http://t"});
        RawHttp {
            oauth2: Some(o),
            ..RawHttp::default()
        }
        .build(true, &mut w)
        .unwrap();
        assert!(w[0].contains("oauth2 is not supported"), "{w:?}");
    }

    #[test]
    fn proxy_rules() {
        let e = build(RawHttp {
            no_proxy: Some("x".into()),
            ..RawHttp::default()
        })
        .unwrap_err();
        assert!(e.contains("proxy_url must also be configured"), "{e}");
        let e = build(RawHttp {
            proxy_url: Some("http://p".into()),
            proxy_from_environment: Some(true),
            ..RawHttp::default()
        })
        .unwrap_err();
        assert!(e.contains("proxy_url must not be configured"), "{e}");
    }

    #[test]
    fn tls_rules() {
        let t = TlsConfig {
            key_file: "k".into(),
            ..TlsConfig::default()
        };
        assert!(t
            .validate()
            .unwrap_err()
            .contains("exactly one of cert or cert_file"));
        let t = TlsConfig {
            ca: "pem".into(),
            ca_file: "f".into(),
            ..TlsConfig::default()
        };
        assert!(t
            .validate()
            .unwrap_err()
            .contains("at most one of ca and ca_file"));
    }

    #[test]
    fn relative_secret_files_join_the_config_dir() {
        let mut c = build(RawHttp {
            authorization: Some(Authorization {
                auth_type: "Bearer".into(),
                credentials: Secret::default(),
                credentials_file: "tok".into(),
            }),
            ..RawHttp::default()
        })
        .unwrap();
        c.tls_config.cert_file = "/abs/cert".into();
        c.set_directory(Path::new("/etc/prom"));
        assert_eq!(c.authorization.unwrap().credentials_file, "/etc/prom/tok");
        assert_eq!(c.tls_config.cert_file, "/abs/cert");
    }
}
