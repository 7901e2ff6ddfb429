//! Arbitrary bytes into the msgpack decoder: it must never panic, and whatever it
//! accepts must encode again and decode to the same value.

#![no_main]

mod common;

use cfaccess::tfplugin::codec::msgpack;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let ty = common::pick_type(selector);
    if let Ok(v) = msgpack::decode(bytes, &ty) {
        let again = msgpack::encode(&v, &ty).expect("a decoded value encodes");
        assert_eq!(msgpack::decode(&again, &ty).expect("re-decodes"), v);
    }
});
