//! The quote service's tips file: any bytes either give tips or nothing, never a panic,
//! and every tip is a trimmed, non-comment line.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Some(tips) = quote::tips::Tips::parse(text) {
        assert!(!tips.is_empty());
        for tip in tips.as_slice() {
            assert!(!tip.is_empty() && !tip.starts_with('#') && tip.trim() == tip);
        }
    }
});
