//! Fetching through the real registry clients: success and idempotence, and
//! each failure (client missing, package not found, checksum mismatch) leaving
//! nothing behind in the cache. Uses the tiny `six` wheel from PyPI.

use hone_data::DataError;
use hone_data::assets::{Asset, AssetKind, Cache, Client, FetchOptions, FetchOutcome, fetch};

const SIX: Asset = Asset {
    name: "six-test",
    kind: AssetKind::Resource,
    client: Client::Pip { sdist: false },
    package: "six==1.16.0",
    sha256: "8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254",
    keep: &["six.py"],
    root: "",
    files: &[("six.py", None)],
    description: "test asset",
};

/// Everything in the cache's assets folder (a failed fetch must leave it empty).
fn leftovers(cache: &Cache) -> Vec<String> {
    match std::fs::read_dir(cache.assets_dir()) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn fetch_verifies_unpacks_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::at(dir.path());
    let first = fetch(&SIX, &cache, &FetchOptions::default()).unwrap();
    assert!(matches!(first, FetchOutcome::Fetched(_)), "{first:?}");
    let six_py = first.path().join("six.py");
    assert!(
        std::fs::read_to_string(&six_py)
            .unwrap()
            .contains("Utilities for writing code that runs on Python 2 and 3")
    );
    // Only the kept entries were unpacked.
    assert!(!first.path().join("six-1.16.0.dist-info").exists());
    let second = fetch(&SIX, &cache, &FetchOptions::default()).unwrap();
    assert_eq!(
        second,
        FetchOutcome::AlreadyPresent(first.path().to_path_buf())
    );
    assert_eq!(leftovers(&cache), vec!["six-test".to_string()]);
    // --force fetches again and replaces the folder atomically.
    let forced = fetch(
        &SIX,
        &cache,
        &FetchOptions {
            force: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(matches!(forced, FetchOutcome::Fetched(_)));
    assert_eq!(leftovers(&cache), vec!["six-test".to_string()]);
}

#[test]
fn checksum_mismatch_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::at(dir.path());
    let wrong = Asset {
        sha256: "0000000000000000000000000000000000000000000000000000000000000000",
        ..SIX
    };
    let err = fetch(&wrong, &cache, &FetchOptions::default()).unwrap_err();
    match &err {
        DataError::ChecksumMismatch {
            expected, actual, ..
        } => {
            assert!(expected.starts_with("0000"));
            assert_eq!(actual, SIX.sha256);
        }
        other => panic!("expected a checksum mismatch, got {other}"),
    }
    assert!(err.to_string().contains("nothing was installed"));
    assert!(leftovers(&cache).is_empty(), "{:?}", leftovers(&cache));
}

#[test]
fn missing_client_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = tempfile::tempdir().unwrap();
    let cache = Cache::at(dir.path());
    let opts = FetchOptions {
        search_path: Some(empty_path.path().as_os_str().to_owned()),
        ..Default::default()
    };
    let err = fetch(&SIX, &cache, &opts).unwrap_err();
    assert!(
        matches!(err, DataError::ClientMissing { ref client, .. } if client == "python3"),
        "{err}"
    );
    assert!(
        err.to_string().contains("six-test") && err.to_string().contains("pip"),
        "{err}"
    );
    assert!(leftovers(&cache).is_empty());
}

#[test]
fn unknown_package_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::at(dir.path());
    let missing = Asset {
        package: "hone-no-such-package-7f3a9c==0.0.1",
        ..SIX
    };
    let err = fetch(&missing, &cache, &FetchOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::ClientFailed { .. }), "{err}");
    assert!(
        err.to_string().contains("hone-no-such-package-7f3a9c"),
        "{err}"
    );
    assert!(leftovers(&cache).is_empty());
}

#[test]
fn resolve_model_dir_checks_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::at(dir.path());
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let err = hone_data::assets::resolve_model_dir(
        dir.path().to_str().unwrap(),
        &cache,
        &FetchOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    let err =
        hone_data::assets::resolve_model_dir("no-such-model", &cache, &FetchOptions::default())
            .unwrap_err();
    assert!(err.to_string().contains("minilm-l6"), "{err}");
}
