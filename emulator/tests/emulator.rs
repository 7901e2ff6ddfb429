//! HTTP-level tests of the emulator, one binary with a module per area.

mod emulator {
    mod admin;
    mod apps;
    mod attachments;
    mod cli;
    pub mod common;
    mod edge;
    mod faults;
    mod library;
    mod pagination;
    mod persistence;
    mod policies;
    mod rate_limit;
    mod writers;
}
