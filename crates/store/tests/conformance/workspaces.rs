//! Workspaces and API keys.

use steward_engine::ids::ApiKeyId;
use steward_engine::time::Millis;
use steward_store::StoreError;
use steward_store::rows::{ApiKeyRow, KeyRole};
use steward_store::test_support::{Backend, backends, fresh};

use crate::support::T0;

#[tokio::test]
async fn workspaces_create_find_list_and_refuse_duplicates() {
    for backend in backends() {
        let t = fresh(backend).await;
        let s = &t.store;
        assert!(s.list_workspaces().await.unwrap().is_empty(), "{backend:?}");
        assert!(s.migrations_applied().await.unwrap() >= 1, "{backend:?}");

        let beta = s.create_workspace("beta", T0).await.unwrap();
        let alpha = s.create_workspace("alpha", Millis(T0.0 + 1)).await.unwrap();
        assert_eq!(beta.name, "beta");
        assert_eq!(beta.created_at, T0);
        assert_ne!(alpha.id, beta.id);

        let err = s.create_workspace("beta", T0).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{backend:?}: {err:?}"
        );

        assert_eq!(s.find_workspace("beta").await.unwrap(), Some(beta.clone()));
        assert_eq!(
            s.find_workspace("alpha").await.unwrap(),
            Some(alpha.clone())
        );
        assert_eq!(s.find_workspace("gamma").await.unwrap(), None);
        assert_eq!(
            s.find_workspace("BETA").await.unwrap(),
            None,
            "{backend:?}: names are exact"
        );

        assert_eq!(
            s.list_workspaces().await.unwrap(),
            vec![alpha, beta],
            "{backend:?}: sorted by name"
        );
    }
}

#[tokio::test]
async fn api_keys_create_find_and_refuse_duplicate_hashes() {
    for backend in backends() {
        let t = fresh(backend).await;
        let s = &t.store;
        let ws = s.create_workspace("acme", T0).await.unwrap();
        let key = ApiKeyRow {
            id: ApiKeyId::generate(),
            workspace_id: ws.id,
            key_hash: vec![0, 1, 2, 255, 254, 7],
            prefix: "sk_live_ab".to_owned(),
            label: Some("zapier".to_owned()),
            role: KeyRole::Write,
            created_at: T0,
        };
        s.create_api_key(&key).await.unwrap();
        let unlabeled = ApiKeyRow {
            id: ApiKeyId::generate(),
            key_hash: vec![9; 32],
            label: None,
            role: KeyRole::Read,
            ..key.clone()
        };
        s.create_api_key(&unlabeled).await.unwrap();

        assert_eq!(
            s.find_api_key(&key.key_hash).await.unwrap(),
            Some(key.clone())
        );
        assert_eq!(
            s.find_api_key(&unlabeled.key_hash).await.unwrap(),
            Some(unlabeled.clone())
        );
        assert_eq!(s.find_api_key(&[0, 1, 2]).await.unwrap(), None);

        let dup = ApiKeyRow {
            id: ApiKeyId::generate(),
            role: KeyRole::Admin,
            ..key.clone()
        };
        let err = s.create_api_key(&dup).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict(_)),
            "{backend:?}: {err:?}"
        );
        assert_eq!(
            s.find_api_key(&key.key_hash).await.unwrap(),
            Some(key.clone()),
            "{backend:?}: the refused key left no trace"
        );

        for role in [KeyRole::Read, KeyRole::Write, KeyRole::Admin] {
            let k = ApiKeyRow {
                id: ApiKeyId::generate(),
                key_hash: role.as_str().as_bytes().to_vec(),
                role,
                ..key.clone()
            };
            s.create_api_key(&k).await.unwrap();
            assert_eq!(
                s.find_api_key(&k.key_hash).await.unwrap().unwrap().role,
                role
            );
        }
    }
}

/// Guards against the suite silently running on SQLite only.
#[tokio::test]
async fn every_configured_backend_runs() {
    let configured = std::env::var("STEWARD_TEST_POSTGRES_URL").is_ok_and(|u| !u.is_empty());
    let list = backends();
    assert_eq!(list.contains(&Backend::Postgres), configured);
    for backend in list {
        let t = fresh(backend).await;
        let expected = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        assert_eq!(t.store.backend(), expected);
        assert_eq!(t.backend, backend);
    }
}
