//! Path parameters: the quiz question id and kiada's `/question/{id}/answers/{index}`.
//! Any text parses or gives a 4xx error.
#![no_main]
use actix_web::ResponseError;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &str| {
    match quiz::routes::parse_id(raw) {
        Ok(id) => assert_eq!(raw.parse::<u32>().ok(), Some(id)),
        Err(error) => assert!(error.status_code().is_client_error()),
    }
});
