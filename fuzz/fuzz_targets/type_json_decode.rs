//! Arbitrary bytes into the type JSON decoder: it must never panic, and an accepted
//! type must encode and decode to itself.

#![no_main]

use cfaccess::tfplugin::codec::type_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ty) = type_json::decode(data) {
        assert_eq!(
            type_json::decode(&type_json::encode(&ty)).expect("re-decodes"),
            ty
        );
    }
});
