//! The committed C header must be exactly what cbindgen generates from the code, so
//! C users never compile against a stale declaration. To refresh it after changing
//! `src/ffi/`: `CHECKSIG_BLESS=1 cargo test --test header`.

use std::path::Path;

#[test]
fn committed_header_matches_cbindgen() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen runs on the crate")
        .write(&mut generated);
    let header_path = crate_dir.join("include/checksig.h");
    if std::env::var_os("CHECKSIG_BLESS").is_some() {
        std::fs::write(&header_path, &generated).unwrap();
    }
    let committed = std::fs::read(&header_path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/checksig.h differs from what cbindgen generates; \
         run `CHECKSIG_BLESS=1 cargo test --test header` and commit the result"
    );
}
