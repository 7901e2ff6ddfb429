//! Arbitrary bytes into the msgpack decoder: it must never panic, and whatever it
//! accepts must encode again and decode to the same value.

#![no_main]

mod common;

use cfaccess::tfplugin::codec::msgpack;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((ty, bytes)) = common::split_input(data) else {
        return;
    };
    if let Ok(v) = msgpack::decode(bytes, &ty) {
        common::assert_msgpack_round_trip(&v, &ty);
    }
});
