//! `/api/v1/admin/tsdb/*`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::http::Method;
use promlite_api::{router, ApiOptions, ProviderError, TsdbAdmin};
use promlite_model::Matcher;
use promlite_tsdb::Db;

use super::support::*;

struct Admin {
    db: Arc<Db>,
    dir: PathBuf,
    deleted: Mutex<Vec<(i64, i64, Vec<String>)>>,
}

impl TsdbAdmin for Admin {
    fn snapshot(&self, dir: &Path, with_head: bool) -> Result<(), ProviderError> {
        Ok(self.db.snapshot(dir, with_head)?)
    }
    fn data_dir(&self) -> Option<&Path> {
        Some(&self.dir)
    }
    fn delete_series(&self, mint: i64, maxt: i64, ms: &[Matcher]) -> Result<(), ProviderError> {
        self.deleted
            .lock()
            .unwrap()
            .push((mint, maxt, ms.iter().map(|m| m.to_string()).collect()));
        Ok(())
    }
    fn clean_tombstones(&self) -> Result<(), ProviderError> {
        Ok(())
    }
}

#[tokio::test]
async fn admin_apis_are_disabled_by_default() {
    let app = app();
    for path in ["snapshot", "delete_series", "clean_tombstones"] {
        let r = post_form(&app, &format!("/api/v1/admin/tsdb/{path}"), "match[]=up").await;
        assert_eq!(
            r.body,
            r#"{"status":"error","errorType":"unavailable","error":"admin APIs disabled"}"#
        );
        assert_eq!(r.status, 500);
    }
    let r = get(&app, "/api/v1/admin/tsdb/snapshot").await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn admin_without_tsdb_is_unavailable() {
    let app = router(state_with(ApiOptions {
        enable_admin: true,
        ..ApiOptions::default()
    }));
    let r = request(&app, Method::PUT, "/api/v1/admin/tsdb/clean_tombstones").await;
    assert_error(&r, 500, "unavailable", "TSDB not ready");
}

#[tokio::test]
async fn snapshot_delete_and_clean_tombstones() {
    let tmp = tempfile::tempdir().unwrap();
    let db = fixture_db();
    let admin = Arc::new(Admin {
        db: db.clone(),
        dir: tmp.path().to_path_buf(),
        deleted: Mutex::new(Vec::new()),
    });
    let state = builder_for(db)
        .options(ApiOptions {
            enable_admin: true,
            ..ApiOptions::default()
        })
        .with_admin(admin.clone())
        .build();
    state.set_ready(true);
    let app = router(state);

    let r = post_form(&app, "/api/v1/admin/tsdb/snapshot", "skip_head=false").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let name = r.json()["data"]["name"].as_str().unwrap().to_string();
    let dir = tmp.path().join("snapshots").join(&name);
    assert!(dir.is_dir());
    assert!(
        std::fs::read_dir(&dir).unwrap().count() > 0,
        "snapshot holds the head block"
    );
    let r = post_form(&app, "/api/v1/admin/tsdb/snapshot", "skip_head=maybe").await;
    assert_error(
        &r,
        400,
        "bad_data",
        r#"invalid parameter "skip_head": unable to parse boolean: strconv.ParseBool: parsing "maybe": invalid syntax"#,
    );

    let r = post_form(&app, "/api/v1/admin/tsdb/delete_series", "").await;
    assert_error(&r, 400, "bad_data", "no match[] parameter provided");
    let r = post_form(
        &app,
        "/api/v1/admin/tsdb/delete_series",
        "match[]=up&start=1&end=2",
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        admin.deleted.lock().unwrap().clone(),
        vec![(1000, 2000, vec!["__name__=\"up\"".to_string()])]
    );
    let r = request(&app, Method::POST, "/api/v1/admin/tsdb/clean_tombstones").await;
    assert_eq!(r.status, 204);
}
