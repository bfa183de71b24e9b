//! Profile files: YAML text to a checked ProfileSet.
#![no_main]

use kubepki_profile::ProfileSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(set) = ProfileSet::from_yaml(text) {
        for name in set.names() {
            let profile = set.get(name).expect("a listed profile exists");
            let _ = profile.key_usage();
            let _ = profile.extended_key_usage();
            let _ = profile.validity(None);
            let _ = profile.fixed_subject();
        }
    }
});
