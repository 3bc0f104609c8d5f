//! `config/default.toml` (from which docs/CONFIGURATION.md's table is written) names only
//! settings the code reads: the settings structs take every key in it, none ignored.

use std::collections::HashMap;

#[test]
fn every_key_of_the_default_file_is_a_setting_the_code_reads() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut variables = HashMap::new();
    // Only the development key the test file also uses: default.toml has none.
    variables.insert("ROOKERY_ENV".to_owned(), "test".to_owned());
    let layered = config::Config::builder()
        .add_source(config::File::from(
            std::path::Path::new(root).join("config/default.toml"),
        ))
        .add_source(config::File::from(
            std::path::Path::new(root).join("config/test.toml"),
        ))
        .build()
        .expect("config/default.toml and test.toml parse");
    let mut ignored = Vec::new();
    let settings: Result<rookery::config::Settings, _> =
        serde_ignored::deserialize(layered, |path| ignored.push(path.to_string()));
    assert!(settings.is_ok(), "{:?}", settings.err());
    assert!(
        ignored.is_empty(),
        "keys in config/*.toml that no setting reads: {ignored:?}"
    );
    // And loading it the service's way works.
    rookery::config::Settings::load(&std::path::Path::new(root).join("config"), &variables)
        .expect("the test settings load");
}
