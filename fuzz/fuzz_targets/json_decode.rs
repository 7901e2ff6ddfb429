//! Arbitrary bytes into the JSON decoder: it must never panic, and whatever it accepts
//! must survive a JSON and a msgpack round trip unchanged.

#![no_main]

mod common;

use cfaccess::tfplugin::codec::json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((ty, bytes)) = common::split_input(data) else {
        return;
    };
    if let Ok(v) = json::decode(bytes, &ty) {
        let text = json::encode(&v, &ty).expect("a decoded value encodes as JSON");
        assert_eq!(json::decode(&text, &ty).expect("re-decodes"), v);
        common::assert_msgpack_round_trip(&v, &ty);
    }
});
