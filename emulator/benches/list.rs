// Placeholder so the workspace manifest parses; the emulator helper replaces it.
fn main() {}
